"""Money taken at a payment channel (WeChat / Alipay / UnionPay), put on the double-entry ledger.

A channel receipt is a `payments` row like any other (so settlement, reports and refunds see it)
with one `channel` split line, booked once under `payment:<id>`:
    D channel_clearing:<channel>   (what the channel owes us; an asset at the bank's side)
    C merchant:<id>                (the merchant's payable, the same account every payment credits)
The ledger's account kinds are fixed by a check constraint; a clearing account at an outside
party already has the kind `bank_clearing` (settlement's payout_clearing does the same), so the
channel clearing accounts take it with their own code.

Two receipts reach this module:
  * a paid parking QR order or exit pay code (`book_order_receipt`, called where an order turns
    paid — the notification and the terminal's poll both end there, under the order's row lock);
  * a canteen pay code charged at the channel (`pay_by_channel`; the charge itself is
    channel_paycode's, the flow the parking exit's pay code shares).
A refund of a channel payment is first given back at the channel (`refund_at_channel`), then the
money service's refund books the mirror image (the `channel` line credits the clearing account
back, the merchant is debited).
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Callable
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.channels import ChannelError, ChannelOrder
from backend.channels.compose import Channels
from backend.errors import api_error
from backend.models.ledger import Account
from backend.models.merchants import Merchant, Site
from backend.models.parking import ParkingOrder
from backend.models.payments import Payment, PaymentLine, Refund
from backend.services.ledger import Leg, account_id, book, merchant_account_id
from backend.services.channel_paycode import UNKNOWN, charge_until_known
from backend.services.payments import Booked, Where, business_date, existing_payment, request_hash
from core.paycode import Classified, classify
from core.reasons import message
from core.wire import PaymentRequest, PaymentResult, RefundRequest, SplitLine

CLEARING_PREFIX = "channel_clearing:"


def clearing_account_id(session: Session, channel: str) -> int:
    return account_id(session, f"{CLEARING_PREFIX}{channel}", "bank_clearing")


def book_receipt(session: Session, *, payment_uuid: str, digest: str, where: Where, channel: str, method: str,
                 amount_fen: int, at: datetime, memo: str) -> Payment:
    """Record and book money the channel took (flushed; the caller commits). Once per payment id:
    a second call returns the first payment and books nothing."""
    found = existing_payment(session, payment_uuid)
    if found is not None:
        return found
    merchant = session.get(Merchant, where.merchant_id)
    clearing = clearing_account_id(session, channel)
    posting = book(session, f"payment:{payment_uuid}", "payment",
                   [Leg(clearing, "D", amount_fen), Leg(merchant_account_id(session, where.merchant_id), "C", amount_fen)],
                   memo=memo, now=at)
    line = SplitLine(source="channel", amount_fen=amount_fen)
    result = PaymentResult(payment_id=payment_uuid, status="approved", message_zh="支付成功", message_en="Paid",
                           amount_fen=amount_fen, split=[line], booked_at=at)
    payment = Payment(payment_uuid=payment_uuid, request_hash=digest, terminal_id=where.terminal_id,
                      merchant_id=where.merchant_id, site_id=where.site_id, method=method, amount_fen=amount_fen,
                      business_date=business_date(merchant, at), occurred_at=at, status="approved",
                      posting_id=posting.id, result=result.model_dump(mode="json"))
    session.add(payment)
    session.flush()
    session.add(PaymentLine(payment_id=payment.id, position=0, source="channel", amount_fen=amount_fen,
                            account_id=clearing))
    session.flush()
    return payment


# --- parking: a paid QR order (exit fee or member renewal) or an exit pay code ----------------------

def book_order_receipt(session: Session, order: ParkingOrder) -> Payment:
    """Book a parking order that just turned paid; the payment id is the order id. The lane is
    not the payment's terminal_id: the lane keeps no payment of its own for shift reconciliation
    to compare (the order row keeps the terminal)."""
    site = session.get(Site, order.site_id)
    method = "paycode" if not order.code_url else "qr"
    digest = hashlib.sha256(f"parking_order:{order.id}".encode()).hexdigest()
    what = "renewal" if order.purpose == "renewal" else "exit fee"
    return book_receipt(session, payment_uuid=order.id, digest=digest, where=Where(site.merchant_id, site.id, None),
                        channel=order.channel, method=method, amount_fen=order.amount_fen, at=order.paid_at,
                        memo=f"parking {what} {order.plate} paid by {method} via {order.channel}")


# --- canteen: a wallet pay code charged at the channel (micropay) -----------------------------------

def wallet_code_kind(req: PaymentRequest, channels: Channels | None = None) -> str | None:
    """wechat | alipay | unionpay for a public wallet's pay code (published formats), bank for the
    bank's mobile-banking code (the prefixes the settings give), else None (our own one-time codes
    and garbage go the customer way and are declined there)."""
    if req.credential.kind != "paycode":
        return None
    if channels is not None:
        return channels.kind_of(req.credential.paycode or "")
    found = classify(req.credential.paycode or "")
    return found.kind if isinstance(found, Classified) and found.kind in ("wechat", "alipay", "unionpay") else None


def pay_by_channel(session: Session, channels: Channels, kind: str, req: PaymentRequest, where: Where,
                   now: datetime, commit: Callable[[Callable[[], Booked]], Booked]) -> Booked:
    """Charge a WeChat / Alipay / UnionPay pay code at its channel and book it. The channel's order
    number is the payment id's hex, so every retry names the same order there and the code is
    charged at most once. The channel is called outside the booking transaction; `commit` runs
    the booking (with the API's retry on a lost race)."""
    digest = request_hash(req, where)
    found = existing_payment(session, str(req.payment_id))
    if found is not None:
        return _repeat(found, digest)
    merchant = session.get(Merchant, where.merchant_id)
    reason: str | None = None
    paid: ChannelOrder | None = None
    if req.offline:
        reason = "paycode_offline"        # a pay code is only ever charged while someone waits for it
    elif merchant.status != "approved":
        reason = "merchant_suspended"
    elif kind not in channels.adapters:
        reason = "channel_not_configured"
    description = f"{merchant.name} 消费"
    # End the reading transaction: on SQLite it holds the write lock, which must be neither kept
    # across the network call nor taken before the API's writer lock (commit).
    session.rollback()
    if reason is None:
        charged = charge_until_known(channels.for_code(kind), req.payment_id.hex, req.credential.paycode or "",
                                     req.amount_fen, description, channels.wait)
        paid, reason = charged.paid, charged.decline

    def attempt() -> Booked:
        again = existing_payment(session, str(req.payment_id))
        if again is not None:
            return _repeat(again, digest)
        if paid is not None:
            payment = book_receipt(session, payment_uuid=str(req.payment_id), digest=digest, where=where,
                                   channel=kind, method="paycode", amount_fen=req.amount_fen, at=now,
                                   memo=f"pay code ({kind}) at merchant {where.merchant_id}")
            return Booked(PaymentResult.model_validate(payment.result), duplicate=False)
        return Booked(_store_decline(session, req, where, digest, reason or "channel_declined", now), duplicate=False)
    return commit(attempt)


def refund_at_channel(session: Session, channels: Channels, req: RefundRequest,
                      merchant_id: int | None) -> None:
    """Before a refund of a channel payment is booked (the money service's refund credits the
    channel clearing line back and debits the merchant), give the money back at the channel:
    out_refund_no = the refund id's hex, so a retry is applied there once. Does nothing for other
    payments, for a refund already recorded, or for one the money service will decline anyway.
    A channel that refuses or does not answer -> 503/409 in words: nothing is booked."""
    try:
        plan = _channel_refund_plan(session, req, merchant_id)
    finally:
        session.rollback()       # as in pay_by_channel: no SQLite write lock across the network or the writer lock
    if plan is None:
        return
    name, *terms = plan
    try:
        channels.get(name).refund(*terms)       # back through the channel that took the money
    except ChannelError as exc:
        if exc.code in UNKNOWN:
            raise api_error(503, "channel_unavailable", "支付渠道暂时无法退款，请稍后用同一退款编号重试",
                            "The payment channel cannot take the refund now; retry later with the same refund id"
                            ) from None
        raise api_error(409, "channel_refund_refused", *message("channel_refund_refused")) from None


def _channel_refund_plan(session: Session, req: RefundRequest,
                         merchant_id: int | None) -> tuple[str, str, str, int, int] | None:
    """(channel, out_trade_no, out_refund_no, refund fen, order total) when a channel owes this refund;
    the channel is the one whose clearing account the payment's `channel` line debited."""
    if session.scalar(select(Refund.id).where(Refund.refund_uuid == str(req.refund_id))) is not None:
        return None
    payment = existing_payment(session, str(req.payment_id))
    if payment is None or payment.status != "approved" or req.amount_fen > payment.amount_fen - payment.refunded_fen \
            or (merchant_id is not None and payment.merchant_id != merchant_id):
        return None
    line = session.execute(select(Account.code, PaymentLine.amount_fen - PaymentLine.refunded_fen)
                           .join(Account, Account.id == PaymentLine.account_id)
                           .where(PaymentLine.payment_id == payment.id, PaymentLine.source == "channel")).first()
    if line is None or not line[1] or not line[0].startswith(CLEARING_PREFIX):
        return None
    return (line[0].removeprefix(CLEARING_PREFIX), UUID(payment.payment_uuid).hex, req.refund_id.hex,
            min(req.amount_fen, int(line[1])), payment.amount_fen)


def _repeat(payment: Payment, digest: str) -> Booked:
    if payment.request_hash != digest:
        raise api_error(409, "payment_id_reused", *message("payment_id_reused"))
    return Booked(PaymentResult.model_validate(payment.result), duplicate=True)


def _store_decline(session: Session, req: PaymentRequest, where: Where, digest: str, reason: str,
                   now: datetime) -> PaymentResult:
    zh, en = message(reason)
    result = PaymentResult(payment_id=req.payment_id, status="declined", reason=reason, message_zh=zh, message_en=en,
                           amount_fen=req.amount_fen)
    merchant = session.get(Merchant, where.merchant_id)
    session.add(Payment(payment_uuid=str(req.payment_id), request_hash=digest, terminal_id=where.terminal_id,
                        merchant_id=where.merchant_id, site_id=where.site_id, method="paycode",
                        amount_fen=req.amount_fen, offline=req.offline, terminal_seq=req.terminal_seq,
                        business_date=business_date(merchant, now), occurred_at=req.occurred_at, status="declined",
                        reason=reason, result=result.model_dump(mode="json")))
    session.flush()
    return result
