"""Book a payment: idempotent by the terminal's payment id, split by core.funding within the
programs' rules, and booked on the ledger in the caller's one transaction.

Concurrency: the customer's wallet and subsidy accounts are row-locked (in id order) before
anything is read that decides the payment — limits, caps, balances — so two payments racing on
one account are decided one after the other and can never overdraw it. The payment id is
unique, so two copies of one request racing end with one booking; the loser reads the winner.

Linked bank card: the bank is asked to debit with the payment id as its reference, inside the
payment's transaction. Before it is asked, a bank intent (backend/services/bank_intents.py) is
committed on its own: the first run of the payment stops at the debit (RecordIntentFirst),
commit_once rolls it back, commits the intent and runs the payment again, which then asks the
bank and marks the intent with the answer in the payment's own transaction. So a debit whose
payment never commits (process killed, power cut, failed commit between the bank's answer and the
commit) is still on record, and `resolve_pending_payments` credits it back once after a grace
period. A later request under that payment id is then declined (bank_debit_returned, "you were not
charged, please pay again"): the bank would only repeat its cached answer to the reference.

If the bank times out, its status is queried at once: taken -> approved, not taken -> declined.
If the bank still cannot tell, the payment is declined to the terminal (bank_outcome_unknown,
"you were not charged") and kept as pending_bank, booked against the bank_pending account so the
wallet and subsidy part cannot be spent twice meanwhile; a repeat of the same request or
`resolve_pending_payments` asks the bank again and makes the decline true: money the bank did
take is credited back (once, by reference) and the posting is reversed.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import TextClause, bindparam, insert, inspect, select, text
from sqlalchemy.orm import Session

from backend.corebanking import CoreBanking
from backend.errors import api_error
from backend.models.merchants import Merchant
from backend.models.payments import Payment, PaymentLine
from backend.models.customers import Customer
from backend.models.ledger import Account
from backend.services import bank_intents, campaign_slices, campaigns, offers
from backend.services.campaigns import Offer
from backend.services.customers import bank_card_number, publish_balance, publish_snapshot, snapshot_of
from backend.services.ledger import (Leg, book, lock_customer_accounts, merchant_account_id, reverse_legs,
                                     system_account_id, wallet_account)
from backend.services.payers import decline_words, find_payer, limit_decline
from backend.services.signings import effective_funding_order
from backend.services.subsidies import pots_for
from backend.services.vault import Vault
from core.wire import BalanceSnapshot, PaymentRequest, PaymentResult, SplitLine
from core.campaigns import Place
from core.funding import FundingDecision, OwnFunds, split_payment
from core.reasons import message

# How old an offline payment may be when it reaches the backend: the widest offline window a site
# may give its terminals (api/sites.py, 30 days), and inside the settlement's 31-day lookback so
# that whatever is booked is also paid out. An older one is declined after the fact, never charged
# (docs/RELIABILITY.md "Offline payments older than the offline window").
OFFLINE_MAX_AGE = timedelta(days=30)

# Hot-path statements, built once: building a statement per payment costs ~4x the CPU of
# executing a prebuilt one (SQLAlchemy caches the compiled form of a reused statement object).
_M, _P = Merchant.__table__.c, Payment.__table__.c
# One round trip opens every payment: the merchant's terms, whether the payment id is taken (the
# idempotency check) and whether any campaign is open (none: the candidate queries are skipped).
def merchant_terms_statement(campaigns_open):  # noqa: ANN001, ANN201 - a SQL boolean expression
    return select(_M.status, _M.timezone, _M.business_day_cutoff, _M.kind,
                  select(_P.id).where(_P.payment_uuid == bindparam("payment_uuid")).scalar_subquery().label("taken_by"),
                  campaigns_open.label("campaigns_open")).where(_M.id == bindparam("merchant_id"))


_MERCHANT_TERMS = merchant_terms_statement(campaigns.ANY_OPEN)
_INSERT_PAYMENT = insert(Payment.__table__).returning(_P.id)
_INSERT_LINES = insert(PaymentLine.__table__)


@dataclass(frozen=True)
class Where:
    """Where the payment happens: the terminal's merchant and site (None for operator tools)."""
    merchant_id: int
    site_id: int | None
    terminal_id: int | None


@dataclass(frozen=True)
class Booked:
    result: PaymentResult
    duplicate: bool


def request_hash(req: PaymentRequest, where: Where) -> str:
    """What makes two requests the same payment. Delivery details (offline flag, sequence
    number, the terminal's own split, the send time) may differ between an online try and the
    later offline push of the same payment; the payment itself may not."""
    essence = {"amount_fen": req.amount_fen, "credential": req.credential.model_dump(mode="json"),
               "meal_period": req.meal_period, "merchant_id": where.merchant_id,
               "parking_session_id": str(req.parking_session_id) if req.parking_session_id else None}
    return hashlib.sha256(json.dumps(essence, sort_keys=True).encode()).hexdigest()


def _merchant_terms(session: Session, merchant_id: int, payment_uuid: str):  # noqa: ANN202
    """The four merchant columns a payment needs, as a row (no ORM object: CPU on the hot path),
    with `taken_by` (the id of a payment already under this payment id, or None) and
    `campaigns_open`. Read on every payment, never cached, so a suspension takes effect at once."""
    return session.execute(_MERCHANT_TERMS, {"merchant_id": merchant_id, "payment_uuid": payment_uuid}).one()


def business_date(merchant: Merchant, at: datetime) -> str:
    hours, minutes = (int(x) for x in (merchant.business_day_cutoff or "00:00").split(":"))
    local = at.astimezone(ZoneInfo(merchant.timezone)) - timedelta(hours=hours, minutes=minutes)
    return local.date().isoformat()


def existing_payment(session: Session, payment_id: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.payment_uuid == payment_id))


def repeat_of(session: Session, bank: CoreBanking, vault: Vault, payment: Payment, digest: str,
              now: datetime) -> Booked:
    if payment.request_hash != digest:
        raise api_error(409, "payment_id_reused", *message("payment_id_reused"))
    if payment.status == "pending_bank":
        resolve_pending(session, bank, vault, payment, now)
    return Booked(PaymentResult.model_validate(payment.result), duplicate=True)


def pay(session: Session, bank: CoreBanking, vault: Vault, req: PaymentRequest, where: Where,
        now: datetime) -> Booked:
    """Decide and book (flushed; the caller commits). A repeat returns the stored answer."""
    digest = request_hash(req, where)
    merchant = _merchant_terms(session, where.merchant_id, str(req.payment_id))
    if merchant.taken_by is not None:   # nearly every payment is new: the ORM object only for a repeat
        return repeat_of(session, bank, vault, existing_payment(session, str(req.payment_id)), digest, now)
    at = min(req.occurred_at, now) if req.offline else now   # offline: judged as when it happened
    payment = Payment(payment_uuid=str(req.payment_id), request_hash=digest, terminal_id=where.terminal_id,
                      merchant_id=where.merchant_id, site_id=where.site_id, method=req.credential.kind,
                      amount_fen=req.amount_fen, offline=req.offline, terminal_seq=req.terminal_seq,
                      business_date=business_date(merchant, at), meal_period=req.meal_period,
                      occurred_at=req.occurred_at, status="declined", result={})
    payer = find_payer(session, req.credential, vault.hash_key, now)
    reason = payer.decline
    if merchant.status != "approved":
        reason = "merchant_suspended"
    if req.offline and req.occurred_at < now - OFFLINE_MAX_AGE:
        reason = "offline_too_old"
    decision: FundingDecision | None = None
    offer: Offer | None = None
    accounts: dict[int, Account] = {}
    customer = payer.customer
    if customer is not None:
        payment.customer_id = customer.id
    if reason is None:
        signing = payer.signing
        payment.signing_id = signing.id
        accounts = customer_accounts(session, customer.id)
        if customer.bank_card_sealed is not None:   # a retry of a debit given back: never again
            reason = bank_intents.returned_debit(session, payment.payment_uuid)
        if reason is None and not req.offline and merchant.campaigns_open:   # offline: the terminal charged the full price
            offer = campaigns.best_offer(session, customer.id, Place(where.merchant_id, where.site_id, merchant.kind,
                                                                     req.credential.kind),
                                         req.amount_fen, payment.payment_uuid, payment.business_date, at)
        elif reason is None and req.offline and req.offline_campaign_id is not None:   # the terminal's budget slice
            offer = campaign_slices.offline_offer(session, where.terminal_id, req, payment, Place(
                where.merchant_id, where.site_id, merchant.kind, req.credential.kind), at)
        to_pay = payment.amount_fen - (offer.discount_fen if offer else 0)
        reason = reason or limit_decline(session, signing, where.merchant_id, to_pay, payment.business_date)
        if reason is None:
            pots = pots_for(session, customer.id, payment.business_date, req.meal_period, accounts)
            wallet = _wallet(accounts)
            own = OwnFunds(wallet_fen=wallet.balance_fen, bank_card=customer.bank_card_sealed is not None)
            decision = split_payment(to_pay, effective_funding_order(session, signing, customer), pots, own,
                                     merchant_id=where.merchant_id, meal_period=req.meal_period, now=at)
            reason = decision.reason
        if reason is None:
            reason = _book(session, bank, vault, payment, decision, accounts, customer, offer, now)
    if reason is not None and payment.status != "pending_bank":
        payment.status, payment.reason = "declined", reason
    balances = None
    if payment.posting_id is not None:
        balances = publish_snapshot(session, snapshot_of(customer.id, accounts, now))
    offer = offer if payment.posting_id is not None else None   # a declined payment gets no discount
    result = _result(payment, customer, payer.signing, decision, balances, offer, now)
    if merchant.campaigns_open:   # an offer comes from an open campaign: none open, no savepoint either
        result = offers.attach(session, result, payment, now)   # an offer from habits; never fails the payment
    payment.result = result.model_dump(mode="json")
    lines = _lines_of(session, decision, accounts) if payment.status != "declined" else None
    payment.id = _insert_payment(session, payment, lines)
    if offer is not None:
        campaigns.record_use(session, offer, payment.id, customer.id, payment.business_date, payment.amount_fen)
    return Booked(result, duplicate=False)   # built here: no need to validate it again


def _insert_payment(session: Session, payment: Payment, lines: list[dict] | None = None) -> int:
    """INSERT ... RETURNING id of the fields set on `payment` (column defaults fill the rest), and
    its `lines` (dicts of PaymentLine columns, no payment_id). Core, not session.add: the rows are
    never read back in this transaction, and the unit of work was the largest single CPU cost of a
    booking. A racing copy of the same payment id still fails here on the unique key
    (IntegrityError), as commit_once expects."""
    values = {key: value for key, value in inspect(payment).dict.items() if key in Payment.__table__.c}
    if lines and session.get_bind().dialect.name == "postgresql":
        return _insert_payment_with_lines(session, values, lines)
    payment_id = session.execute(_INSERT_PAYMENT, values).scalar_one()
    if lines:
        session.execute(_INSERT_LINES, [dict(line, payment_id=payment_id) for line in lines])
    return payment_id


# PostgreSQL: the payment row and its lines in one statement (a data-modifying CTE): one round
# trip fewer per approved payment. Every column is sent (defaults filled in here, as Core would).
_PAYMENT_COLUMNS = [c for c in Payment.__table__.c if not c.primary_key]
_LINE_COLUMNS = ("position", "source", "program_id", "account_id", "amount_fen", "refunded_fen")
_LINE_TYPES = ("INTEGER", "VARCHAR", "INTEGER", "INTEGER", "BIGINT", "BIGINT")
_WITH_LINES: dict[int, TextClause] = {}


def _with_lines(count: int) -> TextClause:
    found = _WITH_LINES.get(count)
    if found is None:
        names = ", ".join(c.name for c in _PAYMENT_COLUMNS)
        params = ", ".join(f"CAST(:{c.name} AS JSON)" if c.name == "result" else f":{c.name}" for c in _PAYMENT_COLUMNS)
        rows = ", ".join("(" + ", ".join(f"CAST(:{name}{i} AS {kind})" for name, kind in zip(_LINE_COLUMNS, _LINE_TYPES))
                         + ")" for i in range(count))
        found = _WITH_LINES[count] = text(
            f"WITH p AS (INSERT INTO payments ({names}) VALUES ({params}) RETURNING id), "
            f"l AS (INSERT INTO payment_lines (payment_id, {', '.join(_LINE_COLUMNS)}) "
            f"SELECT p.id, {', '.join('v.' + n for n in _LINE_COLUMNS)} FROM p, (VALUES {rows}) "
            f"AS v ({', '.join(_LINE_COLUMNS)}) ORDER BY v.position) SELECT id FROM p"
        ).bindparams(*[bindparam(c.name, type_=c.type) for c in _PAYMENT_COLUMNS])
    return found


def _insert_payment_with_lines(session: Session, values: dict, lines: list[dict]) -> int:
    for column in _PAYMENT_COLUMNS:
        if column.name not in values:
            default = column.default
            values[column.name] = None if default is None else (
                default.arg(None) if default.is_callable else default.arg)
    for i, line in enumerate(lines):
        values.update({f"{name}{i}": line[name] for name in _LINE_COLUMNS})
    return session.execute(_with_lines(len(lines)), values).scalar_one()


def customer_accounts(session: Session, customer_id: int) -> dict[int, Account]:
    """The customer's wallet and subsidy accounts, row-locked (the wallet made if missing)."""
    accounts = lock_customer_accounts(session, customer_id)
    if not any(a.kind == "wallet" for a in accounts.values()):
        wallet_account(session, customer_id)
        accounts = lock_customer_accounts(session, customer_id)
    return accounts


def _wallet(accounts: dict[int, Account]) -> Account:
    return next(a for a in accounts.values() if a.kind == "wallet")


def _book(session: Session, bank: CoreBanking, vault: Vault, payment: Payment, decision: FundingDecision,
          accounts: dict[int, Account], customer, offer: Offer | None, now: datetime) -> str | None:  # noqa: ANN001
    """Take the bank card part (if any) and book the posting: the payer's lines and the campaign's
    discount (if any) pay the merchant the full price. Returns a decline reason or None.
    The bank is only asked under a committed intent, marked here with its answer."""
    bank_line = next((line for line in decision.lines if line.source == "bank_card"), None)
    bank_account_kind = "bank_clearing"
    if bank_line is not None:
        intent, refused = bank_intents.arm(session, bank, payment.payment_uuid, customer, bank_line.amount_fen, now)
        if refused is not None:
            return refused
        answer = bank.debit(payment.payment_uuid, bank_card_number(vault, customer), bank_line.amount_fen)
        if answer.outcome == "unknown":
            answer = bank.status(payment.payment_uuid)
        if answer.outcome == "unknown":
            bank_account_kind = "bank_pending"
            payment.status, payment.reason = "pending_bank", "bank_outcome_unknown"
            bank_intents.mark(intent, "pending_bank", now)
        elif answer.outcome != "ok":
            bank_intents.mark(intent, "declined", now)
            return {"insufficient_funds": "bank_insufficient_funds", "frozen": "bank_card_frozen",
                    "no_account": "bank_no_account", "not_configured": "bank_not_configured"
                    }.get(answer.outcome, "bank_declined")
        elif answer.amount_fen and answer.amount_fen != bank_line.amount_fen:
            # The bank repeated an earlier try's answer for another amount under this reference
            # (two faults racing): book nothing; the intent stays `asked`, the job gives it back.
            return "bank_debit_returning"
        else:
            bank_intents.mark(intent, "booked", now)
    legs = [Leg(_source_account(session, line, accounts, bank_account_kind), "D", line.amount_fen)
            for line in decision.lines]
    if offer is not None:
        legs.append(campaigns.funder_leg(session, offer))
    legs.append(Leg(merchant_account_id(session, payment.merchant_id), "C", payment.amount_fen))
    posting = book(session, f"payment:{payment.payment_uuid}", "payment", legs,
                   memo=f"{payment.method} payment at merchant {payment.merchant_id}", locked=accounts, now=now)
    payment.posting_id = posting.id
    if payment.status != "pending_bank":
        payment.status = "approved"
        return None
    return "bank_outcome_unknown"


def _source_account(session: Session, line: SplitLine, accounts: dict[int, Account],
                    bank_account_kind: str) -> int:
    if line.source == "subsidy":
        return next(a.id for a in accounts.values() if a.kind == "subsidy" and a.program_id == line.program_id)
    if line.source == "wallet":
        return _wallet(accounts).id
    return system_account_id(session, bank_account_kind)


def _lines_of(session: Session, decision: FundingDecision, accounts: dict[int, Account]) -> list[dict]:
    """The payment's lines as rows (written with the payment: _insert_payment); not read back while booking."""
    return [dict(position=position, source=line.source, program_id=line.program_id, amount_fen=line.amount_fen,
                 refunded_fen=0, account_id=_source_account(session, line, accounts, "bank_clearing"))
            for position, line in enumerate(decision.lines)]


def _result(payment: Payment, customer, signing, decision: FundingDecision | None,  # noqa: ANN001
            balances: BalanceSnapshot | None, offer: Offer | None, now: datetime) -> PaymentResult:
    approved = payment.status == "approved"
    zh, en = decline_words(payment.reason, signing)
    if approved:
        zh, en = "支付成功", "Paid"
    return PaymentResult(payment_id=payment.payment_uuid, status="approved" if approved else "declined",
                         reason=None if approved else payment.reason, message_zh=zh, message_en=en,
                         amount_fen=payment.amount_fen, split=list(decision.lines) if approved and decision else [],
                         customer_id=customer.id if customer is not None else None,
                         masked_name=customer.masked_name if customer is not None else None,
                         balances=balances, booked_at=now if approved else None,
                         discount_fen=offer.discount_fen if offer and approved else 0,
                         paid_fen=payment.amount_fen - (offer.discount_fen if offer and approved else 0),
                         campaign_id=offer.campaign.id if offer and approved else None,
                         coupon_id=offer.coupon_id if offer and approved else None)


# --- the bank's unknown outcome ------------------------------------------------------------------

def resolve_pending(session: Session, bank: CoreBanking, vault: Vault, payment: Payment, now: datetime) -> str:
    """Settle a pending_bank payment once the bank can say what happened. The terminal was told
    "declined" (bank_outcome_unknown), so the diner must end up not charged: if the bank did take
    its part it is credited back (reference reverse:<payment id>, applied at most once), then the
    whole posting is reversed. While the bank still cannot tell, the payment stays pending.
    Returns the payment's status; its stored answer to the terminal does not change."""
    session.refresh(payment, with_for_update=True)
    if payment.status != "pending_bank":
        return payment.status
    answer = bank.status(payment.payment_uuid)
    if answer.outcome == "unknown":
        return payment.status
    if answer.outcome == "ok":
        ref = f"reverse:{payment.payment_uuid}"
        card = bank_card_number(vault, session.get(Customer, payment.customer_id))
        back = bank.credit(ref, card, answer.amount_fen)
        if back.outcome == "unknown":
            back = bank.status(ref)
        if back.outcome != "ok":
            return payment.status      # try again on the next run; the reference keeps it single
    bank_intents.settle_pending(session, payment.payment_uuid, answer.outcome == "ok", now)
    campaigns.undo_use(session, payment.id, now)   # the reversal below gives the funder its leg back
    book(session, f"bank_reverse:{payment.payment_uuid}", "payment_reversal",
         reverse_legs(session, payment.posting_id), memo="bank outcome unknown at payment time: reversed", now=now)
    for line in _lines(session, payment):
        line.refunded_fen = line.amount_fen
    payment.status, payment.refunded_fen = "declined", payment.amount_fen
    if payment.customer_id is not None:
        publish_balance(session, payment.customer_id, now)
    session.flush()
    return payment.status


def _lines(session: Session, payment: Payment) -> list[PaymentLine]:
    return list(session.scalars(select(PaymentLine).where(PaymentLine.payment_id == payment.id)
                                .order_by(PaymentLine.position)).all())


def resolve_pending_payments(session: Session, bank: CoreBanking, vault: Vault, now: datetime,
                             intent_grace_s: float = bank_intents.GRACE_S) -> dict[str, int]:
    """The resolution job: settle every pending bank payment the bank can now account for, then
    every bank debit no committed payment booked (an orphaned intent: bank_intents.settle_orphans,
    which commits as it goes)."""
    counts: dict[str, int] = {}
    for payment in session.scalars(select(Payment).where(Payment.status == "pending_bank").order_by(Payment.id)).all():
        status = resolve_pending(session, bank, vault, payment, now)
        counts[status] = counts.get(status, 0) + 1
    counts.update(bank_intents.settle_orphans(session, bank, vault, now, intent_grace_s))
    return counts
