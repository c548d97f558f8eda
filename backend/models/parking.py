"""Parking: a car park's rules (tariffs), member passes, the blacklist, stays and QR orders."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Integer, LargeBinary, String, \
    UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, fen_column, utcnow

SESSION_STATUSES = ("inside", "exited", "replaced")
ORDER_STATUSES = ("pending", "paid", "closed")


class ParkingRules(Base):
    """One row per car park: tariffs (core.tariff.SiteTariffs as JSON) and site rules."""
    __tablename__ = "parking_rules"
    __table_args__ = (CheckConstraint("repeat_entry IN ('replace', 'refuse')", name="repeat_entry"),
                      CheckConstraint("no_entry_fee_fen >= 0", name="no_entry_fee"))

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    tariffs: Mapped[dict[str, Any]] = mapped_column(JSON)
    no_entry_fee_fen: Mapped[int] = fen_column(default=0)
    repeat_entry: Mapped[str] = mapped_column(String(8), default="replace")
    plans: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ParkingMember(Base):
    """A plate's pass at one car park. The holder's name is sealed (FieldCipher), shown masked."""
    __tablename__ = "parking_members"
    __table_args__ = (UniqueConstraint("site_id", "plate", name="uq_parking_members_site_plate"),
                      CheckConstraint("status IN ('active', 'suspended')", name="status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    plate: Mapped[str] = mapped_column(String(16))
    plan: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")
    holder_name_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    masked_name: Mapped[str | None] = mapped_column(String(40), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MemberRenewal(Base):
    """One paid renewal (会员缴费续期); renewal_id is the idempotency key."""
    __tablename__ = "parking_member_renewals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    renewal_id: Mapped[str] = mapped_column(String(36), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("parking_members.id"), index=True)
    plan: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = fen_column()
    paid_via: Mapped[str] = mapped_column(String(16), doc="qr (an order) | operator (at the counter)")
    order_id: Mapped[str | None] = mapped_column(String(36), default=None)
    business_date: Mapped[str | None] = mapped_column(String(10), default=None,
                                                      doc="counter: the merchant's business day it was paid")
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_postings.id"), default=None,
                                                   doc="counter money on the ledger (a QR one is a payment)")
    valid_to_before: Mapped[date | None] = mapped_column(Date, default=None)
    valid_to_after: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ParkingBlacklist(Base):
    __tablename__ = "parking_blacklist"
    __table_args__ = (UniqueConstraint("site_id", "plate", name="uq_parking_blacklist_site_plate"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    plate: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ParkingSession(Base):
    """One stay. The id is the UUID the entry terminal made (the exit terminal makes one for a car
    with no entry record)."""
    __tablename__ = "parking_sessions"
    __table_args__ = (CheckConstraint("status IN ('inside', 'exited', 'replaced')", name="status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    plate: Mapped[str] = mapped_column(String(16), index=True)
    plate_colour: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="inside")
    entered_at: Mapped[datetime | None] = mapped_column(default=None)
    entry_lane_id: Mapped[int | None] = mapped_column(Integer, default=None)
    entry_terminal_id: Mapped[int | None] = mapped_column(Integer, default=None)
    entry_image_ref: Mapped[str | None] = mapped_column(String(200), default=None)
    exited_at: Mapped[datetime | None] = mapped_column(default=None)
    exit_lane_id: Mapped[int | None] = mapped_column(Integer, default=None)
    exit_terminal_id: Mapped[int | None] = mapped_column(Integer, default=None)
    exit_image_ref: Mapped[str | None] = mapped_column(String(200), default=None)
    fee_fen: Mapped[int | None] = fen_column(nullable=True, default=None)
    paid_fen: Mapped[int] = fen_column(default=0)
    pay_kind: Mapped[str | None] = mapped_column(String(24), default=None)
    payment_ref: Mapped[str | None] = mapped_column(String(36), default=None)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ParkingEventRow(Base):
    """Every lane event as received (the audit trail of a stay); event_id is the idempotency key."""
    __tablename__ = "parking_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    session_id: Mapped[str] = mapped_column(String(36), index=True)
    terminal_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column()
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class ParkingOrder(Base):
    """A QR "native" order at a payment channel: an exit fee or a member renewal."""
    __tablename__ = "parking_orders"
    __table_args__ = (CheckConstraint("status IN ('pending', 'paid', 'closed')", name="status"),
                      CheckConstraint("amount_fen > 0", name="amount"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True, doc="the terminal's order_id")
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    terminal_id: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(8))
    session_id: Mapped[str | None] = mapped_column(String(36), default=None)
    plate: Mapped[str] = mapped_column(String(16))
    plan: Mapped[str | None] = mapped_column(String(16), default=None)
    amount_fen: Mapped[int] = fen_column()
    status: Mapped[str] = mapped_column(String(8), default="pending")
    channel: Mapped[str] = mapped_column(String(16))
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    code_url: Mapped[str] = mapped_column(String(200))
    channel_txn_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    paid_at: Mapped[datetime | None] = mapped_column(default=None)
