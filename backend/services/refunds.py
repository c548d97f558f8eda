"""Refunds, full and partial, back to the sources the payment came from (subsidy to the same
subsidy, wallet to wallet, bank card to the card), never more than was paid. Idempotent by the
refund id; the payment row is locked so two refunds racing cannot together exceed it.

A partial refund returns money in the reverse order it was taken (the last source first), so a
subsidy-first payment gives the diner's own money back before the subsidy.

A payment a campaign discounted: the refund's amount is of the price; the campaign's share of it,
in proportion to discount / price (services/campaigns.give_back), goes back to the campaign's
budget and funder account, the rest to the payer's sources as above (docs/MARKETING.md).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.corebanking import CoreBanking
from backend.errors import api_error
from backend.models.customers import Customer
from backend.models.payments import Payment, PaymentLine, Refund
from backend.services import bank_credit_intents as credit_intents
from backend.services import campaigns
from backend.services.customers import bank_card_number, publish_balance
from backend.services.ledger import Leg, book, lock_accounts, merchant_account_id
from backend.services.vault import Vault
from core.reasons import message
from core.wire import RefundRequest, RefundResult, SplitLine


@dataclass(frozen=True)
class RefundDone:
    result: RefundResult
    duplicate: bool


def _digest(req: RefundRequest) -> str:
    essence = {"payment_id": str(req.payment_id), "amount_fen": req.amount_fen}
    return hashlib.sha256(json.dumps(essence, sort_keys=True).encode()).hexdigest()


def refund(session: Session, bank: CoreBanking, vault: Vault, req: RefundRequest, now: datetime, *,
           merchant_id: int | None, terminal_id: int | None = None, operator_id: int | None = None) -> RefundDone:
    """Refund (flushed; the caller commits). `merchant_id` None = any merchant (bank operator)."""
    digest = _digest(req)
    found = session.scalar(select(Refund).where(Refund.refund_uuid == str(req.refund_id)))
    if found is not None:
        if found.request_hash != digest:
            raise api_error(409, "refund_id_reused", *message("refund_id_reused"))
        return RefundDone(RefundResult.model_validate(found.result), duplicate=True)
    payment = session.scalar(select(Payment).where(Payment.payment_uuid == str(req.payment_id)).with_for_update())
    if payment is None or (merchant_id is not None and payment.merchant_id != merchant_id):
        raise api_error(404, "payment_not_found", *message("payment_not_found"))
    row = Refund(refund_uuid=str(req.refund_id), request_hash=digest, payment_id=payment.id, terminal_id=terminal_id,
                 operator_id=operator_id, amount_fen=req.amount_fen, reason=req.reason, status="declined", result={}, created_at=now)
    reason = None
    if payment.status != "approved":
        reason = "payment_not_approved"
    elif req.amount_fen > (payment.amount_fen - payment.refunded_fen
                           - credit_intents.reserved_fen(session, payment.payment_uuid, row.refund_uuid)):
        reason = "refund_exceeds_payment"
    split: list[SplitLine] = []
    campaign_fen = 0
    if reason is None:
        split, campaign_fen = _give_back(session, bank, vault, payment, row, req.amount_fen, now)
        row.status = "refunded"
    else:
        credit_intents.decline_own(session, row.refund_uuid, now)
    zh, en = message(reason) if reason else ("退款成功", "Refunded")
    result = RefundResult(refund_id=req.refund_id, payment_id=req.payment_id, status=row.status, reason=reason,
                          message_zh=zh, message_en=en, amount_fen=req.amount_fen, split=split,
                          campaign_fen=campaign_fen)
    row.result = result.model_dump(mode="json")
    session.add(row)
    session.flush()
    if row.status == "refunded" and payment.customer_id is not None:
        publish_balance(session, payment.customer_id, now)
    return RefundDone(result, duplicate=False)


def _give_back(session: Session, bank: CoreBanking, vault: Vault, payment: Payment, row: Refund,
               amount_fen: int, now: datetime) -> tuple[list[SplitLine], int]:
    """The payer's sources and the campaign's share (fen) given back, booked in one posting."""
    lines = list(session.scalars(select(PaymentLine).where(PaymentLine.payment_id == payment.id)
                                 .order_by(PaymentLine.position.desc())).all())
    lock_accounts(session, [line.account_id for line in lines])
    campaign_leg = campaigns.give_back(session, payment.id, payment.amount_fen, payment.refunded_fen + amount_fen, now)
    legs = [campaign_leg] if campaign_leg is not None else []
    campaign_fen = campaign_leg.amount_fen if campaign_leg is not None else 0
    left, split = amount_fen - campaign_fen, []
    for line in lines:
        take = min(left, line.amount_fen - line.refunded_fen)
        if take <= 0:
            continue
        if line.source == "bank_card":
            _credit_card(session, bank, vault, payment, row, take, now)
        line.refunded_fen += take
        legs.append(Leg(line.account_id, "C", take))
        split.append(SplitLine(source=line.source, program_id=line.program_id, amount_fen=take))
        left -= take
    legs.append(Leg(merchant_account_id(session, payment.merchant_id), "D", amount_fen))
    posting = book(session, f"refund:{row.refund_uuid}", "refund", legs, memo=f"refund of payment {payment.id}", now=now)
    row.posting_id = posting.id
    payment.refunded_fen += amount_fen
    return split, campaign_fen


def _credit_card(session: Session, bank: CoreBanking, vault: Vault, payment: Payment, row: Refund,
                 amount_fen: int, now: datetime) -> None:
    """Give the card part back at the bank first, under an intent committed before the bank is
    asked (backend/services/bank_credit_intents.py: a crash before this refund commits is then
    booked by the resolve_bank job, not lost). The bank applies the refund id once, so when it
    does not answer the refund is refused for now and a retry with the same id is safe."""
    customer = session.get(Customer, payment.customer_id)
    ref = credit_intents.ref_of(row.refund_uuid)
    intent = credit_intents.arm(session, bank, {
        "ref": ref, "refund_uuid": row.refund_uuid, "payment_uuid": payment.payment_uuid,
        "customer_id": customer.id, "card_sealed": customer.bank_card_sealed, "amount_fen": amount_fen,
        "refund_amount_fen": row.amount_fen, "reason": row.reason, "terminal_id": row.terminal_id,
        "operator_id": row.operator_id}, now)
    answer = bank.credit(ref, bank_card_number(vault, customer), amount_fen)
    if answer.outcome == "unknown":
        answer = bank.status(ref)
    if answer.outcome != "ok":
        raise api_error(503, "bank_unavailable", *message("bank_unavailable"))
    credit_intents.mark(intent, "booked", now)
