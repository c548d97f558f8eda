"""Campaigns and coupons (issue 17; docs/MARKETING.md).

Roles: a bank operator runs bank-funded campaigns (anywhere); a merchant admin runs campaigns its
own merchant funds, which apply only at that merchant; an auditor reads. A merchant admin sees and
changes only its own merchant's campaigns. Every change is on record (a log line with the
operator's id, like the other operator actions).

    PUT/DELETE /api/v1/campaigns/{id}/offline   let an instant campaign out offline (budget slices
                                                 for terminals, docs/MARKETING.md) or stop it
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, Strict

from backend.api.params import IdField, IdPath, Text
from backend.auth import OperatorPrincipal, require_roles
from backend.deps import get_session, request_now
from backend.errors import api_error
from backend.logging import log
from backend.services import campaign_admin as svc
from backend.models.campaigns import Campaign
from backend.services.campaign_slices import MAX_SLICE_CAP_FEN, offline_sizing
from core.wire import MAX_AMOUNT_FEN, PaymentMethod, Scene
from sqlalchemy.orm import Session

router = APIRouter(prefix="/api/v1", tags=["campaigns"])
MANAGERS = require_roles("operator", "merchant_admin")
READERS = require_roles("operator", "merchant_admin", "auditor")
MAX_BUDGET_FEN = 1000 * MAX_AMOUNT_FEN          # 10,000,000 yuan


def Whole(low: int, high: int):  # noqa: ANN201, N802 - reads like a type
    """A whole number in [low, high]: true/false, 1.0 or "12" are refused, not read as numbers."""
    return Annotated[int, Strict(), Field(ge=low, le=high)]


Fen = Whole(1, MAX_AMOUNT_FEN)
CLAIM_VALID = timedelta(days=30)                # a claimed coupon of a campaign with no end date


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text(100)
    kind: Literal["fixed", "random", "percent", "threshold"] = Field(
        description="fixed 固定立减 | random 随机立减 | percent 打折 | threshold 满减")
    mode: Literal["instant", "coupon"] = Field("instant", description="applies by itself | only with a coupon")
    funder_kind: Literal["bank", "merchant"] = "bank"
    funder_merchant_id: IdField | None = Field(None, description="the funding merchant (funder_kind merchant)")
    amount_fen: Fen | None = None
    min_fen: Fen | None = None
    max_fen: Fen | None = None
    percent_off: Whole(1, 99) | None = Field(None, description="88折 = 12")
    cap_fen: Fen | None = None
    threshold_fen: Fen | None = None
    merchant_ids: list[IdField] = Field(default=[], max_length=200, description="empty = any")
    site_ids: list[IdField] = Field(default=[], max_length=200, description="empty = any")
    scenes: list[Scene] = Field(default=[], max_length=2, description="canteen | parking; empty = any")
    methods: list[PaymentMethod] = Field(default=[], max_length=4, description="face | card | paycode | plate")
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    per_customer_limit: Whole(1, 10_000) | None = None
    per_customer_daily_limit: Whole(1, 100) | None = None
    budget_fen: Whole(1, MAX_BUDGET_FEN)
    status: Literal["draft", "active"] = "draft"


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["active", "paused", "ended"]


class IssueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    issue_id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:-]+$",
                          description="the idempotency key of this issue")
    customer_ids: list[IdField] = Field(default=[], max_length=svc.MAX_COUPONS_PER_ISSUE)
    group_id: IdField | None = None
    expires_at: AwareDatetime


class OfflineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    share_pct: Whole(1, 100) = Field(description="each terminal's slice: this share of the budget ...")
    cap_fen: Whole(1, MAX_SLICE_CAP_FEN) = Field(description="... but at most this many fen")


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: IdField


def own_terms(body: CampaignIn, who: OperatorPrincipal) -> dict:
    """Who funds it and where it may apply, by the caller's role."""
    fields = body.model_dump()
    if who.role == "merchant_admin":
        if body.funder_kind != "merchant" or body.funder_merchant_id not in (None, who.merchant_id):
            raise api_error(403, "campaign_not_yours", "商户管理员只能建本商户出资的活动",
                            "A merchant admin may only create campaigns its own merchant funds")
        if any(m != who.merchant_id for m in body.merchant_ids):
            raise api_error(403, "campaign_not_yours", "商户活动只能用于本商户", "A merchant's campaign applies only at it")
        fields.update(funder_merchant_id=who.merchant_id, merchant_ids=[who.merchant_id])
    elif body.funder_kind == "merchant" and body.funder_merchant_id is None:
        raise api_error(422, "funder_merchant_missing", "商户出资的活动须给出出资商户",
                        "A merchant-funded campaign needs funder_merchant_id")
    elif body.funder_kind == "bank":
        fields["funder_merchant_id"] = None
    return fields


@router.post("/campaigns", status_code=201)
def create_campaign(body: CampaignIn, session: Session = Depends(get_session),
                    who: OperatorPrincipal = Depends(MANAGERS)) -> dict:
    campaign = svc.create_campaign(session, own_terms(body, who), who.operator_id)
    session.commit()
    log.info("campaign_created", campaign_id=campaign.id, operator_id=who.operator_id)
    return svc.campaign_view(session, campaign)


@router.get("/campaigns")
def list_campaigns(session: Session = Depends(get_session), who: OperatorPrincipal = Depends(READERS)) -> list[dict]:
    merchant_id = who.merchant_id if who.role == "merchant_admin" else None
    return [svc.campaign_view(session, c) for c in svc.list_campaigns(session, merchant_id)]


@router.get("/campaigns/{campaign_id}")
def get_campaign(campaign_id: IdPath, session: Session = Depends(get_session),
                 who: OperatorPrincipal = Depends(READERS)) -> dict:
    return svc.campaign_view(session, svc.get_campaign(session, campaign_id, who.can_see))


@router.post("/campaigns/{campaign_id}/status")
def set_status(campaign_id: IdPath, body: StatusIn, session: Session = Depends(get_session),
               who: OperatorPrincipal = Depends(MANAGERS)) -> dict:
    """Activate, pause (payments stop getting it at once) or end a campaign."""
    campaign = svc.set_status(session, svc.get_campaign(session, campaign_id, who.can_see), body.status)
    session.commit()
    log.info("campaign_status", campaign_id=campaign.id, status=body.status, operator_id=who.operator_id)
    return svc.campaign_view(session, campaign)


def _scope(who: OperatorPrincipal) -> int | None:
    """A merchant's admin reaches only customers who can pay at its merchant."""
    return who.merchant_id if who.role == "merchant_admin" else None


@router.post("/campaigns/{campaign_id}/coupons", status_code=201)
def issue_coupons(campaign_id: IdPath, body: IssueIn, request: Request, session: Session = Depends(get_session),
                  who: OperatorPrincipal = Depends(MANAGERS)) -> dict:
    """Issue one coupon to each listed customer and/or each active member of a group; customers
    who opted out of marketing get none and are counted in skipped_opted_out."""
    campaign = svc.get_campaign(session, campaign_id, who.can_see)
    issued = svc.issue_coupons(session, campaign, body.issue_id, body.customer_ids, body.group_id, body.expires_at,
                               request_now(request), merchant_scope=_scope(who))
    session.commit()
    log.info("coupons_issued", campaign_id=campaign.id, issue_id=body.issue_id, coupons=len(issued.coupon_ids),
             skipped_opted_out=issued.opted_out, operator_id=who.operator_id)
    return {"campaign_id": campaign.id, "issue_id": body.issue_id, "coupon_ids": issued.coupon_ids,
            "skipped_opted_out": issued.opted_out}


@router.post("/campaigns/{campaign_id}/claims", status_code=201)
def claim_coupon(campaign_id: IdPath, body: ClaimIn, request: Request, session: Session = Depends(get_session),
                 who: OperatorPrincipal = Depends(MANAGERS)) -> dict:
    """A customer claims the campaign's coupon (at the counter; the kiosk comes in part 2). Once each."""
    campaign = svc.get_campaign(session, campaign_id, who.can_see)
    now = request_now(request)
    expires_at: datetime = campaign.ends_at or now + CLAIM_VALID
    coupon = svc.claim_coupon(session, campaign, body.customer_id, expires_at, now, merchant_scope=_scope(who))
    session.commit()
    return {"coupon_id": coupon.id, "campaign_id": campaign.id, "expires_at": coupon.expires_at.isoformat()}


def offline_view(session: Session, campaign: Campaign) -> dict:
    sizing = offline_sizing(session, campaign.id)
    return {"campaign_id": campaign.id, "offline": sizing is not None,
            "share_pct": sizing.share_pct if sizing else None, "cap_fen": sizing.cap_fen if sizing else None,
            "budget_left_fen": campaign.budget_fen - campaign.spent_fen}


def change_offline(session: Session, campaign_id: int, body: OfflineIn | None, who: OperatorPrincipal,
                   now: datetime) -> dict:
    """The one way the API and the console switch offline slices (body None: off); committed, on
    record. Under the campaign's row lock: two clicks act one after the other."""
    campaign = svc.get_campaign(session, campaign_id, who.can_see)
    session.refresh(campaign, with_for_update=True)
    if body is None:
        moved = {"returned_fen": svc.stop_offline(session, campaign, now)}
    else:
        moved = {"reserved_fen": svc.let_offline(session, campaign, body.share_pct, body.cap_fen, now)}
    session.commit()
    log.info("campaign_offline_on" if body is not None else "campaign_offline_off", campaign_id=campaign.id,
             operator_id=who.operator_id, **(body.model_dump() if body is not None else {}), **moved)
    return offline_view(session, campaign) | moved


@router.put("/campaigns/{campaign_id}/offline")
def offline_on(campaign_id: IdPath, body: OfflineIn, request: Request, session: Session = Depends(get_session),
               who: OperatorPrincipal = Depends(MANAGERS)) -> dict:
    """Let this instant campaign's discounts be given offline: every terminal it applies at holds
    a slice of share_pct % of the budget, at most cap_fen (already counted as spent). Again with
    other figures: the new size (a smaller one at the next top-up)."""
    return change_offline(session, campaign_id, body, who, request_now(request))


@router.delete("/campaigns/{campaign_id}/offline")
def offline_off(campaign_id: IdPath, request: Request, session: Session = Depends(get_session),
                who: OperatorPrincipal = Depends(MANAGERS)) -> dict:
    """Online only again: the terminals' open slices close and their unused part returns to the budget."""
    return change_offline(session, campaign_id, None, who, request_now(request))
