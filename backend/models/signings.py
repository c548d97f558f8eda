"""Signings (签约): the consent that lets a face, a card or a plate pay from a customer's accounts."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, fen_column, utcnow
from backend.models.customers import FUNDING_ORDERS

SIGNING_KINDS = ("face", "card", "plate")
SIGNING_STATUSES = ("active", "suspended", "revoked")


class Signing(Base):
    __tablename__ = "signings"
    __table_args__ = (
        CheckConstraint("kind IN ('face', 'card', 'plate')", name="kind"),
        CheckConstraint("status IN ('active', 'suspended', 'revoked')", name="status"),
        CheckConstraint("per_payment_limit_fen > 0 AND per_day_limit_fen >= per_payment_limit_fen",
                        name="limits"),
        CheckConstraint("funding_order IS NULL OR funding_order IN ("
                        + ", ".join(repr(v) for v in FUNDING_ORDERS) + ")", name="funding_order"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="active")
    per_payment_limit_fen: Mapped[int] = fen_column()
    per_day_limit_fen: Mapped[int] = fen_column()
    merchant_ids: Mapped[list[Any]] = mapped_column(JSON, default=list, doc="empty = any merchant")
    funding_order: Mapped[str | None] = mapped_column(String(16), default=None,
                                                      doc="None = the customer's group decides")
    consent_at: Mapped[datetime | None] = mapped_column(default=None)
    consent_text_version: Mapped[str | None] = mapped_column(String(32), default=None)
    # Lookup keys: a card's keyed hash (made by the terminal's reader), a plate and its colour.
    card_hash: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    plate: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    plate_colour: Mapped[str | None] = mapped_column(String(16), default=None)
    status_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FaceTemplate(Base):
    """One face template, sealed at rest. The sealed bytes say which face model made it
    (hardware.face.templates.pack); 512 bare bytes are a dlib template from before model ids.
    (No model column: existing tables keep their shape, so every revision upgrades as it is.)"""
    __tablename__ = "face_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    signing_id: Mapped[int] = mapped_column(ForeignKey("signings.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    template_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FacePhoto(Base):
    """An enrolment photo kept by the signing desk, sealed like the templates (context
    "face_photos.photo"), so a new face model can make new templates without asking every
    diner to come back (`gatepay backend retemplate`). Deleted with the signing's templates
    when the signing is revoked; the consent text says the photos are kept."""
    __tablename__ = "face_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    signing_id: Mapped[int] = mapped_column(ForeignKey("signings.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    photo_sealed: Mapped[bytes] = mapped_column(LargeBinary, doc="the uploaded JPEG/PNG bytes, sealed")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FaceConfirmDigits(Base):
    """The keyed digest of a customer's last 4 phone digits for the close-call check
    (core.face_digits), never the digits. Made when a terminal first pulls the face signing and
    again when the phone changes (`phone_hash` is the customer's at the time); a table of its own
    so the signing and payment paths do not touch it."""
    __tablename__ = "face_confirm_digits"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
