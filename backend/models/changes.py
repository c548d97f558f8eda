"""The change feed terminals pull: one row per change; its id is the pull cursor."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, utcnow


class SyncChange(Base):
    __tablename__ = "sync_changes"
    # A pull scans its merchant's rows and the bank-wide ones (merchant_id NULL) after its cursor.
    __table_args__ = (Index("ix_sync_changes_merchant_id_id", "merchant_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # NULL = every merchant / every site sees it (e.g. a bank-wide signing).
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), default=None)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), default=None)
    kind: Mapped[str] = mapped_column(String(32), doc="core.wire.ChangeKind")
    key: Mapped[str] = mapped_column(String(128))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
