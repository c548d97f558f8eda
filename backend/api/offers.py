"""Offers from habits and the marketing opt-out (issue 17; docs/MARKETING.md "Offers").

    GET/PUT/DELETE /api/v1/customers/{id}/marketing-opt-out   operator (GET: and auditor)
    PUT/DELETE     /api/v1/campaigns/{id}/habit-offer         operator; merchant_admin, its own campaigns

Each change is an operator action on record (a log line with the operator's id, like the other
operator actions) and idempotent: opting out twice changes nothing the second time.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from backend.api.params import IdPath
from backend.auth import OperatorPrincipal, require_roles
from backend.deps import get_session, request_now
from backend.logging import log
from backend.models.customers import MarketingOptOut
from backend.services import campaign_admin, offers
from backend.services.customers import get_customer

router = APIRouter(prefix="/api/v1", tags=["offers"])
BANK_STAFF = require_roles("operator")
READERS = require_roles("operator", "auditor")
MANAGERS = require_roles("operator", "merchant_admin")


def opt_out_view(session: Session, customer_id: int) -> dict:
    row = session.get(MarketingOptOut, customer_id)
    return {"customer_id": customer_id, "opted_out": row is not None,
            "opted_out_at": row.opted_out_at.isoformat() if row is not None else None}


def change_opt_out(session: Session, customer_id: int, out: bool, who: OperatorPrincipal, request: Request) -> dict:
    """The one way the API and the console opt a customer out or in (committed, on record)."""
    get_customer(session, customer_id)
    changed = offers.set_opted_out(session, customer_id, out, request_now(request))
    session.commit()
    log.info("marketing_opt_out" if out else "marketing_opt_in", customer_id=customer_id, changed=changed,
             operator_id=who.operator_id)
    return opt_out_view(session, customer_id)


@router.get("/customers/{customer_id}/marketing-opt-out")
def get_opt_out(customer_id: IdPath, session: Session = Depends(get_session),
                _: OperatorPrincipal = Depends(READERS)) -> dict:
    get_customer(session, customer_id)
    return opt_out_view(session, customer_id)


@router.put("/customers/{customer_id}/marketing-opt-out")
def opt_out(customer_id: IdPath, request: Request, session: Session = Depends(get_session),
            who: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    """The customer wants no offers from their habits."""
    return change_opt_out(session, customer_id, True, who, request)


@router.delete("/customers/{customer_id}/marketing-opt-out")
def opt_in(customer_id: IdPath, request: Request, session: Session = Depends(get_session),
           who: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    return change_opt_out(session, customer_id, False, who, request)


def change_habit_offer(session: Session, campaign_id: int, on: bool, who: OperatorPrincipal, request: Request) -> dict:
    campaign = campaign_admin.get_campaign(session, campaign_id, who.can_see)
    changed = offers.set_habit_offer(session, campaign, on, who.operator_id, request_now(request))
    session.commit()
    log.info("habit_offer_on" if on else "habit_offer_off", campaign_id=campaign.id, changed=changed,
             operator_id=who.operator_id)
    return {"campaign_id": campaign.id, "habit_offer": on}


@router.put("/campaigns/{campaign_id}/habit-offer")
def habit_offer_on(campaign_id: IdPath, request: Request, session: Session = Depends(get_session),
                   who: OperatorPrincipal = Depends(MANAGERS)) -> dict:
    """Give this coupon campaign's coupons as offers from diners' habits after their payments."""
    return change_habit_offer(session, campaign_id, True, who, request)


@router.delete("/campaigns/{campaign_id}/habit-offer")
def habit_offer_off(campaign_id: IdPath, request: Request, session: Session = Depends(get_session),
                    who: OperatorPrincipal = Depends(MANAGERS)) -> dict:
    return change_habit_offer(session, campaign_id, False, who, request)
