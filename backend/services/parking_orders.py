"""QR orders at the exit (and for member renewals): create at the channel, learn they were paid.

The terminal makes the order id (its idempotency key); the channel's out_trade_no is that id's
hex. The backend learns of payment two ways, whichever comes first: the channel's signed paid
notification, or a query to the channel when a terminal polls an order still pending. A paid
amount that differs from the order is never accepted as paid.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.channels import ChannelError, ChannelOrder, PaymentChannel
from backend.logging import log
from backend.models.base import utcnow
from backend.models.parking import ParkingOrder
from backend.services.channel_booking import book_order_receipt
from backend.services.channel_paycode import NO_ANSWER, charge
from backend.services.parking_rules import ParkingRuleError, car_park, renew_member
from core.reasons import message
from core.wire import ParkingOrderRequest, ParkingOrderState, ParkingPaycodeRequest

ORDER_TTL = timedelta(minutes=10)


def order_state(o: ParkingOrder, reason: str | None = None) -> ParkingOrderState:
    zh, en = message(reason) if reason else ("", "")
    return ParkingOrderState(order_id=UUID(o.id), status=o.status, amount_fen=o.amount_fen, qr_text=o.code_url,
                             paid_at=o.paid_at, expires_at=o.expires_at, reason=reason, message_zh=zh,
                             message_en=en)


def create_order(session: Session, channel: PaymentChannel, terminal_id: int, site_id: int,
                 req: ParkingOrderRequest, notify_url: str, now: datetime | None = None) -> ParkingOrder:
    """Create (or return the existing) order; ParkingRuleError if the same id comes with other terms."""
    existing = session.get(ParkingOrder, str(req.order_id))
    if existing is not None:
        if (existing.amount_fen, existing.plate, existing.purpose) != (req.amount_fen, req.plate, req.purpose):
            raise ParkingRuleError("order_conflict", *message("order_conflict"))
        return existing
    site = car_park(session, site_id)
    now = now or utcnow()
    expires = now + ORDER_TTL
    out_trade_no = req.order_id.hex
    what = "停车费" if req.purpose == "exit" else "月卡续费"
    code_url = channel.create_native(out_trade_no, req.amount_fen, f"{site.name} {what} {req.plate}", notify_url,
                                     expires.astimezone(ZoneInfo(site.timezone)))
    order = ParkingOrder(id=str(req.order_id), site_id=site_id, terminal_id=terminal_id, purpose=req.purpose,
                         session_id=str(req.session_id) if req.session_id else None, plate=req.plate,
                         plan=req.plan, amount_fen=req.amount_fen, status="pending", channel=channel.name,
                         out_trade_no=out_trade_no, code_url=code_url, created_at=now, expires_at=expires)
    session.add(order)
    try:
        session.commit()
    except IntegrityError:    # the same order from a concurrent retry
        session.rollback()
        return session.get(ParkingOrder, str(req.order_id))  # type: ignore[return-value]
    return order


def record_paid(session: Session, paid: ChannelOrder, via: PaymentChannel | None = None) -> ParkingOrder | None:
    """Mark an order paid from a verified channel answer; idempotent. None for an unknown order.
    `via` is the channel whose notification this is: an aggregate-QR order (channel "aggregate")
    becomes that channel's, and a second channel paying an order already paid is refunded there."""
    order = session.scalar(select(ParkingOrder).where(ParkingOrder.out_trade_no == paid.out_trade_no)
                           .with_for_update())
    if order is None or paid.trade_state != "SUCCESS":
        return order
    payer_channel = paid.channel or (via.name if via is not None else None)
    if order.status == "paid" and via is not None and payer_channel not in (None, order.channel):
        _refund_second_payment(session, order, paid, via)
        return order
    if paid.amount_fen != order.amount_fen:
        raise ChannelError("amount_mismatch", f"channel paid {paid.amount_fen} for an order of {order.amount_fen}")
    if order.status == "paid":
        return order
    if order.channel == "aggregate":
        if payer_channel in (None, "aggregate"):
            raise ChannelError("bad_notification", "an aggregate-QR order paid at no named channel")
        order.channel = payer_channel      # booked to, and refunded through, the channel that took the money
    paid_at = (paid.success_time or utcnow()).astimezone(timezone.utc)    # stored and answered in UTC, always
    order.status, order.paid_at, order.channel_txn_id = "paid", paid_at, paid.transaction_id
    if order.purpose == "renewal" and order.plan:
        site = car_park(session, order.site_id)
        today = order.paid_at.astimezone(ZoneInfo(site.timezone)).date()
        renew_member(session, order.site_id, order.plate, order.plan, renewal_id=order.id, today=today,
                     paid_via="qr", order_id=order.id, amount_fen=order.amount_fen, now=order.paid_at)
    book_order_receipt(session, order)          # on the ledger in the same transaction, once
    session.commit()
    return order


def _refund_second_payment(session: Session, order: ParkingOrder, paid: ChannelOrder, via: PaymentChannel) -> None:
    """Two apps paid one aggregate-QR order: the first booked it, the second's money goes back at its
    own channel (one out_refund_no per order and channel, so a repeated notification refunds once).
    A refusal raises ChannelError: the notification is refused and the channel sends it again."""
    session.rollback()                              # release the row lock before calling out
    via.refund(paid.out_trade_no, f"D{paid.out_trade_no}", paid.amount_fen, paid.amount_fen)
    log.warning("parking_order_second_payment_refunded", order_id=order.id, booked_channel=order.channel,
                refunded_channel=via.name, amount_fen=paid.amount_fen)


def refresh(session: Session, channel: PaymentChannel, order: ParkingOrder,
            now: datetime | None = None) -> ParkingOrder:
    """For a poll: ask the channel about a pending order (a lost notification must not keep a car in)."""
    if order.status != "pending":
        return order
    try:
        paid = channel.query(order.out_trade_no)
    except ChannelError:
        return order           # the terminal polls again; the notification may still come
    if paid.trade_state == "SUCCESS":
        return record_paid(session, paid) or order
    if paid.trade_state == "CLOSED" or (now or utcnow()) > order.expires_at:
        if paid.trade_state != "CLOSED":
            try:       # so the payer cannot pay an order we gave up on (a pay code's is reversed)
                (channel.close if order.code_url else channel.reverse)(order.out_trade_no)
            except ChannelError:
                return order
        order.status = "closed"
        session.commit()
    return order


def close(session: Session, channel: PaymentChannel, order: ParkingOrder) -> ParkingOrder:
    """Give up a pending order before taking another way to pay: close it at the channel, unless
    the channel says it was paid meanwhile (then it is paid, and nothing else may be taken)."""
    if order.status != "pending":
        return order
    paid = channel.query(order.out_trade_no)        # ChannelError: the caller answers 502
    if paid.trade_state == "SUCCESS":
        return record_paid(session, paid) or order
    channel.close(order.out_trade_no)
    order.status = "closed"
    session.commit()
    return order


def pay_by_code(session: Session, channel: PaymentChannel, terminal_id: int, site_id: int,
                req: ParkingPaycodeRequest, now: datetime | None = None) -> tuple[ParkingOrder, str | None]:
    """Charge a scanned pay code for an exit (付款码支付, channel_paycode's flow, as at the canteen):
    (order, decline code or None).
    The order row is committed before the channel is called, so a lost answer is resolved by a
    later poll (query) or by the terminal's retry with the same order_id. ChannelError
    "unreachable" is raised for the caller to answer 502."""
    order = session.get(ParkingOrder, str(req.order_id))
    if order is not None and (order.amount_fen, order.plate) != (req.amount_fen, req.plate):
        raise ParkingRuleError("order_conflict", *message("order_conflict"))
    site = car_park(session, site_id)
    if order is None:
        now = now or utcnow()
        order = ParkingOrder(id=str(req.order_id), site_id=site_id, terminal_id=terminal_id, purpose="exit",
                             session_id=str(req.session_id) if req.session_id else None, plate=req.plate,
                             amount_fen=req.amount_fen, status="pending", channel=channel.name,
                             out_trade_no=req.order_id.hex, code_url="", created_at=now, expires_at=now + ORDER_TTL)
        session.add(order)
        session.commit()
    if order.status != "pending":
        return order, None
    charged = charge(channel, order.out_trade_no, req.paycode, req.amount_fen, f"{site.name} 停车费 {req.plate}")
    if charged.unknown in NO_ANSWER:     # the lane is told 502 and tries the same order again
        raise ChannelError(charged.unknown, "no answer from the channel to a pay code")
    if charged.decline is not None:
        order.status = "closed"
        session.commit()
        return order, charged.decline
    if charged.paid is not None:
        return record_paid(session, charged.paid) or order, None
    return order, None      # unknown (USERPAYING, a system error): pending; the lane polls, refresh asks or reverses
