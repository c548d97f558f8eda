"""Match our records of one day against the channel's statement, and handle what has a clear rule.

Kinds: matched; missing_ours (the channel settled something we have no record of); missing_theirs
(we booked something the channel did not settle); amount_differs. Rules:
  - missing_theirs, bank card, payment not yet paid out to the merchant: ask the core. "not_found"
    (it never took the money) -> the payment is reversed on the ledger and declined; a pending
    payment goes through the money side's own resolver. The core says "ok" -> for a person
    (the statement itself is short).
  - everything else is listed for a person, with both amounts.
The QR channel's side of ours: paid parking orders, and canteen pay-code payments charged through
the channel (their out_trade_no is the payment id's hex).
A statement is recorded once (same channel, date and file hash give the first run's result).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.corebanking import CoreBanking
from backend.services.vault import Vault
from backend.models.ledger import Account
from backend.models.parking import ParkingOrder
from backend.models.payments import Payment, PaymentLine, Refund
from backend.models.merchants import Site
from backend.reconciliation.channel_file import STATEMENT_TZ, Statement
from backend.reconciliation.models import ChannelReconciliation, ReconciliationItem
from backend.services.customers import publish_balance
from backend.services.ledger import book, reverse_legs
from backend.services.payments import resolve_pending
from backend.settlement.models import SettlementItem
from core.reasons import message


@dataclass(frozen=True)
class Ours:
    ref: str
    amount_fen: int
    merchant_id: int | None
    payment: Payment | None = None


def _day_bounds(day: str) -> tuple[datetime, datetime]:
    start = datetime.combine(date.fromisoformat(day), time(0), STATEMENT_TZ)
    return start, start + timedelta(days=1)


def _card_refund_fen(refund: Refund) -> int:
    return sum(line["amount_fen"] for line in (refund.result or {}).get("split", []) if line["source"] == "bank_card")


def _bank_card_ours(session: Session, day: str) -> dict[str, Ours]:
    found: dict[str, Ours] = {}
    for payment, amount in session.execute(
            select(Payment, PaymentLine.amount_fen).join(PaymentLine, PaymentLine.payment_id == Payment.id)
            .where(PaymentLine.source == "bank_card", Payment.business_date == day,
                   Payment.status.in_(("approved", "pending_bank")))):
        found[payment.payment_uuid] = Ours(payment.payment_uuid, amount, payment.merchant_id, payment)
    start, end = _day_bounds(day)
    for refund, merchant_id in session.execute(
            select(Refund, Payment.merchant_id).join(Payment, Payment.id == Refund.payment_id)
            .where(Refund.status == "refunded", Refund.created_at >= start, Refund.created_at < end)):
        if _card_refund_fen(refund):
            ref = f"refund:{refund.refund_uuid}"
            found[ref] = Ours(ref, _card_refund_fen(refund), merchant_id)
    return found


def _bank_card_elsewhere(session: Session, ref: str) -> Ours | None:
    """A statement line whose record is on another of our days (cut-off differences)."""
    if ref.startswith("refund:"):
        refund = session.scalar(select(Refund).where(Refund.refund_uuid == ref[7:]))
        return Ours(ref, _card_refund_fen(refund), None) if refund and _card_refund_fen(refund) else None
    row = session.execute(select(Payment, PaymentLine.amount_fen).join(PaymentLine, PaymentLine.payment_id == Payment.id)
                          .where(Payment.payment_uuid == ref, PaymentLine.source == "bank_card",
                                 Payment.status.in_(("approved", "pending_bank")))).first()
    return Ours(ref, row[1], row[0].merchant_id, row[0]) if row else None


def _channel_ours(session: Session, day: str, channel: str) -> dict[str, Ours]:
    """Everything `channel` took for us on the statement's calendar day, once per reference.
    Channel receipts are payments (canteen pay codes: ref = payment id hex; parking orders: the
    payment id IS the order id, so its hex is the order's out_trade_no) — a parking order and its
    payment are one reference, counted once. Paid orders are read too, in case one has no payment."""
    start, end = _day_bounds(day)
    found: dict[str, Ours] = {}
    for payment, amount in session.execute(
            select(Payment, PaymentLine.amount_fen).join(PaymentLine, PaymentLine.payment_id == Payment.id)
            .join(Account, Account.id == PaymentLine.account_id)
            .where(PaymentLine.source == "channel", Account.code == f"channel_clearing:{channel}",
                   Payment.status == "approved", Payment.occurred_at >= start, Payment.occurred_at < end)):
        ref = payment.payment_uuid.replace("-", "")
        found[ref] = Ours(ref, amount, payment.merchant_id, payment)
    for order, merchant_id in session.execute(
            select(ParkingOrder, Site.merchant_id).join(Site, Site.id == ParkingOrder.site_id)
            .where(ParkingOrder.status == "paid", ParkingOrder.channel == channel, ParkingOrder.paid_at >= start,
                   ParkingOrder.paid_at < end)):
        found.setdefault(order.out_trade_no, Ours(order.out_trade_no, order.amount_fen, merchant_id))
    return found


def _channel_elsewhere(session: Session, ref: str, channel: str) -> Ours | None:
    row = session.execute(select(ParkingOrder, Site.merchant_id).join(Site, Site.id == ParkingOrder.site_id)
                          .where(ParkingOrder.out_trade_no == ref, ParkingOrder.channel == channel,
                                 ParkingOrder.status == "paid")).first()
    if row:
        return Ours(ref, row[0].amount_fen, row[1])
    if len(ref) != 32:
        return None
    uuid_text = f"{ref[:8]}-{ref[8:12]}-{ref[12:16]}-{ref[16:20]}-{ref[20:]}"
    paid = session.execute(select(Payment, PaymentLine.amount_fen).join(PaymentLine, PaymentLine.payment_id == Payment.id)
                           .join(Account, Account.id == PaymentLine.account_id)
                           .where(Payment.payment_uuid == uuid_text, PaymentLine.source == "channel",
                                  Account.code == f"channel_clearing:{channel}", Payment.status == "approved")).first()
    return Ours(ref, paid[1], paid[0].merchant_id, paid[0]) if paid else None


def _paid_out(session: Session, payment: Payment) -> bool:
    return session.scalar(select(SettlementItem.id).where(SettlementItem.kind == "payment",
                                                          SettlementItem.ref_id == payment.id)) is not None


def _reverse_unsettled(session: Session, bank: CoreBanking, vault: Vault, ours: Ours,
                       now: datetime) -> tuple[str, str]:
    """A booked card payment the channel did not settle: reverse it when the core confirms."""
    payment = ours.payment
    if payment is None:
        return "for_person", "退款未出现在对账单中，请人工核查 / refund not on the statement: check by hand"
    if payment.status == "pending_bank":
        status = resolve_pending(session, bank, vault, payment, now)
        return ("reversed", "银行确认未扣款，已冲正 / the bank never took it: reversed") if status == "declined" \
            else ("for_person", f"银行状态：{status} / bank status: {status}")
    answer = bank.status(payment.payment_uuid)
    if answer.outcome != "not_found":
        return "for_person", f"银行查询结果 {answer.outcome}，对账单却没有 / bank says {answer.outcome} but the statement lacks it"
    if _paid_out(session, payment) or payment.refunded_fen:
        return "for_person", "银行未扣款但已结算或已退款，请人工处理 / never taken but already settled or refunded"
    book(session, f"channel_reverse:{payment.payment_uuid}", "payment_reversal",
         reverse_legs(session, payment.posting_id), memo="not on the channel statement; bank: not found", now=now)
    payment.status, payment.reason = "declined", "channel_not_settled"
    zh, en = message("channel_not_settled")        # the stored answer no longer says 支付成功
    payment.result = {**payment.result, "status": "declined", "reason": "channel_not_settled", "split": [],
                      "message_zh": zh, "message_en": en}
    if payment.customer_id is not None:
        publish_balance(session, payment.customer_id, now)
    return "reversed", "银行确认未扣款，已冲正 / the bank confirms it never took the money: reversed"


def reconcile(session: Session, statement: Statement, raw: bytes, bank: CoreBanking | None,
              now: datetime, vault: Vault | None = None) -> ChannelReconciliation:
    """Match, act where the rule is clear, record (flushed; the caller commits)."""
    digest = hashlib.sha256(raw).hexdigest()
    existing = session.scalar(select(ChannelReconciliation).where(
        ChannelReconciliation.channel == statement.channel, ChannelReconciliation.statement_date == statement.statement_date,
        ChannelReconciliation.file_sha256 == digest))
    if existing is not None:
        return existing
    card = statement.channel == "bank_card"
    ours = _bank_card_ours(session, statement.statement_date) if card else \
        _channel_ours(session, statement.statement_date, statement.channel)
    run = ChannelReconciliation(channel=statement.channel, statement_date=statement.statement_date,
                                file_sha256=digest, counts={}, created_at=now)
    session.add(run)
    session.flush()
    counts = dict.fromkeys(("matched", "missing_ours", "missing_theirs", "amount_differs", "reversed"), 0)
    items = []
    for row in statement.rows:
        mine = ours.pop(row.ref, None) or (_bank_card_elsewhere(session, row.ref) if card
                                           else _channel_elsewhere(session, row.ref, statement.channel))
        if mine is None:
            items.append(ReconciliationItem(ref=row.ref, kind="missing_ours", theirs_fen=row.amount_fen,
                                            action="for_person", note="渠道已结算但我方无记录 / settled by the channel, unknown to us"))
        elif mine.amount_fen != row.amount_fen:
            items.append(ReconciliationItem(ref=row.ref, kind="amount_differs", merchant_id=mine.merchant_id,
                                            ours_fen=mine.amount_fen, theirs_fen=row.amount_fen, action="for_person",
                                            note="金额不一致 / the amounts differ"))
        else:
            counts["matched"] += 1
    for mine in sorted(ours.values(), key=lambda o: o.ref):
        action, note = _reverse_unsettled(session, bank, vault, mine, now) if card and bank and vault else \
            ("for_person", "我方已收款但渠道对账单没有 / paid here, not on the channel's statement")
        counts["reversed"] += action == "reversed"
        items.append(ReconciliationItem(ref=mine.ref, kind="missing_theirs", merchant_id=mine.merchant_id,
                                        ours_fen=mine.amount_fen, action=action, note=note[:300]))
    for item in items:
        item.reconciliation_id = run.id
        counts[item.kind] += 1
    session.add_all(items)
    run.counts = counts
    session.flush()
    return run
