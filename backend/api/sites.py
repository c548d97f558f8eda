"""Site endpoints: sites of a merchant, lanes, meal periods and offline limits.

Meal periods and offline limits go to the site's terminals through the change feed."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.orm import Session

from backend.api.merchants import HHMM, known_zone, visible_merchant
from backend.api.params import IdPath, Text
from backend.auth import OperatorPrincipal, ensure_visible, require_roles
from backend.deps import get_session
from backend.logging import log
from backend.models.merchants import LANE_DIRECTIONS, SITE_KINDS, Lane, Site
from backend.services import face_desk, sites as svc
from core.wire import MAX_AMOUNT_FEN, FaceConfirmData, MealPeriod, MealPeriodsData, OfflineLimits

router = APIRouter(prefix="/api/v1", tags=["sites"])
ANY_ROLE = require_roles("operator", "merchant_admin", "auditor")
MANAGERS = require_roles("operator", "merchant_admin")
OPERATOR = require_roles("operator")
MAX_PERIODS = 12


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class SiteIn(_Body):
    name: Text(200)
    kind: Literal[SITE_KINDS]  # type: ignore[valid-type]
    timezone: str | None = Field(default=None, max_length=64, description="defaults to the merchant's")

    _known_zone = field_validator("timezone")(lambda cls, v: v if v is None else known_zone(v))


class LaneIn(_Body):
    name: Text(100)
    direction: Literal[LANE_DIRECTIONS] = "both"  # type: ignore[valid-type]


class LaneOut(BaseModel):
    id: int
    site_id: int
    name: str
    direction: str


class SiteOut(BaseModel):
    id: int
    merchant_id: int
    name: str
    kind: str
    timezone: str
    created_at: datetime
    lanes: list[LaneOut] = []
    offline_limits: OfflineLimits

    @classmethod
    def of(cls, session: Session, site: Site) -> "SiteOut":
        return cls(id=site.id, merchant_id=site.merchant_id, name=site.name, kind=site.kind,
                   timezone=site.timezone, created_at=site.created_at,
                   lanes=[LaneOut.model_validate(lane, from_attributes=True) for lane in svc.lanes_of(session, site.id)],
                   offline_limits=svc.offline_limits_of(site))


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


class PeriodIn(_Body):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
    name_zh: Text(64)
    name_en: Text(64)
    start: str = Field(pattern=HHMM, description="local HH:MM, inclusive")
    end: str = Field(pattern=HHMM, description="local HH:MM, exclusive; before start = past midnight")
    price_fen: int | None = Field(default=None, ge=0, le=MAX_AMOUNT_FEN, description="None = keyed in at the window")
    max_meals: int = Field(default=1, ge=0, le=20, description="meals per diner per period; 0 = no limit")

    @model_validator(mode="after")
    def _not_empty(self) -> "PeriodIn":
        if self.start == self.end:
            raise ValueError(f"meal period {self.code!r} starts and ends at the same time")
        return self

    def spans(self) -> list[tuple[int, int]]:
        start, end = _minutes(self.start), _minutes(self.end)
        return [(start, end)] if start < end else [(start, 24 * 60), (0, end)]


class MealPeriodsIn(_Body):
    periods: list[PeriodIn] = Field(max_length=MAX_PERIODS)

    @model_validator(mode="after")
    def _distinct_and_apart(self) -> "MealPeriodsIn":
        codes = [p.code for p in self.periods]
        if len(set(codes)) != len(codes):
            raise ValueError("each meal period code may appear only once")
        for i, a in enumerate(self.periods):
            for b in self.periods[i + 1:]:
                if any(s1 < e2 and s2 < e1 for s1, e1 in a.spans() for s2, e2 in b.spans()):
                    raise ValueError(f"meal periods {a.code!r} and {b.code!r} overlap")
        return self


class OfflineLimitsIn(_Body):
    per_payment_fen: int = Field(ge=0, le=MAX_AMOUNT_FEN, description="largest single offline payment")
    per_customer_day_fen: int = Field(ge=0, le=10 * MAX_AMOUNT_FEN, description="offline total per diner per day")
    terminal_total_fen: int = Field(ge=0, le=100 * MAX_AMOUNT_FEN, description="offline payments outstanding on one terminal")
    max_cache_age_s: int = Field(ge=0, le=30 * 86_400, description="older cached data blocks offline approval")

    @model_validator(mode="after")
    def _consistent(self) -> "OfflineLimitsIn":
        if self.per_payment_fen > min(self.per_customer_day_fen, self.terminal_total_fen):
            raise ValueError("per_payment_fen must not exceed per_customer_day_fen or terminal_total_fen")
        return self


def _visible_site(session: Session, who: OperatorPrincipal, site_id: int) -> Site:
    site = svc.get_site(session, site_id)
    ensure_visible(who, site.merchant_id, "场所", "site")
    return site


@router.post("/merchants/{merchant_id}/sites", response_model=SiteOut, status_code=201)
def create_site(merchant_id: IdPath, body: SiteIn, who: OperatorPrincipal = Depends(MANAGERS),
                session: Session = Depends(get_session)) -> SiteOut:
    merchant = visible_merchant(session, who, merchant_id)
    site = svc.create_site(session, merchant, name=body.name, kind=body.kind, timezone=body.timezone)
    session.commit()
    log.info("site_created", site_id=site.id, merchant_id=merchant.id, operator_id=who.operator_id)
    return SiteOut.of(session, site)


@router.get("/merchants/{merchant_id}/sites", response_model=list[SiteOut])
def list_sites(merchant_id: IdPath, who: OperatorPrincipal = Depends(ANY_ROLE),
               session: Session = Depends(get_session)) -> list[SiteOut]:
    visible_merchant(session, who, merchant_id)
    return [SiteOut.of(session, s) for s in svc.sites_of(session, merchant_id)]


@router.get("/sites/{site_id}", response_model=SiteOut)
def get_site(site_id: IdPath, who: OperatorPrincipal = Depends(ANY_ROLE),
             session: Session = Depends(get_session)) -> SiteOut:
    return SiteOut.of(session, _visible_site(session, who, site_id))


@router.post("/sites/{site_id}/lanes", response_model=LaneOut, status_code=201)
def create_lane(site_id: IdPath, body: LaneIn, who: OperatorPrincipal = Depends(MANAGERS),
                session: Session = Depends(get_session)) -> LaneOut:
    lane: Lane = svc.create_lane(session, _visible_site(session, who, site_id), name=body.name,
                                 direction=body.direction)
    session.commit()
    log.info("lane_created", lane_id=lane.id, site_id=site_id, operator_id=who.operator_id)
    return LaneOut.model_validate(lane, from_attributes=True)


@router.get("/sites/{site_id}/meal-periods", response_model=MealPeriodsData)
def get_meal_periods(site_id: IdPath, who: OperatorPrincipal = Depends(ANY_ROLE),
                     session: Session = Depends(get_session)) -> MealPeriodsData:
    return svc.meal_periods_of(session, _visible_site(session, who, site_id))


@router.put("/sites/{site_id}/meal-periods", response_model=MealPeriodsData)
def put_meal_periods(site_id: IdPath, body: MealPeriodsIn, who: OperatorPrincipal = Depends(MANAGERS),
                     session: Session = Depends(get_session)) -> MealPeriodsData:
    """Replace the site's meal periods; its terminals get them on their next pull."""
    site = _visible_site(session, who, site_id)
    data = svc.set_meal_periods(session, site, [MealPeriod(**p.model_dump()) for p in body.periods])
    session.commit()
    log.info("meal_periods_set", site_id=site.id, codes=[p.code for p in body.periods], operator_id=who.operator_id)
    return data


@router.get("/sites/{site_id}/offline-limits", response_model=OfflineLimits)
def get_offline_limits(site_id: IdPath, who: OperatorPrincipal = Depends(ANY_ROLE),
                       session: Session = Depends(get_session)) -> OfflineLimits:
    return svc.offline_limits_of(_visible_site(session, who, site_id))


@router.put("/sites/{site_id}/offline-limits", response_model=OfflineLimits)
def put_offline_limits(site_id: IdPath, body: OfflineLimitsIn, who: OperatorPrincipal = Depends(OPERATOR),
                       session: Session = Depends(get_session)) -> OfflineLimits:
    """Set what the site's terminals may approve offline (the bank's risk limits: operators only)."""
    site = _visible_site(session, who, site_id)
    limits = svc.set_offline_limits(session, site, OfflineLimits(**body.model_dump()))
    session.commit()
    log.info("offline_limits_set", site_id=site.id, operator_id=who.operator_id, **body.model_dump())
    return limits


class FaceConfirmIn(_Body):
    enabled: bool = Field(description="ask for the last 4 phone digits on a close face call")
    band_pct: int = Field(ge=0, le=100, description="how much of the face model's confirm band is used")


@router.get("/sites/{site_id}/face-confirm", response_model=FaceConfirmData)
def get_face_confirm(site_id: IdPath, who: OperatorPrincipal = Depends(ANY_ROLE),
                     session: Session = Depends(get_session)) -> FaceConfirmData:
    return face_desk.face_confirm_of(_visible_site(session, who, site_id))


@router.put("/sites/{site_id}/face-confirm", response_model=FaceConfirmData)
def put_face_confirm(site_id: IdPath, body: FaceConfirmIn, who: OperatorPrincipal = Depends(OPERATOR),
                     session: Session = Depends(get_session)) -> FaceConfirmData:
    """The site's 4-digit check for close face calls (docs/FACE.md); the bank's risk setting."""
    site = _visible_site(session, who, site_id)
    data = face_desk.set_face_confirm(session, site, enabled=body.enabled, band_pct=body.band_pct)
    session.commit()
    log.info("face_confirm_set", site_id=site.id, operator_id=who.operator_id, **body.model_dump())
    return data
