"""People and systems that call the operator API: bank operators, merchant admins, auditors."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, utcnow

ROLES = ("operator", "merchant_admin", "auditor")


class Operator(Base):
    __tablename__ = "operators"
    __table_args__ = (
        CheckConstraint("role IN ('operator', 'merchant_admin', 'auditor')", name="role"),
        # A merchant admin is always bound to its merchant; the others never are.
        CheckConstraint("(role = 'merchant_admin') = (merchant_id IS NOT NULL)", name="merchant_scope"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), default=None, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, doc="keyed hash; the token is shown once")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
