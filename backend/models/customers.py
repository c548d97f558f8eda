"""Customers (diners, drivers) and their groups. Personal data is sealed (core.crypto) and
found by keyed hash; only masked forms are ever stored in clear."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, utcnow

FUNDING_ORDERS = ("subsidy_first", "subsidy_only", "own_only", "own_first")
_ORDERS_SQL = ", ".join(repr(v) for v in FUNDING_ORDERS)


class CustomerGroup(Base):
    """A group of diners (a class, a department) sharing a funding order."""
    __tablename__ = "customer_groups"
    __table_args__ = (CheckConstraint(f"funding_order IN ({_ORDERS_SQL})", name="funding_order"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    funding_order: Mapped[str] = mapped_column(String(16), default="subsidy_first")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (CheckConstraint("status IN ('active', 'closed')", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("customer_groups.id"), default=None, index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Sealed with FieldCipher, context "customers.<column>"; hashes are keyed (settings.keys["hash"]).
    name_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)
    phone_hash: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    masked_name: Mapped[str] = mapped_column(String(64))
    # The linked bank card (optional): the number sealed, the CoreBanking account reference.
    bank_card_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    bank_card_masked: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MarketingOptOut(Base):
    """A customer who opted out of marketing (issue 17): no offers from their habits and no
    targeted coupons; instant campaigns open to everyone still apply at the gate. A row of its own,
    not a column of customers, so the opt-out keeps when it was given."""
    __tablename__ = "marketing_opt_outs"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    opted_out_at: Mapped[datetime] = mapped_column(default=utcnow)
