"""Sites (a canteen, a car park), their lanes, meal periods and offline limits.

Meal periods and offline limits are what terminals decide with, so every change to them is
also recorded on the change feed (kinds `meal_periods` and `offline_limits`, keyed by site id).
"""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.errors import api_error, get_or_404
from backend.models.merchants import Lane, MealPeriodRow, Merchant, Site
from backend.services.changes import record_change
from core.wire import FaceConfirmData, MealPeriod, MealPeriodsData, OfflineLimits


def get_site(session: Session, site_id: int) -> Site:
    return get_or_404(session, Site, site_id, "site_not_found", "场所", "Site")


def get_lane(session: Session, lane_id: int) -> Lane:
    return get_or_404(session, Lane, lane_id, "lane_not_found", "通道", "Lane")


def create_site(session: Session, merchant: Merchant, *, name: str, kind: str,
                timezone: str | None = None) -> Site:
    expected = "canteen" if merchant.kind == "canteen" else "car_park"
    if kind != expected:
        raise api_error(422, "site_kind_mismatch",
                        f"{'食堂' if merchant.kind == 'canteen' else '停车场'}商户只能添加「{expected}」类场所",
                        f"A {merchant.kind} merchant can only have {expected} sites")
    site = Site(merchant_id=merchant.id, name=name, kind=kind, timezone=timezone or merchant.timezone)
    session.add(site)
    session.flush()
    record_change(session, "offline_limits", site.id, offline_limits_of(site).model_dump(mode="json"),
                  merchant_id=merchant.id, site_id=site.id)
    # Terminals learn the 4-digit check (on, the whole band: no row needed) and get its key at pull.
    record_change(session, "face_confirm", site.id, FaceConfirmData(site_id=site.id).model_dump(
        mode="json", exclude={"digits_key"}), merchant_id=merchant.id, site_id=site.id)
    return site


def sites_of(session: Session, merchant_id: int) -> list[Site]:
    return list(session.scalars(select(Site).where(Site.merchant_id == merchant_id).order_by(Site.id)).all())


def create_lane(session: Session, site: Site, *, name: str, direction: str) -> Lane:
    lane = Lane(site_id=site.id, name=name, direction=direction)
    session.add(lane)
    session.flush()
    return lane


def lanes_of(session: Session, site_id: int) -> list[Lane]:
    return list(session.scalars(select(Lane).where(Lane.site_id == site_id).order_by(Lane.id)).all())


def meal_periods_of(session: Session, site: Site) -> MealPeriodsData:
    rows = session.scalars(select(MealPeriodRow).where(MealPeriodRow.site_id == site.id)
                           .order_by(MealPeriodRow.position)).all()
    return MealPeriodsData(site_id=site.id, timezone=site.timezone, periods=[
        MealPeriod(code=r.code, name_zh=r.name_zh, name_en=r.name_en, start=r.start, end=r.end,
                   price_fen=r.price_fen, max_meals=r.max_meals) for r in rows])


def set_meal_periods(session: Session, site: Site, periods: list[MealPeriod]) -> MealPeriodsData:
    """Replace the site's meal periods (validated by the caller) and tell its terminals."""
    session.execute(delete(MealPeriodRow).where(MealPeriodRow.site_id == site.id))
    session.add_all([MealPeriodRow(site_id=site.id, position=i, **p.model_dump()) for i, p in enumerate(periods)])
    session.flush()
    data = MealPeriodsData(site_id=site.id, timezone=site.timezone, periods=list(periods))
    record_change(session, "meal_periods", site.id, data.model_dump(mode="json"),
                  merchant_id=site.merchant_id, site_id=site.id)
    return data


def offline_limits_of(site: Site) -> OfflineLimits:
    return OfflineLimits(per_payment_fen=site.offline_per_payment_fen,
                         per_customer_day_fen=site.offline_per_customer_day_fen,
                         terminal_total_fen=site.offline_terminal_total_fen,
                         max_cache_age_s=site.offline_max_cache_age_s)


def set_offline_limits(session: Session, site: Site, limits: OfflineLimits) -> OfflineLimits:
    site.offline_per_payment_fen = limits.per_payment_fen
    site.offline_per_customer_day_fen = limits.per_customer_day_fen
    site.offline_terminal_total_fen = limits.terminal_total_fen
    site.offline_max_cache_age_s = limits.max_cache_age_s
    session.flush()
    record_change(session, "offline_limits", site.id, limits.model_dump(mode="json"),
                  merchant_id=site.merchant_id, site_id=site.id)
    return limits
