"""Payments and refunds as terminals and operators asked for them, with their split lines.

The stored `result` is the exact answer given, so a repeated request gets the same answer;
`request_hash` tells a true repeat from a different body under the same id (409).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, fen_column, utcnow

# pending_bank: the bank timed out and its outcome is unknown until a status query resolves it.
PAYMENT_STATUSES = ("approved", "declined", "pending_bank")


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("status IN ('approved', 'declined', 'pending_bank')", name="status"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refunded"),
        # the daily-limit and daily-cap sums of every payment read these
        Index("ix_payments_signing_day", "signing_id", "business_date"),
        Index("ix_payments_customer_day", "customer_id", "business_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"), default=None, index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), default=None)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), default=None)
    signing_id: Mapped[int | None] = mapped_column(ForeignKey("signings.id"), default=None)
    method: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = fen_column()
    refunded_fen: Mapped[int] = fen_column(default=0)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(48), default=None)
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    terminal_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    business_date: Mapped[str] = mapped_column(String(10), doc="YYYY-MM-DD in the merchant's time zone")
    meal_period: Mapped[str | None] = mapped_column(String(32), default=None)
    occurred_at: Mapped[datetime] = mapped_column()
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_postings.id"), default=None)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, doc="core.wire.PaymentResult as answered")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaymentLine(Base):
    """One source of a payment's money; `refunded_fen` says how much went back to it."""
    __tablename__ = "payment_lines"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),
                      CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refunded"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("subsidy_programs.id"), default=None)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount_fen: Mapped[int] = fen_column()
    refunded_fen: Mapped[int] = fen_column(default=0)


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("status IN ('refunded', 'declined')", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    refund_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), default=None, index=True)
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"), default=None)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), default=None)
    amount_fen: Mapped[int] = fen_column()
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_postings.id"), default=None)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, doc="core.wire.RefundResult as answered")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TerminalEvent(Base):
    """Audit events pushed by terminals (gate opened by hand, shift closed, ...), once per seq."""
    __tablename__ = "terminal_events"
    __table_args__ = (UniqueConstraint("terminal_id", "seq", name="uq_terminal_events_terminal_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
