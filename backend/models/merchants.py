"""Merchants (a canteen or a parking operator), their fees, sites, meal periods and lanes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, fen_column, utcnow

MERCHANT_KINDS = ("canteen", "parking")
MERCHANT_STATUSES = ("applied", "approved", "suspended")
SITE_KINDS = ("canteen", "car_park")
LANE_DIRECTIONS = ("entry", "exit", "both")
# Methods a fee can be set for: the terminal's four, plus channels the settlement side books.
FEE_METHODS = ("face", "card", "paycode", "plate", "bank_transfer", "wechat", "alipay")

# Offline limits a new site starts with (the bank tightens or loosens them per site).
DEFAULT_OFFLINE_PER_PAYMENT_FEN = 5_000          # 50 yuan
DEFAULT_OFFLINE_PER_CUSTOMER_DAY_FEN = 10_000    # 100 yuan
DEFAULT_OFFLINE_TERMINAL_TOTAL_FEN = 500_000     # 5,000 yuan outstanding per terminal
DEFAULT_OFFLINE_MAX_CACHE_AGE_S = 24 * 3600


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Merchant(Base):
    __tablename__ = "merchants"
    __table_args__ = (
        CheckConstraint(_in("kind", MERCHANT_KINDS), name="kind"),
        CheckConstraint(_in("status", MERCHANT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="applied")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # Local time ("HH:MM") at which one business day ends and the next begins.
    business_day_cutoff: Mapped[str] = mapped_column(String(5), default="00:00")
    settlement_account_no: Mapped[str | None] = mapped_column(String(40), default=None)
    settlement_bank_name: Mapped[str | None] = mapped_column(String(100), default=None)
    status_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    suspended_at: Mapped[datetime | None] = mapped_column(default=None)


class MerchantFee(Base):
    __tablename__ = "merchant_fees"
    __table_args__ = (
        UniqueConstraint("merchant_id", "method", name="uq_merchant_fees_merchant_method"),
        CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name="rate_bp"),
        CheckConstraint("min_fen >= 0 AND max_fen >= min_fen", name="min_max"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    method: Mapped[str] = mapped_column(String(32))
    rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    min_fen: Mapped[int] = fen_column(default=0)
    max_fen: Mapped[int] = fen_column(default=0)
    fee_free: Mapped[bool] = mapped_column(Boolean, default=False)


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = (CheckConstraint(_in("kind", SITE_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    offline_per_payment_fen: Mapped[int] = fen_column(default=DEFAULT_OFFLINE_PER_PAYMENT_FEN)
    offline_per_customer_day_fen: Mapped[int] = fen_column(default=DEFAULT_OFFLINE_PER_CUSTOMER_DAY_FEN)
    offline_terminal_total_fen: Mapped[int] = fen_column(default=DEFAULT_OFFLINE_TERMINAL_TOTAL_FEN)
    offline_max_cache_age_s: Mapped[int] = mapped_column(Integer, default=DEFAULT_OFFLINE_MAX_CACHE_AGE_S)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SiteFaceConfirm(Base):
    """A site's 4-digit check for close face calls (core.wire.FaceConfirmData): on/off and how
    much of the face model's confirm band is used, in percent. No row: on, 100%."""
    __tablename__ = "site_face_confirm"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    band_pct: Mapped[int] = mapped_column(Integer, default=100)


class MealPeriodRow(Base):
    """One meal period of a site; mirrors core.wire.MealPeriod field for field."""
    __tablename__ = "meal_periods"
    __table_args__ = (UniqueConstraint("site_id", "code", name="uq_meal_periods_site_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    start: Mapped[str] = mapped_column(String(5))
    end: Mapped[str] = mapped_column(String(5))
    price_fen: Mapped[int | None] = fen_column(nullable=True, default=None)
    max_meals: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Lane(Base):
    __tablename__ = "lanes"
    __table_args__ = (CheckConstraint(_in("direction", LANE_DIRECTIONS), name="direction"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    direction: Mapped[str] = mapped_column(String(8), default="both")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
