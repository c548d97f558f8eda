"""Terminals, the one-time enrolment codes that create them, and the nonces they have used."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, utcnow

SCENES = ("canteen", "parking")
TERMINAL_STATUSES = ("active", "disabled")


class Terminal(Base):
    __tablename__ = "terminals"
    __table_args__ = (
        CheckConstraint("scene IN ('canteen', 'parking')", name="scene"),
        CheckConstraint("status IN ('active', 'disabled')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    lane_id: Mapped[int | None] = mapped_column(ForeignKey("lanes.id"), default=None)
    name: Mapped[str] = mapped_column(String(100))
    scene: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    public_key: Mapped[str] = mapped_column(String(64), doc="base64 raw Ed25519 public key")
    hardware_id: Mapped[str] = mapped_column(String(128), default="")
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    last_push_at: Mapped[datetime | None] = mapped_column(default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    disabled_reason: Mapped[str | None] = mapped_column(String(200), default=None)


class EnrolmentCode(Base):
    """A one-time code an installer types into a new terminal. Only its keyed hash is stored."""
    __tablename__ = "enrolment_codes"
    __table_args__ = (CheckConstraint("scene IN ('canteen', 'parking')", name="scene"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    lane_id: Mapped[int | None] = mapped_column(ForeignKey("lanes.id"), default=None)
    scene: Mapped[str] = mapped_column(String(16))
    terminal_name: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"), default=None)


class UsedNonce(Base):
    """Nonces seen within the signature window; the unique key is what refuses a replay."""
    __tablename__ = "used_nonces"
    __table_args__ = (UniqueConstraint("terminal_id", "nonce", name="uq_used_nonces_terminal_nonce"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    nonce: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
