"""The admin web page's server-side state: its login sessions and its failed logins.

Both live in the database, so every worker process of the backend sees the same sessions (a
logout in one revokes the cookie in all) and counts the same failed logins (a guesser cannot
spread attempts over workers).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base


class AdminSession(Base):
    __tablename__ = "admin_sessions"
    __table_args__ = (Index("ix_admin_sessions_expires_at", "expires_at"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True,
                                         doc="keyed hash of the cookie; the cookie itself is not stored")
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"))
    token_hash: Mapped[str] = mapped_column(String(64), doc="the operator's token at login: a new token ends it")
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None, doc="set by logout")


class AdminLoginFailure(Base):
    __tablename__ = "admin_login_failures"
    __table_args__ = (Index("ix_admin_login_failures_client_at", "client", "at"),
                      Index("ix_admin_login_failures_at", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client: Mapped[str] = mapped_column(String(64), doc="the address the attempt came from")
    at: Mapped[datetime] = mapped_column()
