"""Offers from habits (issue 17; docs/MARKETING.md "Offers"): after an approved online payment, a
coupon at the canteen and meal the diner uses most, shown by the kiosk after the payment.

Who gets one: a diner who has not opted out of marketing (customers.MarketingOptOut), holds no
unexpired unused offer coupon yet, and has a habit: one place (merchant, site) and meal period
used on at least MIN_HABIT_DAYS different business days in the last HABIT_WEEKS weeks. The coupon
is of a habit-offer campaign (models/offers.HabitOfferCampaign: a coupon campaign an operator
chose) that is active, has budget left and applies at that place; it is usable from now until
that meal ends tomorrow ("下次午餐立减 2.00 元 · 一食堂").

Idempotent with the payment: the coupon's issue_ref is "offer:<payment id>" (unique), and the
offer is part of the payment's stored answer, so a repeat of the payment gets the same offer.

An offer never fails or holds up a payment: everything here runs in a SAVEPOINT and any error
means no offer (logged), the payment books as if offers did not exist. When no habit-offer
campaign is active it costs one small query.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session

from backend.errors import api_error
from backend.logging import log
from backend.models.campaigns import Campaign, Coupon
from backend.models.customers import MarketingOptOut
from backend.models.merchants import MealPeriodRow, Merchant, Site
from backend.models.offers import HabitOfferCampaign
from backend.models.payments import Payment
from backend.services.campaigns import USABLE_COUPON, terms_of
from core.campaigns import Place, applies
from core.wire import Offer, PaymentResult

HABIT_WEEKS = 4
MIN_HABIT_DAYS = 3          # one meal at one canteen on 3 different days in 4 weeks: a habit
OFFER_SOURCE = "offer"      # coupons.source of the coupons given here

_C, _H, _K = Campaign.__table__.c, HabitOfferCampaign.__table__.c, Coupon.__table__.c
_OPTED_OUT = select(MarketingOptOut.customer_id).where(MarketingOptOut.customer_id == bindparam("customer_id"))
_HOLDS_OFFER = select(_K.id).where(_K.customer_id == bindparam("customer_id"), _K.source == OFFER_SOURCE,
                                   _K.status.in_(USABLE_COUPON),
                                   _K.expires_at > bindparam("now", type_=_K.expires_at.type))
# The first question of every approved payment, in one round trip: the open habit-offer campaigns,
# none when the payer opted out or already holds an unused offer (rows, not ORM objects).
_OFFER_CAMPAIGNS = (select(Campaign.__table__).join(HabitOfferCampaign.__table__, _H.campaign_id == _C.id)
                    .where(_C.status == "active", _C.mode == "coupon", _C.spent_fen < _C.budget_fen,
                           ~_OPTED_OUT.exists(), ~_HOLDS_OFFER.exists())
                    .order_by(_C.id))
_P = Payment.__table__.c
_DAYS = func.count(func.distinct(_P.business_date))
# The customer's places and meals by the days they paid there: GROUP BY in the database, on the
# (customer_id, business_date) index every payment already uses for its daily limits; the top one
# joined to its merchant, site and meal period, so the habit and its words are one round trip.
_TOP_HABIT = (select(_P.merchant_id, _P.site_id, _P.meal_period, _DAYS.label("days"))
              .where(_P.customer_id == bindparam("customer_id"), _P.business_date >= bindparam("since"),
                     _P.status == "approved", _P.meal_period.is_not(None))
              .group_by(_P.merchant_id, _P.site_id, _P.meal_period)
              .having(_DAYS >= MIN_HABIT_DAYS)
              .order_by(_DAYS.desc(), _P.merchant_id, _P.site_id, _P.meal_period).limit(1).subquery())
_M, _S, _MP = Merchant.__table__.c, Site.__table__.c, MealPeriodRow.__table__.c
_HABIT = (select(_TOP_HABIT, _M.kind, _M.timezone, _M.name.label("merchant_name"), _S.name.label("site_name"),
                 _MP.name_zh, _MP.name_en, _MP.start, _MP.end)
          .select_from(_TOP_HABIT.join(Merchant.__table__, _M.id == _TOP_HABIT.c.merchant_id)
                       .outerjoin(Site.__table__, _S.id == _TOP_HABIT.c.site_id)
                       .outerjoin(MealPeriodRow.__table__, and_(_MP.site_id == _TOP_HABIT.c.site_id,
                                                                _MP.code == _TOP_HABIT.c.meal_period))))


@dataclass(frozen=True)
class Habit:
    merchant_id: int
    site_id: int | None
    meal_period: str
    days: int
    scene: str                  # the merchant's kind
    timezone: str
    place_name: str             # the site's name, else the merchant's
    meal_zh: str
    meal_en: str
    meal_span: tuple[str, str] | None     # the site's meal period (start, end), if it defines it


def attach(session: Session, result: PaymentResult, payment: Payment, now: datetime) -> PaymentResult:
    """The payment's answer with an offer from the payer's habits, when there is one. Called by the
    booking path (services/payments.pay) before the answer is stored. Never raises."""
    if payment.status != "approved" or payment.offline or payment.customer_id is None:
        return result
    try:
        with session.begin_nested():
            offer = _offer(session, payment, now)
    except Exception:  # noqa: BLE001 - an offer must never fail a payment: no offer, logged
        log.warning("habit_offer_failed", payment_id=payment.payment_uuid, exc_info=True)
        return result
    if offer is not None:
        log.info("habit_offer_given", payment_id=payment.payment_uuid, coupon_id=offer.coupon_id,
                 campaign_id=offer.campaign_id)
    return result if offer is None else result.model_copy(update={"offer": offer})


def _offer(session: Session, payment: Payment, now: datetime) -> Offer | None:
    campaigns = session.execute(_OFFER_CAMPAIGNS, {"customer_id": payment.customer_id, "now": now}).all()
    if not campaigns:
        return None
    habit = habit_of(session, payment.customer_id, payment.business_date)
    if habit is None:
        return None
    place = Place(habit.merchant_id, habit.site_id, habit.scene, payment.method)
    campaign = next((c for c in campaigns if applies(terms_of(c), place, now)), None)
    if campaign is None:
        return None
    expires_at = _end_of_meal_tomorrow(habit.timezone, habit.meal_span, now)
    if campaign.ends_at is not None:
        expires_at = min(expires_at, campaign.ends_at)
    if expires_at <= now:
        return None
    coupon = Coupon(campaign_id=campaign.id, customer_id=payment.customer_id, expires_at=expires_at,
                    source=OFFER_SOURCE, issue_ref=f"offer:{payment.payment_uuid}", status="issued", created_at=now)
    session.add(coupon)
    session.flush()
    zh, en = _titles(campaign, habit)
    return Offer(coupon_id=coupon.id, campaign_id=campaign.id, title_zh=zh, title_en=en, expires_at=expires_at)


def habit_of(session: Session, customer_id: int, business_date: str) -> Habit | None:
    """The place and meal the customer paid at on the most days in the HABIT_WEEKS weeks up to
    this business day (ties: the lowest merchant, site, meal code), if on MIN_HABIT_DAYS days."""
    since = (date.fromisoformat(business_date) - timedelta(weeks=HABIT_WEEKS)).isoformat()
    row = session.execute(_HABIT, {"customer_id": customer_id, "since": since}).first()
    if row is None:
        return None
    return Habit(row.merchant_id, row.site_id, row.meal_period, int(row.days), row.kind, row.timezone,
                 row.site_name or row.merchant_name, row.name_zh or row.meal_period, row.name_en or row.meal_period,
                 (row.start, row.end) if row.start else None)


def _end_of_meal_tomorrow(zone: str, meal_span: tuple[str, str] | None, now: datetime) -> datetime:
    """Tomorrow at the end of the meal period, in the merchant's time zone (the end of tomorrow
    when the site does not define the meal)."""
    tz = ZoneInfo(zone or "Asia/Shanghai")
    tomorrow = now.astimezone(tz).date() + timedelta(days=1)
    if meal_span is None:
        return datetime.combine(tomorrow + timedelta(days=1), time(0, 0), tz)
    start, end = meal_span
    hours, minutes = (int(x) for x in end.split(":"))
    past_midnight = end <= start                    # a late meal 21:00-01:00 ends the day after
    return datetime.combine(tomorrow + timedelta(days=int(past_midnight)), time(hours, minutes), tz)


def _yuan(fen: int | None) -> str:
    fen = fen or 0
    return f"{fen // 100}.{fen % 100:02d}"


def _what(campaign) -> tuple[str, str]:  # noqa: ANN001 - a row of campaigns
    """The discount in words (zh, en)."""
    if campaign.kind == "fixed":
        return f"立减 {_yuan(campaign.amount_fen)} 元", f"{_yuan(campaign.amount_fen)} yuan off"
    if campaign.kind == "random":
        return f"随机立减最高 {_yuan(campaign.max_fen)} 元", f"up to {_yuan(campaign.max_fen)} yuan off"
    if campaign.kind == "percent":
        pays = 100 - (campaign.percent_off or 0)           # 88折 pays 88%: "8.8 折"
        zh = f"{pays // 10}.{pays % 10} 折" if pays % 10 else f"{pays // 10} 折"
        return (f"{zh}（最多减 {_yuan(campaign.cap_fen)} 元）",
                f"{campaign.percent_off}% off (up to {_yuan(campaign.cap_fen)} yuan)")
    return (f"满 {_yuan(campaign.threshold_fen)} 减 {_yuan(campaign.amount_fen)} 元",
            f"{_yuan(campaign.amount_fen)} yuan off {_yuan(campaign.threshold_fen)}")


def _titles(campaign, habit: Habit) -> tuple[str, str]:  # noqa: ANN001 - a row of campaigns
    what_zh, what_en = _what(campaign)
    # "Next", not "tomorrow": the coupon is usable from now until that meal ends tomorrow.
    return (f"下次{habit.meal_zh}{what_zh} · {habit.place_name}"[:100],
            f"Next {habit.meal_en}: {what_en} · {habit.place_name}"[:100])


# --- opting out, and choosing the campaigns (operators; audited by the API's log lines) ---------

def opted_out(session: Session, customer_id: int) -> bool:
    return session.get(MarketingOptOut, customer_id) is not None


def set_opted_out(session: Session, customer_id: int, out: bool, now: datetime) -> bool:
    """Opt the customer out of marketing (or back in). Idempotent; returns whether it changed."""
    row = session.get(MarketingOptOut, customer_id)
    if out and row is None:
        session.add(MarketingOptOut(customer_id=customer_id, opted_out_at=now))
    elif not out and row is not None:
        session.delete(row)
    else:
        return False
    session.flush()
    return True


def habit_campaign_ids(session: Session) -> set[int]:
    return set(session.scalars(select(HabitOfferCampaign.campaign_id)))


def set_habit_offer(session: Session, campaign: Campaign, on: bool, operator_id: int | None, now: datetime) -> bool:
    """Make a coupon campaign give offers from habits (or stop). Returns whether it changed."""
    if on and campaign.mode != "coupon":
        raise api_error(409, "not_a_coupon_campaign", "只有发券活动可以用作习惯优惠",
                        "Only a coupon campaign can give offers from habits")
    row = session.get(HabitOfferCampaign, campaign.id)
    if on and row is None:
        session.add(HabitOfferCampaign(campaign_id=campaign.id, chosen_by=operator_id, chosen_at=now))
    elif not on and row is not None:
        session.delete(row)
    else:
        return False
    session.flush()
    return True
