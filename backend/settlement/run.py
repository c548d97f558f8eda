"""Close a business day for every merchant at once, in set-based SQL (no Python loop over payments).

For day D and each merchant M whose D has ended (its cut-off, in its time zone, has passed):
  1. a SettlementDay row is made (the day is closed from here on, never rewritten);
  2. one INSERT ... SELECT claims every approved payment with business_date <= D not yet settled,
     every refund made before D's cut-off not yet settled, and every counter renewal (money the
     merchant took at its own counter) with business_date <= D not yet settled, into
     settlement_items (unique per item: nothing is settled twice). Items from an earlier day are
     adjustments naming it;
  3. totals, the funding split and the fees per method are summed per day with GROUP BY; counter
     money is summed apart (counter_fen): it is reported, never in gross or net;
  3b. campaigns: a day's discounts are split by funder (campaign_bank_fen, campaign_merchant_fen:
     sources of gross). The merchant's own campaigns' discounts, less their share given back by
     refunds, are claimed as items of the funding merchant's day (kinds campaign, campback; once
     the payment or refund itself is settled) and set off against its net (campaign_setoff_fen);
  4. each day's net is booked on the ledger: merchant payable -> payout clearing, fees -> fee income,
     the counter money the merchant already holds: merchant payable -> merchant_cash, and the
     set-off: merchant payable -> each of its campaigns' accounts (docs/MARKETING.md "Settlement").
All of it is one transaction: a crash leaves either the whole run or nothing.

Late items are looked for LOOKBACK_DAYS back: offline terminals stop approving once their data is
a day old, so a payment arriving weeks late is not expected; one older is listed in no day (see
docs/SETTLEMENT.md) rather than making every run scan the whole history.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import api_error
from backend.models.merchants import Merchant
from backend.services.counter_renewals import COUNTER, merchant_cash_account_id
from backend.services.ledger import Leg, account_id, book, campaign_account_id, merchant_account_id
from backend.settlement.models import SettlementDay

# Counterpart accounts of settlement. The ledger's kinds are fixed by its check constraint; both
# are accounts at the bank's side like bank_clearing, so they take that kind with their own code.
PAYOUT_CLEARING = "payout_clearing"
FEE_INCOME = "fee_income"
LOOKBACK_DAYS = 31
SETOFF_KINDS = ("campaign", "campback")     # a merchant's own campaigns (see _claim_setoffs)
MAX_LISTED_ADJUSTMENTS = 1000


def day_end(merchant: Merchant, business_date: str) -> datetime:
    """The instant business_date ends for this merchant: the next local day's cut-off."""
    hours, minutes = (int(x) for x in (merchant.business_day_cutoff or "00:00").split(":"))
    following = date.fromisoformat(business_date) + timedelta(days=1)
    return datetime.combine(following, time(hours, minutes), ZoneInfo(merchant.timezone))


def check_date(business_date: str) -> str:
    """The one accepted form, YYYY-MM-DD. Python also reads 20261201 and 2026-W49-2 as dates; a
    day written so was settled, but its payout files were looked up under the raw text (none)."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", business_date):
            raise ValueError
        day = date.fromisoformat(business_date)
        if not 2000 <= day.year <= 2100:
            raise ValueError
        return day.isoformat()
    except ValueError:
        raise api_error(422, "bad_date", f"日期应为 2000–2100 年间的 YYYY-MM-DD：{business_date[:20]}",
                        f"The date must be YYYY-MM-DD between 2000 and 2100: {business_date[:20]}") from None


def _fee_sql(dialect: str) -> str:
    """merchants.fee_fen in SQL: rate rounded half up, clamped to [min, max], never above the amount."""
    least, greatest = ("MIN", "MAX") if dialect == "sqlite" else ("LEAST", "GREATEST")
    return (f"CASE WHEN f.id IS NULL OR f.fee_free THEN 0 ELSE "
            f"{least}({greatest}((p.amount_fen * f.rate_bp + 5000) / 10000, f.min_fen), f.max_fen, p.amount_fen) END")


def _ids(sql: str):  # noqa: ANN202
    return text(sql).bindparams(bindparam("ids", expanding=True))


def _claim_items(session: Session, ids: list[int], business_date: str) -> None:
    """Pick the unsettled items into a temporary table first, then insert them: an INSERT whose
    own SELECT anti-joins the table it writes makes PostgreSQL rescan the growing heap per row."""
    dialect = session.get_bind().dialect.name
    flag = "CASE WHEN {{}}.business_date < sd.business_date THEN {} ELSE {} END".format(
        *(("1", "0") if dialect == "sqlite" else ("TRUE", "FALSE")))
    since = (date.fromisoformat(business_date) - timedelta(days=LOOKBACK_DAYS)).isoformat()
    session.execute(_ids(f"""
        CREATE TEMPORARY TABLE settlement_claim AS
        SELECT sd.id AS settlement_id, 'payment' AS kind, p.id AS ref_id, p.amount_fen AS amount_fen,
               {_fee_sql(dialect)} AS fee_fen, p.business_date AS original_date, {flag.format("p")} AS adjustment
        FROM settlement_days sd
        JOIN payments p ON p.merchant_id = sd.merchant_id AND p.business_date <= sd.business_date
                       AND p.business_date >= :since
        LEFT JOIN merchant_fees f ON f.merchant_id = p.merchant_id AND f.method = p.method
        WHERE sd.id IN :ids AND p.status = 'approved'
          AND NOT EXISTS (SELECT 1 FROM settlement_items s WHERE s.kind = 'payment' AND s.ref_id = p.id)
        UNION ALL
        SELECT sd.id, 'refund', r.id, -r.amount_fen, 0, p.business_date, {flag.format("p")}
        FROM settlement_days sd
        JOIN payments p ON p.merchant_id = sd.merchant_id AND p.business_date >= :since
        JOIN refunds r ON r.payment_id = p.id
        WHERE sd.id IN :ids AND r.status = 'refunded' AND r.created_at < sd.day_end_at
          AND NOT EXISTS (SELECT 1 FROM settlement_items s WHERE s.kind = 'refund' AND s.ref_id = r.id)
        UNION ALL
        SELECT sd.id, 'counter', c.id, c.amount_fen, 0, c.business_date, {flag.format("c")}
        FROM settlement_days sd
        JOIN sites st ON st.merchant_id = sd.merchant_id
        JOIN parking_members pm ON pm.site_id = st.id
        JOIN parking_member_renewals c ON c.member_id = pm.id
        WHERE sd.id IN :ids AND c.paid_via = :counter AND c.posting_id IS NOT NULL
          AND c.business_date <= sd.business_date AND c.business_date >= :since
          AND NOT EXISTS (SELECT 1 FROM settlement_items s WHERE s.kind = 'counter' AND s.ref_id = c.id)"""),
                    {"ids": ids, "since": since, "counter": COUNTER})
    session.execute(text("""
        INSERT INTO settlement_items (settlement_id, kind, ref_id, amount_fen, fee_fen, original_date, adjustment)
        SELECT settlement_id, kind, ref_id, amount_fen, fee_fen, original_date, adjustment FROM settlement_claim"""))
    session.execute(text("DROP TABLE settlement_claim"))
    _claim_setoffs(session, ids, since, flag)


# A settled payment or refund, in a day closed since settlement knew campaigns (migration 0015):
# discounts of days settled before stay paid by the campaign's account, as they were then.
_SETTLED = """EXISTS (SELECT 1 FROM settlement_items s JOIN settlement_days d ON d.id = s.settlement_id
                      WHERE s.kind = '{kind}' AND s.ref_id = {ref} AND d.campaign_setoff_fen IS NOT NULL)"""


def _claim_setoffs(session: Session, ids: list[int], since: str, flag: str) -> None:
    """The funding merchant's own campaigns: each settled discount (negative: the merchant pays it)
    and each settled refund's share given back to the campaign (positive), into the funder's day."""
    session.execute(_ids(f"""
        CREATE TEMPORARY TABLE settlement_claim AS
        SELECT sd.id AS settlement_id, 'campaign' AS kind, cu.id AS ref_id, -cu.discount_fen AS amount_fen,
               0 AS fee_fen, cu.business_date AS original_date, {flag.format("cu")} AS adjustment
        FROM settlement_days sd
        JOIN campaigns c ON c.funder_merchant_id = sd.merchant_id AND c.funder_kind = 'merchant'
        JOIN campaign_uses cu ON cu.campaign_id = c.id AND cu.business_date >= :since
        WHERE sd.id IN :ids AND {_SETTLED.format(kind="payment", ref="cu.payment_id")}
          AND NOT EXISTS (SELECT 1 FROM settlement_items s WHERE s.kind = 'campaign' AND s.ref_id = cu.id)
        UNION ALL
        SELECT sd.id, 'campback', r.id, e.amount_fen, 0, cu.business_date, {flag.format("cu")}
        FROM settlement_days sd
        JOIN campaigns c ON c.funder_merchant_id = sd.merchant_id AND c.funder_kind = 'merchant'
        JOIN campaign_uses cu ON cu.campaign_id = c.id AND cu.business_date >= :since
        JOIN refunds r ON r.payment_id = cu.payment_id AND r.status = 'refunded'
        JOIN ledger_entries e ON e.posting_id = r.posting_id AND e.side = 'C'
        JOIN ledger_accounts a ON a.id = e.account_id AND a.code = 'campaign:' || CAST(c.id AS VARCHAR(20))
        WHERE sd.id IN :ids AND {_SETTLED.format(kind="refund", ref="r.id")}
          AND NOT EXISTS (SELECT 1 FROM settlement_items s WHERE s.kind = 'campback' AND s.ref_id = r.id)"""),
                    {"ids": ids, "since": since})
    session.execute(text("""
        INSERT INTO settlement_items (settlement_id, kind, ref_id, amount_fen, fee_fen, original_date, adjustment)
        SELECT settlement_id, kind, ref_id, amount_fen, fee_fen, original_date, adjustment FROM settlement_claim"""))
    session.execute(text("DROP TABLE settlement_claim"))


def _sum_items(session: Session, days: dict[int, SettlementDay]) -> set[int]:
    """Sum the claimed items into the days; returns the ids of the days with set-off items."""
    ids = {"ids": list(days)}
    with_setoffs: set[int] = set()
    for sid, kind, adjustment, count, amount, fee in session.execute(_ids("""
            SELECT settlement_id, kind, adjustment, COUNT(*), SUM(amount_fen), SUM(fee_fen) FROM settlement_items
            WHERE settlement_id IN :ids GROUP BY settlement_id, kind, adjustment"""), ids):
        day = days[sid]
        if kind == "counter":        # the merchant holds it already: reported, not paid out
            day.counter_fen += int(amount)
            continue
        if kind in SETOFF_KINDS:     # its own campaigns' discounts, net of refunds: off the net
            with_setoffs.add(sid)
            day.campaign_setoff_fen -= int(amount)
            day.net_fen += int(amount)
            continue
        if adjustment:
            day.adjustments_fen += int(amount) - int(fee)
        elif kind == "payment":
            day.payments, day.gross_fen = int(count), int(amount)
        else:
            day.refunds_fen = -int(amount)
        day.fees_fen += int(fee)
        day.net_fen += int(amount) - int(fee)
    for sid, method, fee in session.execute(_ids("""
            SELECT s.settlement_id, p.method, SUM(s.fee_fen) FROM settlement_items s JOIN payments p ON p.id = s.ref_id
            WHERE s.settlement_id IN :ids AND s.kind = 'payment' GROUP BY s.settlement_id, p.method"""), ids):
        days[sid].fees = {**days[sid].fees, method: int(fee)}
    for sid, source, program_id, amount in session.execute(_ids("""
            SELECT s.settlement_id, l.source, l.program_id, SUM(l.amount_fen) FROM settlement_items s
            JOIN payment_lines l ON l.payment_id = s.ref_id
            WHERE s.settlement_id IN :ids AND s.kind = 'payment' AND s.adjustment = :no
            GROUP BY s.settlement_id, l.source, l.program_id"""), {**ids, "no": False}):
        day = days[sid]
        if source == "subsidy":
            day.subsidy = {**day.subsidy, str(program_id): int(amount)}
        elif source == "wallet":
            day.wallet_fen = int(amount)
        elif source == "bank_card":
            day.bank_card_fen = int(amount)
        else:
            day.channel_fen += int(amount)
    for sid, funder_kind, amount in session.execute(_ids("""
            SELECT s.settlement_id, c.funder_kind, SUM(cu.discount_fen) FROM settlement_items s
            JOIN campaign_uses cu ON cu.payment_id = s.ref_id JOIN campaigns c ON c.id = cu.campaign_id
            WHERE s.settlement_id IN :ids AND s.kind = 'payment' AND s.adjustment = :no
            GROUP BY s.settlement_id, c.funder_kind"""), {**ids, "no": False}):
        if funder_kind == "bank":
            days[sid].campaign_bank_fen = int(amount)
        else:
            days[sid].campaign_merchant_fen = int(amount)
    listed: dict[int, list] = {sid: [] for sid in days}
    for sid, kind, ref, original, amount, fee in session.execute(_ids("""
            SELECT settlement_id, kind, ref_id, original_date, amount_fen, fee_fen FROM settlement_items
            WHERE settlement_id IN :ids AND adjustment = :yes AND kind IN ('payment', 'refund')
            ORDER BY settlement_id, kind, ref_id"""),
                                                                 {**ids, "yes": True}):
        if len(listed[sid]) < MAX_LISTED_ADJUSTMENTS:
            listed[sid].append({"kind": kind, "ref_id": int(ref), "original_date": original,
                                "amount_fen": int(amount), "fee_fen": int(fee)})
    for sid, rows in listed.items():
        days[sid].adjustments = rows
    return with_setoffs


def _setoffs_by_campaign(session: Session, ids: list[int]) -> dict[int, dict[int, int]]:
    """{settlement id: {campaign id: fen}} of the set-off items (negative: the merchant pays)."""
    found: dict[int, dict[int, int]] = {sid: {} for sid in ids}
    if not ids:             # no day has any: skip reading the day's items again
        return found
    for sid, campaign_id, amount in session.execute(_ids("""
            SELECT s.settlement_id, cu.campaign_id, SUM(s.amount_fen) FROM settlement_items s
            JOIN campaign_uses cu ON cu.id = s.ref_id
            WHERE s.settlement_id IN :ids AND s.kind = 'campaign' GROUP BY s.settlement_id, cu.campaign_id
            UNION ALL
            SELECT s.settlement_id, cu.campaign_id, SUM(s.amount_fen) FROM settlement_items s
            JOIN refunds r ON r.id = s.ref_id JOIN campaign_uses cu ON cu.payment_id = r.payment_id
            WHERE s.settlement_id IN :ids AND s.kind = 'campback' GROUP BY s.settlement_id, cu.campaign_id"""),
                                                  {"ids": ids}):
        found[sid][campaign_id] = found[sid].get(campaign_id, 0) + int(amount)
    return found


def _book_settlement(session: Session, day: SettlementDay, now: datetime, setoffs: dict[int, int]) -> None:
    """Merchant payable pays out the net (to payout clearing) and the fees (to fee income); the
    counter money it took itself is set off against merchant_cash (nothing leaves the bank for it);
    its own campaigns' discounts are paid from it to each campaign's account (`setoffs`)."""
    payable = day.net_fen + day.fees_fen + day.counter_fen + day.campaign_setoff_fen
    legs = [Leg(merchant_account_id(session, day.merchant_id), "D" if payable > 0 else "C", abs(payable)),
            Leg(account_id(session, PAYOUT_CLEARING, "bank_clearing"), "C" if day.net_fen > 0 else "D",
                abs(day.net_fen)),
            Leg(account_id(session, FEE_INCOME, "bank_clearing"), "C", day.fees_fen)]
    if day.counter_fen:
        legs.append(Leg(merchant_cash_account_id(session, day.merchant_id), "C", day.counter_fen))
    for campaign_id, amount in sorted(setoffs.items()):
        legs.append(Leg(campaign_account_id(session, campaign_id), "C" if amount < 0 else "D", abs(amount)))
    legs = [leg for leg in legs if leg.amount_fen]
    if legs:
        posting = book(session, f"settlement:{day.merchant_id}:{day.business_date}", "settlement", legs,
                       memo=f"settlement of merchant {day.merchant_id} for {day.business_date}", now=now)
        day.posting_id = posting.id


@dataclass(frozen=True)
class DayOutcome:
    closed: list[SettlementDay]      # closed by this run
    already: list[SettlementDay]     # closed before (left exactly as they were)
    not_over: list[int]              # merchants whose day has not ended yet


def settle_day(session: Session, business_date: str, now: datetime, merchant_ids: list[int] | None = None,
               progress=None) -> DayOutcome:  # noqa: ANN001
    """Close `business_date` for every approved (or suspended) merchant whose day has ended, and
    commit. `progress(step, steps)` is called after each of the run's steps."""
    business_date = check_date(business_date)
    query = select(Merchant).where(Merchant.status != "applied").order_by(Merchant.id)
    if merchant_ids is not None:
        query = query.where(Merchant.id.in_(merchant_ids))
    merchants = list(session.scalars(query))
    closed_before = {d.merchant_id: d for d in session.scalars(
        select(SettlementDay).where(SettlementDay.business_date == business_date))}
    fresh: dict[int, SettlementDay] = {}
    not_over = []
    for merchant in merchants:
        end = day_end(merchant, business_date)
        if merchant.id in closed_before:
            continue
        if now < end:
            not_over.append(merchant.id)
            continue
        day = SettlementDay(merchant_id=merchant.id, business_date=business_date, subsidy={}, fees={},
                            adjustments=[], day_end_at=end, closed_at=now, payments=0, gross_fen=0,
                            refunds_fen=0, wallet_fen=0, bank_card_fen=0, channel_fen=0, counter_fen=0, fees_fen=0,
                            adjustments_fen=0, net_fen=0, campaign_bank_fen=0, campaign_merchant_fen=0,
                            campaign_setoff_fen=0)
        session.add(day)
        fresh[merchant.id] = day
    steps = 4
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise api_error(409, "settlement_running", "该营业日正在另一处结算，请稍后刷新查看结果",
                        "This business day is being settled elsewhere right now; look again shortly") from None
    if progress:
        progress(1, steps)
    by_id = {d.id: d for d in fresh.values()}
    if by_id:
        _claim_items(session, list(by_id), business_date)
        if progress:
            progress(2, steps)
        with_setoffs = _sum_items(session, by_id)
        if progress:
            progress(3, steps)
        setoffs = _setoffs_by_campaign(session, sorted(with_setoffs))
        for day in fresh.values():
            _book_settlement(session, day, now, setoffs.get(day.id, {}))
        session.flush()
    session.commit()
    if progress:
        progress(steps, steps)
    return DayOutcome(list(fresh.values()), [closed_before[m.id] for m in merchants if m.id in closed_before],
                      not_over)
