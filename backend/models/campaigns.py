"""Marketing campaigns (营销活动), their coupons, and one use row per discounted payment.

A campaign's rule is in core.campaigns (kind and amounts); where it applies is JSON lists of ids,
scenes and methods (empty = any). `spent_fen` is what its discounts cost so far, net of refunds;
the budget is never exceeded (the row is locked while a payment decides). `mode` says how a payer
gets it: `instant` applies by itself at payment, `coupon` only through a coupon issued or claimed.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, fen_column, utcnow

CAMPAIGN_STATUSES = ("draft", "active", "paused", "ended")
COUPON_STATUSES = ("issued", "used", "expired", "restored")
USE_STATUSES = ("applied", "returned")     # returned: the payment was refunded in full


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(_in("status", CAMPAIGN_STATUSES), name="status"),
        CheckConstraint(_in("kind", ("fixed", "random", "percent", "threshold")), name="kind"),
        CheckConstraint(_in("mode", ("instant", "coupon")), name="mode"),
        CheckConstraint(_in("funder_kind", ("bank", "merchant")), name="funder_kind"),
        CheckConstraint("spent_fen >= 0 AND spent_fen <= budget_fen", name="within_budget"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    funder_kind: Mapped[str] = mapped_column(String(16), doc="bank | merchant")
    funder_merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchants.id"), default=None, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16), default="instant")
    amount_fen: Mapped[int | None] = fen_column(nullable=True, default=None)
    min_fen: Mapped[int | None] = fen_column(nullable=True, default=None)
    max_fen: Mapped[int | None] = fen_column(nullable=True, default=None)
    percent_off: Mapped[int | None] = mapped_column(Integer, default=None)
    cap_fen: Mapped[int | None] = fen_column(nullable=True, default=None)
    threshold_fen: Mapped[int | None] = fen_column(nullable=True, default=None)
    merchant_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    site_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    scenes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    methods: Mapped[list[Any]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime | None] = mapped_column(default=None)
    ends_at: Mapped[datetime | None] = mapped_column(default=None)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer, default=None, doc="uses per customer, ever")
    per_customer_daily_limit: Mapped[int | None] = mapped_column(Integer, default=None, doc="uses per customer a day")
    budget_fen: Mapped[int] = fen_column()
    spent_fen: Mapped[int] = fen_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Coupon(Base):
    """One coupon of a coupon campaign, held by one customer; used once."""
    __tablename__ = "coupons"
    __table_args__ = (CheckConstraint(_in("status", COUPON_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="issued")
    expires_at: Mapped[datetime] = mapped_column()
    source: Mapped[str] = mapped_column(String(16), default="issued", doc="issued | claimed")
    issue_ref: Mapped[str | None] = mapped_column(String(64), default=None, unique=True,
                                                  doc="the issuing request's id + customer: issued once")
    used_payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignUse(Base):
    """The discount one payment got: unique per payment, so the discount is as idempotent as it."""
    __tablename__ = "campaign_uses"
    __table_args__ = (CheckConstraint(_in("status", USE_STATUSES), name="status"),
                      CheckConstraint("discount_fen > 0", name="discount_positive"),
                      CheckConstraint("returned_fen >= 0 AND returned_fen <= discount_fen", name="returned"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"), default=None)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    business_date: Mapped[str] = mapped_column(String(10))
    price_fen: Mapped[int] = fen_column()
    discount_fen: Mapped[int] = fen_column()
    returned_fen: Mapped[int] = fen_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="applied")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


SLICE_STATUSES = ("open", "closed")


class OfflineCampaign(Base):
    """An instant campaign its funder lets terminals give offline (issue 17), and how big each
    terminal's budget slice is: `share_pct` of the budget, at most `cap_fen`. Without a row a
    campaign is online only. A table of its own, so the campaigns row keeps its shape."""
    __tablename__ = "offline_campaigns"
    __table_args__ = (CheckConstraint("share_pct >= 1 AND share_pct <= 100", name="share_pct"),
                      CheckConstraint("cap_fen >= 1", name="cap_fen"))

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    share_pct: Mapped[int] = mapped_column(Integer)
    cap_fen: Mapped[int] = fen_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignSlice(Base):
    """A terminal's budget slice of an instant campaign (issue 17): money reserved out of the
    campaign's budget (counted in its `spent_fen` when granted) that the terminal may give away
    offline. `granted_fen` only grows while the slice is open (top-ups) and is cut back to
    `used_fen` when it closes (the rest goes back to the budget); `used_fen` is what the pushed
    offline discounts took from it. A terminal has at most one open slice per campaign."""
    __tablename__ = "campaign_slices"
    __table_args__ = (
        CheckConstraint(_in("status", SLICE_STATUSES), name="status"),
        CheckConstraint("used_fen >= 0 AND used_fen <= granted_fen", name="within_grant"),
        Index("uq_campaign_slices_open", "campaign_id", "terminal_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    granted_fen: Mapped[int] = fen_column(default=0)
    used_fen: Mapped[int] = fen_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
