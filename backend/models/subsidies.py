"""Subsidy programs, what each customer holds of one, and the grant batches that fund them."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, fen_column, utcnow

SUBSIDY_KINDS = ("monthly", "daily", "meal")
EXPIRY_POLICIES = ("month_end", "rollover", "on_date")


class SubsidyProgram(Base):
    __tablename__ = "subsidy_programs"
    __table_args__ = (
        CheckConstraint("kind IN ('monthly', 'daily', 'meal')", name="kind"),
        CheckConstraint("expiry_policy IN ('month_end', 'rollover', 'on_date')", name="expiry_policy"),
        CheckConstraint("expiry_policy != 'on_date' OR expires_on IS NOT NULL", name="expires_on"),
        CheckConstraint("status IN ('active', 'closed')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    funder: Mapped[str] = mapped_column(String(100), doc="who pays: the school, the employer, ...")
    kind: Mapped[str] = mapped_column(String(16))
    merchant_ids: Mapped[list[Any]] = mapped_column(JSON, default=list, doc="where it may be spent")
    meal_periods: Mapped[list[Any]] = mapped_column(JSON, default=list, doc="empty = any period")
    per_meal_cap_fen: Mapped[int | None] = fen_column(nullable=True, default=None)
    per_day_cap_fen: Mapped[int | None] = fen_column(nullable=True, default=None)
    expiry_policy: Mapped[str] = mapped_column(String(16), default="month_end")
    expires_on: Mapped[date | None] = mapped_column(Date, default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubsidyHolding(Base):
    """A customer's share of one program: its ledger account and when the current money lapses."""
    __tablename__ = "subsidy_holdings"
    __table_args__ = (UniqueConstraint("customer_id", "program_id", name="uq_subsidy_holdings_customer_program"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("subsidy_programs.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(default=None, doc="None = rolls over")


class GrantBatch(Base):
    """One imported CSV of grants; its batch id makes a re-import a no-op."""
    __tablename__ = "subsidy_grant_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(String(64), unique=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("subsidy_programs.id"))
    rows_booked: Mapped[int] = mapped_column(Integer, default=0)
    total_fen: Mapped[int] = fen_column(default=0)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list, doc="[{line, code, message_zh, message_en}]")
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class Grant(Base):
    __tablename__ = "subsidy_grants"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),
                      CheckConstraint("clawed_back_fen >= 0 AND clawed_back_fen <= amount_fen", name="clawback"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("subsidy_grant_batches.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("subsidy_programs.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = fen_column()
    clawed_back_fen: Mapped[int] = fen_column(default=0)
    posting_id: Mapped[int] = mapped_column(ForeignKey("ledger_postings.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
