"""Demo organisation data: a school canteen and a car park, each approved with a site, lanes,
meal periods, fees, operators and a one-time enrolment code per terminal, and one bank-funded
instant campaign at the canteen (a campus card pays 1 yuan less, once a day).

Idempotent: seeding a database that already holds the demo merchants changes nothing and
returns None (tokens and codes exist only as hashes, so they cannot be shown again).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models.merchants import Merchant
from backend.services import campaign_admin, merchants, sites
from backend.services.operators import create_operator
from backend.services.terminals import create_enrolment_code
from core.wire import MealPeriod

CANTEEN_NAME = "示范中学食堂 Demo school canteen"
PARKING_NAME = "示范停车场 Demo car park"
CARD_CAMPAIGN = "刷卡立减1元 Card pays 1 yuan less"

MEALS = [
    MealPeriod(code="breakfast", name_zh="早餐", name_en="Breakfast", start="06:30", end="09:00", price_fen=300),
    MealPeriod(code="lunch", name_zh="午餐", name_en="Lunch", start="11:00", end="13:30", price_fen=800),
    MealPeriod(code="dinner", name_zh="晚餐", name_en="Dinner", start="17:00", end="19:30", price_fen=700),
]


@dataclass
class DemoOrg:
    canteen: dict[str, int] = field(default_factory=dict)
    parking: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)            # role -> bearer token (shown once)
    enrolment_codes: dict[str, str] = field(default_factory=dict)   # terminal name -> code (shown once)


def _merchant(session: Session, name: str, kind: str, now: datetime) -> Merchant:
    merchant = merchants.apply_merchant(session, name=name, kind=kind, settlement_account_no="6228480012345678",
                                        settlement_bank_name="示范农商银行 Demo rural bank")
    merchants.approve(session, merchant, now=now)
    merchants.set_fees(session, merchant, [
        merchants.FeeRule("face", 30, 1, 500), merchants.FeeRule("card", 30, 1, 500),
        merchants.FeeRule("paycode", 38, 1, 1000), merchants.FeeRule("plate", 30, 1, 1000),
        merchants.FeeRule("bank_transfer", 0, 0, 0, fee_free=True)])
    return merchant


def _card_campaign(session: Session, canteen_id: int):  # noqa: ANN202
    """The bank's instant campaign at the canteen: 1.00 off a card payment, once per diner a day,
    out of a 200.00 budget (docs/MARKETING.md)."""
    return campaign_admin.create_campaign(session, {
        "name": CARD_CAMPAIGN, "funder_kind": "bank", "kind": "fixed", "mode": "instant", "amount_fen": 100,
        "merchant_ids": [canteen_id], "scenes": ["canteen"], "methods": ["card"],
        "per_customer_daily_limit": 1, "budget_fen": 20_000, "status": "active"}, None)


def seed_demo_org(session: Session, hash_key: bytes, now: datetime) -> DemoOrg | None:
    """Create the demo organisation (flushed; the caller commits). None when already seeded."""
    if session.scalar(select(Merchant.id).where(Merchant.name == CANTEEN_NAME)) is not None:
        return None
    demo = DemoOrg()
    canteen = _merchant(session, CANTEEN_NAME, "canteen", now)
    hall = sites.create_site(session, canteen, name="一号餐厅 Hall 1", kind="canteen")
    window = sites.create_lane(session, hall, name="1号窗口 Window 1", direction="both")
    sites.set_meal_periods(session, hall, MEALS)
    demo.canteen = {"merchant_id": canteen.id, "site_id": hall.id, "lane_id": window.id,
                    "campaign_id": _card_campaign(session, canteen.id).id}

    parking = _merchant(session, PARKING_NAME, "parking", now)
    lot = sites.create_site(session, parking, name="东区停车场 East car park", kind="car_park")
    entry = sites.create_lane(session, lot, name="东门入口 East entry", direction="entry")
    exit_ = sites.create_lane(session, lot, name="东门出口 East exit", direction="exit")
    demo.parking = {"merchant_id": parking.id, "site_id": lot.id, "entry_lane_id": entry.id, "exit_lane_id": exit_.id}

    for role, merchant_id in (("operator", None), ("auditor", None), ("merchant_admin", canteen.id)):
        demo.tokens[role] = create_operator(session, hash_key, name=f"demo {role}", role=role,
                                            merchant_id=merchant_id).token
    for name, site, lane in (("canteen window 1", hall, window.id), ("car park east exit", lot, exit_.id)):
        demo.enrolment_codes[name] = create_enrolment_code(session, hash_key, site=site, lane_id=lane, name=name,
                                                           valid_hours=168, now=now).code
    return demo
