"""Subsidy programs, each customer's holding of one, grants, expiry and clawback — all booked.

Money in a holding lapses at `expires_at` (end of the local day for daily and meal allowances,
end of the local month for a month-end program, the program's date for an expiring one; a
rollover program keeps it). Expiry moves what is left back to the funder's account.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.errors import api_error
from backend.models.ledger import Account
from backend.models.payments import Payment, PaymentLine
from backend.models.subsidies import Grant, SubsidyHolding, SubsidyProgram
from backend.services.changes import record_change
from backend.services.ledger import (funding_account_id, get_or_create_account, lock_accounts, subsidy_code,
                                     transfer)
from core.wire import SubsidyProgramData
from core.funding import SubsidyPot


def create_program(session: Session, *, name: str, funder: str, kind: str, merchant_ids: list[int],
                   meal_periods: list[str], per_meal_cap_fen: int | None, per_day_cap_fen: int | None,
                   expiry_policy: str, expires_on: date | None, timezone: str = "Asia/Shanghai") -> SubsidyProgram:
    if expiry_policy == "on_date" and expires_on is None:
        raise api_error(422, "expires_on_required", "按日期失效的补贴须填写失效日期",
                        "A program that expires on a date needs expires_on")
    program = SubsidyProgram(name=name, funder=funder, kind=kind, merchant_ids=sorted(set(merchant_ids)),
                             meal_periods=sorted(set(meal_periods)), per_meal_cap_fen=per_meal_cap_fen,
                             per_day_cap_fen=per_day_cap_fen, expiry_policy=expiry_policy,
                             expires_on=expires_on, timezone=timezone)
    session.add(program)
    session.flush()
    funding_account_id(session, program.id)
    publish_program(session, program)
    return program


def get_program(session: Session, program_id: int) -> SubsidyProgram:
    program = session.get(SubsidyProgram, program_id)
    if program is None:
        raise api_error(404, "not_found", f"补贴项目 {program_id} 不存在", f"Subsidy program {program_id} does not exist")
    return program


def publish_program(session: Session, program: SubsidyProgram) -> None:
    valid_until = lapse_at(program, None) if program.expiry_policy == "on_date" else None
    data = SubsidyProgramData(program_id=program.id, name=program.name, kind=program.kind,
                              merchant_ids=list(program.merchant_ids), meal_periods=list(program.meal_periods),
                              per_meal_cap_fen=program.per_meal_cap_fen, per_day_cap_fen=program.per_day_cap_fen,
                              valid_until=valid_until, status=program.status)
    record_change(session, "subsidy_program", program.id, data.model_dump(mode="json"))


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def lapse_at(program: SubsidyProgram, granted_at: datetime | None) -> datetime | None:
    """When money granted at `granted_at` lapses (None = never)."""
    tz = ZoneInfo(program.timezone)
    candidates: list[datetime] = []
    if program.expires_on is not None:
        candidates.append(_local_midnight(program.expires_on + timedelta(days=1), tz))
    if granted_at is not None:
        local = granted_at.astimezone(tz).date()
        if program.kind in ("daily", "meal"):
            candidates.append(_local_midnight(local + timedelta(days=1), tz))
        elif program.expiry_policy == "month_end":
            first_next = (local.replace(day=1) + timedelta(days=32)).replace(day=1)
            candidates.append(_local_midnight(first_next, tz))
    return min(candidates) if candidates else None


def holding_for(session: Session, customer_id: int, program_id: int) -> SubsidyHolding:
    holding = session.scalar(select(SubsidyHolding).where(SubsidyHolding.customer_id == customer_id,
                                                          SubsidyHolding.program_id == program_id))
    if holding is None:
        account = get_or_create_account(session, subsidy_code(customer_id, program_id), "subsidy",
                                        customer_id=customer_id, program_id=program_id)
        holding = SubsidyHolding(customer_id=customer_id, program_id=program_id, account_id=account.id)
        session.add(holding)
        session.flush()
    return holding


def expire_holding(session: Session, holding: SubsidyHolding, now: datetime) -> int:
    """Book the lapse of what is left in a holding whose time is up. Returns fen expired."""
    if holding.expires_at is None or holding.expires_at > now:
        return 0
    account = lock_accounts(session, [holding.account_id])[holding.account_id]
    left = account.balance_fen
    if left > 0:
        transfer(session, f"expiry:{holding.id}:{holding.expires_at.isoformat()}", "subsidy_expiry",
                 holding.account_id, funding_account_id(session, holding.program_id), left,
                 memo=f"subsidy {holding.program_id} lapsed for customer {holding.customer_id}", now=now)
    holding.expires_at = None
    return left


def grant(session: Session, program: SubsidyProgram, customer_id: int, amount_fen: int, *, ref: str,
          batch_pk: int, line_no: int, now: datetime) -> Grant:
    """Book one grant into the customer's holding (lapsing old money first)."""
    holding = holding_for(session, customer_id, program.id)
    expire_holding(session, holding, now)
    posting = transfer(session, ref, "subsidy_grant", funding_account_id(session, program.id),
                       holding.account_id, amount_fen, memo=f"grant line {line_no}", now=now)
    holding.expires_at = lapse_at(program, now)
    row = Grant(batch_id=batch_pk, program_id=program.id, customer_id=customer_id, line_no=line_no,
                amount_fen=amount_fen, posting_id=posting.id, created_at=now)
    session.add(row)
    session.flush()
    return row


def clawback(session: Session, grant_id: int, amount_fen: int | None, now: datetime) -> int:
    """Take back (part of) a grant, as far as the holding still has it. Returns fen taken back."""
    row = session.get(Grant, grant_id, with_for_update=True)
    if row is None:
        raise api_error(404, "not_found", f"补贴发放记录 {grant_id} 不存在", f"Grant {grant_id} does not exist")
    open_fen = row.amount_fen - row.clawed_back_fen
    wanted = open_fen if amount_fen is None else amount_fen
    if wanted <= 0 or wanted > open_fen:
        raise api_error(422, "bad_clawback_amount", f"可追回金额为 {open_fen} 分", f"At most {open_fen} fen can be clawed back")
    holding = holding_for(session, row.customer_id, row.program_id)
    account = lock_accounts(session, [holding.account_id])[holding.account_id]
    taken = min(wanted, account.balance_fen)
    if taken <= 0:
        raise api_error(409, "nothing_to_claw_back", "该客户的补贴余额已用完，无法追回",
                        "The customer's subsidy balance is spent; nothing can be clawed back")
    transfer(session, f"clawback:{row.id}:{row.clawed_back_fen}", "subsidy_clawback", holding.account_id,
             funding_account_id(session, row.program_id), taken, memo=f"clawback of grant {row.id}", now=now)
    row.clawed_back_fen += taken
    return taken


@dataclass(frozen=True)
class Expired:
    customer_id: int
    program_id: int
    amount_fen: int


def expire_subsidies(session: Session, now: datetime) -> list[Expired]:
    """The expiry job: lapse every holding whose time is up. Idempotent (a second run finds none)."""
    due = session.scalars(select(SubsidyHolding).where(SubsidyHolding.expires_at.is_not(None),
                                                       SubsidyHolding.expires_at <= now)
                          .order_by(SubsidyHolding.account_id)).all()   # the lock order payments use
    done = []
    for holding in due:
        fen = expire_holding(session, holding, now)
        if fen:
            done.append(Expired(holding.customer_id, holding.program_id, fen))
    return done


def expire_and_publish(session: Session, now: datetime) -> list[Expired]:
    """The expiry job as the scheduler, the command and the API run it: lapse what is due, then
    publish each diner's new balance to the terminals. The caller commits."""
    from backend.services.customers import publish_balance

    done = expire_subsidies(session, now)
    for customer_id in sorted({e.customer_id for e in done}):
        publish_balance(session, customer_id, now)
    return done


def _spent_by_program(session: Session, customer_id: int, business_date: str,
                      meal_period: str | None) -> tuple[dict[int, int], dict[int, int]]:
    net = func.sum(PaymentLine.amount_fen - PaymentLine.refunded_fen)
    base = (select(PaymentLine.program_id, net).join(Payment, Payment.id == PaymentLine.payment_id)
            .where(Payment.customer_id == customer_id, Payment.business_date == business_date,
                   Payment.status != "declined", PaymentLine.source == "subsidy")
            .group_by(PaymentLine.program_id))
    today = {pid: int(v) for pid, v in session.execute(base).all()}
    meal = {}
    if meal_period is not None:
        meal = {pid: int(v) for pid, v in session.execute(base.where(Payment.meal_period == meal_period)).all()}
    return today, meal


def pots_for(session: Session, customer_id: int, business_date: str, meal_period: str | None,
             accounts: dict[int, Account]) -> list[SubsidyPot]:
    """The customer's subsidy pots as core.funding sees them (balances from locked accounts)."""
    if not any(a.kind == "subsidy" for a in accounts.values()):
        return []
    rows = session.execute(select(SubsidyHolding, SubsidyProgram)
                           .join(SubsidyProgram, SubsidyProgram.id == SubsidyHolding.program_id)
                           .where(SubsidyHolding.customer_id == customer_id, SubsidyProgram.status == "active")).all()
    if not rows:
        return []
    today, meal = _spent_by_program(session, customer_id, business_date, meal_period)
    pots = []
    for holding, program in rows:
        account = accounts.get(holding.account_id) or session.get(Account, holding.account_id)
        pots.append(SubsidyPot(program_id=program.id, kind=program.kind, balance_fen=account.balance_fen,
                               merchant_ids=frozenset(program.merchant_ids),
                               meal_periods=frozenset(program.meal_periods),
                               per_meal_cap_fen=program.per_meal_cap_fen, per_day_cap_fen=program.per_day_cap_fen,
                               spent_this_meal_fen=meal.get(program.id, 0), spent_today_fen=today.get(program.id, 0),
                               expires_at=holding.expires_at))
    return pots
