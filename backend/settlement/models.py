"""Settlement tables: one closed row per merchant and business day, and what went into it.

A row exists only once its day is closed; it is never updated after. `SettlementItem` records
each payment, refund or counter renewal a day took in (unique per item), so nothing is settled twice, and a late
item lands in the next day as an adjustment that names its original business date. A merchant-funded
campaign's discount (`campaign`) and its share given back by a refund (`campback`) are items of
the funding merchant's day: set off against its payout once, like everything else.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, fen_column, utcnow


class SettlementDay(Base):
    __tablename__ = "settlement_days"
    __table_args__ = (UniqueConstraint("merchant_id", "business_date", name="uq_settlement_days_merchant_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    business_date: Mapped[str] = mapped_column(String(10), index=True)
    payments: Mapped[int] = mapped_column(Integer, default=0)
    gross_fen: Mapped[int] = fen_column(default=0)
    refunds_fen: Mapped[int] = fen_column(default=0)
    wallet_fen: Mapped[int] = fen_column(default=0, doc="paid from diners' own accounts")
    bank_card_fen: Mapped[int] = fen_column(default=0)
    channel_fen: Mapped[int] = fen_column(default=0)
    counter_fen: Mapped[int] = fen_column(default=0, server_default="0",
                                          doc="taken at the merchant's own counter: reported, never paid out")
    subsidy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, doc="{program_id: fen}")
    fees: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, doc="{method: fen}")
    fees_fen: Mapped[int] = fen_column(default=0)
    adjustments_fen: Mapped[int] = fen_column(default=0, doc="late payments less earlier days' refunds, less their fees")
    adjustments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Campaigns (migration 0015; NULL on days closed before settlement knew them). The two
    # discounts are sources of gross like wallet_fen; the set-off is taken off the net.
    campaign_bank_fen: Mapped[int | None] = fen_column(
        nullable=True, default=None, doc="the bank's campaigns' discounts in the day's payments: paid by the bank")
    campaign_merchant_fen: Mapped[int | None] = fen_column(
        nullable=True, default=None, doc="merchant-funded campaigns' discounts in the day's payments")
    campaign_setoff_fen: Mapped[int | None] = fen_column(
        nullable=True, default=None, doc="what this merchant's own campaigns cost, net of refunds: off its payout")
    net_fen: Mapped[int] = fen_column(default=0)
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_postings.id"), default=None)
    day_end_at: Mapped[datetime] = mapped_column(doc="the cut-off instant that ended the day")
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)


class SettlementItem(Base):
    __tablename__ = "settlement_items"
    __table_args__ = (UniqueConstraint("kind", "ref_id", name="uq_settlement_items_kind_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlement_days.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8), doc="payment | refund | counter | campaign | campback")
    ref_id: Mapped[int] = mapped_column(Integer, doc="payments.id, refunds.id, parking_member_renewals.id, "
                                                      "campaign_uses.id (campaign) or refunds.id (campback)")
    amount_fen: Mapped[int] = fen_column(doc="payments and campaign shares given back positive, refunds and "
                                             "the merchant's own discounts negative")
    fee_fen: Mapped[int] = fen_column(default=0)
    original_date: Mapped[str] = mapped_column(String(10))
    adjustment: Mapped[bool] = mapped_column(Boolean, default=False)


class PayoutFile(Base):
    """The fingerprint of a day's payout files: a re-run must produce the very same bytes."""
    __tablename__ = "settlement_payout_files"
    __table_args__ = (UniqueConstraint("business_date", "merchants", name="uq_settlement_payout_files_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    business_date: Mapped[str] = mapped_column(String(10))
    merchants: Mapped[int] = mapped_column(Integer)
    csv_sha256: Mapped[str] = mapped_column(String(64))
    xlsx_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
