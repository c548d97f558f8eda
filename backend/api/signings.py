"""Operator endpoints for signings (签约): face, card, plate; templates; suspend/resume/revoke."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.api.params import IdField, IdPath, Text
from backend.auth import OperatorPrincipal, require_roles
from backend.deps import get_session, request_now
from backend.errors import api_error
from backend.models.signings import FaceTemplate, Signing
from backend.services import signings as svc
from backend.services.customers import get_customer
from backend.services.vault import vault_of
from core.wire import MAX_AMOUNT_FEN, FundingOrder

router = APIRouter(prefix="/api/v1", tags=["signings"])
BANK_STAFF = require_roles("operator")
READERS = require_roles("operator", "auditor")


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")
    per_payment_limit_fen: int = Field(gt=0, le=MAX_AMOUNT_FEN, description="most one payment may take")
    per_day_limit_fen: int = Field(gt=0, le=100 * MAX_AMOUNT_FEN, description="most one business day may take")
    merchant_ids: list[IdField] = Field(default=[], max_length=200, description="empty = any merchant")


class FaceSigningIn(Limits):
    consent_at: AwareDatetime = Field(description="when the person agreed")
    consent_text_version: Text(32) = Field(description="which consent text they agreed to")
    templates: list[str] = Field(min_length=1, max_length=svc.MAX_TEMPLATES,
                                 description="base64 of 128 little-endian float32 (dlib), or of a template "
                                             "tagged with its face model (hardware.face.templates.pack)")
    funding_order: FundingOrder | None = Field(None, description="None = the customer's group decides")


class TemplatesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    templates: list[str] = Field(min_length=1, max_length=svc.MAX_TEMPLATES)


class CardSigningIn(Limits):
    card_hash: str = Field(min_length=16, max_length=128, pattern=r"^[0-9a-fA-F]+$",
                           description="the keyed hash the terminal's card reader makes, never the number")


class PlateSigningIn(Limits):
    plate: Text(16, min_length=7)
    plate_colour: Text(16)


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text(200)


def signing_out(session: Session, signing: Signing) -> dict:
    templates = len(session.scalars(select(FaceTemplate.id).where(FaceTemplate.signing_id == signing.id)).all())
    return {"id": signing.id, "customer_id": signing.customer_id, "kind": signing.kind, "status": signing.status,
            "per_payment_limit_fen": signing.per_payment_limit_fen, "per_day_limit_fen": signing.per_day_limit_fen,
            "merchant_ids": signing.merchant_ids, "funding_order": signing.funding_order,
            "consent_at": signing.consent_at, "consent_text_version": signing.consent_text_version,
            "plate": signing.plate, "plate_colour": signing.plate_colour,
            "card_hash": signing.card_hash, "templates": templates}


def _duplicate_distance(request: Request) -> float:
    return request.app.state.settings.face_duplicate_distance


@router.post("/customers/{customer_id}/signings/face", status_code=201)
def sign_face(customer_id: IdPath, body: FaceSigningIn, request: Request, session: Session = Depends(get_session),
              _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    signing = svc.sign_face(session, vault_of(request.app.state.settings), customer_id, templates=body.templates,
                            consent_at=body.consent_at, consent_text_version=body.consent_text_version,
                            per_payment_limit_fen=body.per_payment_limit_fen, per_day_limit_fen=body.per_day_limit_fen,
                            merchant_ids=body.merchant_ids, funding_order=body.funding_order,
                            now=request_now(request), duplicate_distance=_duplicate_distance(request))
    session.commit()
    return signing_out(session, signing)


@router.post("/signings/{signing_id}/templates")
def add_templates(signing_id: IdPath, body: TemplatesIn, request: Request, session: Session = Depends(get_session),
                  _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    signing = _get(session, signing_id)
    svc.add_templates(session, vault_of(request.app.state.settings), signing, body.templates,
                      now=request_now(request), duplicate_distance=_duplicate_distance(request))
    session.commit()
    return signing_out(session, signing)


@router.post("/customers/{customer_id}/signings/card", status_code=201)
def sign_card(customer_id: IdPath, body: CardSigningIn, request: Request, session: Session = Depends(get_session),
              _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    signing = svc.sign_card(session, customer_id, card_hash=body.card_hash, now=request_now(request),
                            per_payment_limit_fen=body.per_payment_limit_fen,
                            per_day_limit_fen=body.per_day_limit_fen, merchant_ids=body.merchant_ids)
    session.commit()
    return signing_out(session, signing)


@router.post("/customers/{customer_id}/signings/plate", status_code=201)
def sign_plate(customer_id: IdPath, body: PlateSigningIn, request: Request, session: Session = Depends(get_session),
               _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    signing = svc.sign_plate(session, customer_id, plate=body.plate, plate_colour=body.plate_colour,
                             per_payment_limit_fen=body.per_payment_limit_fen,
                             per_day_limit_fen=body.per_day_limit_fen, merchant_ids=body.merchant_ids,
                             now=request_now(request))
    session.commit()
    return signing_out(session, signing)


@router.get("/customers/{customer_id}/signings")
def list_signings(customer_id: IdPath, session: Session = Depends(get_session),
                  _: OperatorPrincipal = Depends(READERS)) -> list[dict]:
    get_customer(session, customer_id)
    rows = session.scalars(select(Signing).where(Signing.customer_id == customer_id).order_by(Signing.id)).all()
    return [signing_out(session, s) for s in rows]


def _get(session: Session, signing_id: int) -> Signing:
    signing = session.get(Signing, signing_id)
    if signing is None:
        raise api_error(404, "not_found", f"签约 {signing_id} 不存在", f"Signing {signing_id} does not exist")
    return signing


def _status_route(action: str):  # noqa: ANN202
    def change(signing_id: IdPath, body: StatusIn, request: Request, session: Session = Depends(get_session),
               _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
        signing = svc.change_status(session, signing_id, action, body.reason, request_now(request))
        session.commit()
        return signing_out(session, signing)
    change.__name__ = f"{action}_signing"
    change.__doc__ = f"{action.capitalize()} a signing; terminals see it on their next pull."
    return change


for _action in ("suspend", "resume", "revoke"):
    router.post(f"/signings/{{signing_id}}/{_action}")(_status_route(_action))
