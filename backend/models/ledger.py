"""The double-entry ledger: accounts, postings (one business event each) and their entries.

Every account's balance is credits minus debits of its entries. Customer accounts (wallet,
subsidy) hold money the bank owes the customer and never go below zero; the counterpart
accounts (funders, clearing, merchants, merchants' own cash) carry the other side. `balance_fen` is a cache that
`gatepay backend check-ledger` proves equal to the sum of the entries.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, fen_column, utcnow

# merchant_cash: money a merchant took itself (cash or card at its own counter); settlement clears
# it against the merchant's payable instead of paying it out (migration 0006).
# campaign_funding: a campaign's funder (bank or merchant), code campaign:<id>; it pays each
# payment's discount to the merchant (migration 0010, docs/MARKETING.md).
ACCOUNT_KINDS = ("wallet", "subsidy", "subsidy_funding", "merchant", "deposit_clearing",
                 "bank_clearing", "bank_pending", "merchant_cash", "campaign_funding")
CUSTOMER_KINDS = ("wallet", "subsidy")


class Account(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (CheckConstraint("kind IN (" + ", ".join(repr(k) for k in ACCOUNT_KINDS) + ")",
                                      name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True, doc="wallet:12, subsidy:12:3, merchant:5, ...")
    kind: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), default=None, index=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("subsidy_programs.id"), default=None)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), default=None)
    balance_fen: Mapped[int] = fen_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Posting(Base):
    __tablename__ = "ledger_postings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(120), unique=True,
                                     doc="the business key, e.g. payment:<uuid>; unique = booked once")
    kind: Mapped[str] = mapped_column(String(24))
    memo: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Entry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (CheckConstraint("side IN ('D', 'C')", name="side"),
                      CheckConstraint("amount_fen > 0", name="amount_positive"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("ledger_postings.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    side: Mapped[str] = mapped_column(String(1))
    amount_fen: Mapped[int] = fen_column()
