"""Offers from habits (issue 17; docs/MARKETING.md "Offers"): which coupon campaigns give them.

A row marks a coupon-mode campaign as a habit-offer campaign: after an approved online payment, a
diner who has a habit at a place the campaign applies to (and has not opted out of marketing) is
given one of its coupons (services/offers.py). A table of its own, not a column of campaigns, so
the campaign row every payment reads keeps its shape (and a database one revision behind still
books payments while it is upgraded).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, utcnow


class HabitOfferCampaign(Base):
    __tablename__ = "habit_offer_campaigns"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    chosen_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), default=None)
    chosen_at: Mapped[datetime] = mapped_column(default=utcnow)
