"""Reconciliation results: channel statement runs with their differences, and terminal shifts."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, fen_column, utcnow

DIFFERENCE_KINDS = ("matched", "missing_ours", "missing_theirs", "amount_differs")


class ChannelReconciliation(Base):
    __tablename__ = "channel_reconciliations"
    __table_args__ = (UniqueConstraint("channel", "statement_date", "file_sha256",
                                       name="uq_channel_reconciliations_file"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    statement_date: Mapped[str] = mapped_column(String(10))
    file_sha256: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReconciliationItem(Base):
    __tablename__ = "reconciliation_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reconciliation_id: Mapped[int] = mapped_column(ForeignKey("channel_reconciliations.id"), index=True)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), default=None, index=True)
    ref: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    ours_fen: Mapped[int | None] = fen_column(nullable=True, default=None)
    theirs_fen: Mapped[int | None] = fen_column(nullable=True, default=None)
    action: Mapped[str] = mapped_column(String(16), doc="none | reversed | for_person")
    note: Mapped[str] = mapped_column(String(300), default="")


class TerminalShift(Base):
    """A shift a terminal closed, with both sides' totals and the itemised differences."""
    __tablename__ = "terminal_shifts"
    __table_args__ = (UniqueConstraint("terminal_id", "shift_id", name="uq_terminal_shifts_terminal_shift"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    shift_id: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column()
    closed_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), doc="balanced | differences")
    result: Mapped[dict[str, Any]] = mapped_column(JSON, doc="core.wire.ShiftCloseResult as answered")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
