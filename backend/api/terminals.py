"""Terminal endpoints: enrolment codes (operator), registration (the code is the credential),
the terminal list with last seen, disable / re-enable, and the signed server-time probe."""
from __future__ import annotations

import base64
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from backend.api.params import IdField, IdPath, IdQuery, Text
from backend.auth import (OperatorPrincipal, TerminalPrincipal, current_terminal, ensure_visible,
                          require_roles)
from backend.deps import get_session, request_now
from backend.logging import log
from backend.models.merchants import Lane
from backend.models.terminals import Terminal
from backend.services import terminals as svc
from backend.services.sites import get_site
from core.wire import RegisterRequest, RegisterResponse, Scene, ServerTime

router = APIRouter(prefix="/api/v1", tags=["terminals"])
ANY_ROLE = require_roles("operator", "merchant_admin", "auditor")
MANAGERS = require_roles("operator", "merchant_admin")


class EnrolmentCodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    site_id: IdField
    lane_id: IdField | None = None
    name: Text(100) = Field(description="name the new terminal gets, e.g. 'East gate 2'")
    scene: Scene | None = Field(default=None, description="defaults to the site's scene")
    valid_hours: int = Field(default=svc.DEFAULT_CODE_VALID_H, ge=1, le=168, description="how long the code works")


class EnrolmentCodeOut(BaseModel):
    code: str = Field(description="shown once: type it into the terminal's setup wizard")
    merchant_id: int
    site_id: int
    lane_id: int | None
    scene: Scene
    name: str
    expires_at: datetime


class TerminalOut(BaseModel):
    id: int
    merchant_id: int
    site_id: int
    lane_id: int | None
    name: str
    scene: Scene
    status: str
    hardware_id: str
    registered_at: datetime
    last_seen_at: datetime | None
    last_push_at: datetime | None
    disabled_reason: str | None

    @classmethod
    def of(cls, t: Terminal) -> "TerminalOut":
        return cls(id=t.id, merchant_id=t.merchant_id, site_id=t.site_id, lane_id=t.lane_id, name=t.name,
                   scene=t.scene, status=t.status, hardware_id=t.hardware_id, registered_at=t.registered_at,
                   last_seen_at=t.last_seen_at, last_push_at=t.last_push_at, disabled_reason=t.disabled_reason)


class DisableRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    reason: Text(200, min_length=0) = ""


@router.post("/enrolment-codes", response_model=EnrolmentCodeOut, status_code=201)
def create_enrolment_code(body: EnrolmentCodeRequest, request: Request,
                          who: OperatorPrincipal = Depends(MANAGERS),
                          session: Session = Depends(get_session)) -> EnrolmentCodeOut:
    """A one-time code for registering one terminal at a site (and lane). Shown only in this answer."""
    site = get_site(session, body.site_id)
    ensure_visible(who, site.merchant_id, "场所", "site")
    new = svc.create_enrolment_code(session, request.app.state.settings.keys["hash"], site=site,
                                    lane_id=body.lane_id, name=body.name, scene=body.scene,
                                    valid_hours=body.valid_hours, created_by=who.operator_id,
                                    now=request_now(request))
    session.commit()
    log.info("enrolment_code_created", enrolment_code_id=new.row.id, site_id=site.id, operator_id=who.operator_id)
    row = new.row
    return EnrolmentCodeOut(code=new.code, merchant_id=row.merchant_id, site_id=row.site_id, lane_id=row.lane_id,
                            scene=row.scene, name=row.terminal_name, expires_at=row.expires_at)


@router.post("/terminals/register", response_model=RegisterResponse, status_code=201)
def register_terminal(body: RegisterRequest, request: Request,
                      session: Session = Depends(get_session)) -> RegisterResponse:
    """Register a terminal with a one-time enrolment code and its own Ed25519 public key."""
    keys, now = request.app.state.settings.keys, request_now(request)
    terminal = svc.register(session, keys["hash"], code=body.enrolment_code, public_key=body.public_key,
                            hardware_id=body.hardware_id, now=now)
    session.commit()
    log.info("terminal_registered", terminal_id=terminal.id, merchant_id=terminal.merchant_id, site_id=terminal.site_id)
    lane = session.get(Lane, terminal.lane_id) if terminal.lane_id else None   # its name for the lane screen
    return RegisterResponse(terminal_id=terminal.id, merchant_id=terminal.merchant_id, site_id=terminal.site_id,
                            lane_id=terminal.lane_id, lane_name=lane.name if lane else None,
                            lane_direction=lane.direction if lane else None, scene=terminal.scene, name=terminal.name,
                            card_hash_key=base64.b64encode(keys["card"]).decode(), server_time=now)


@router.get("/terminals", response_model=list[TerminalOut])
def list_terminals(merchant_id: IdQuery = None, site_id: IdQuery = None,
                   who: OperatorPrincipal = Depends(ANY_ROLE),
                   session: Session = Depends(get_session)) -> list[TerminalOut]:
    """Terminals with their status and when each was last seen (a merchant admin sees its own only)."""
    if who.role == "merchant_admin":
        merchant_id = who.merchant_id
    return [TerminalOut.of(t) for t in svc.list_terminals(session, merchant_id=merchant_id, site_id=site_id)]


def _visible_terminal(session: Session, who: OperatorPrincipal, terminal_id: int) -> Terminal:
    terminal = svc.get_terminal(session, terminal_id)
    ensure_visible(who, terminal.merchant_id, "终端", "terminal")
    return terminal


@router.get("/terminals/{terminal_id}", response_model=TerminalOut)
def get_terminal(terminal_id: IdPath, who: OperatorPrincipal = Depends(ANY_ROLE),
                 session: Session = Depends(get_session)) -> TerminalOut:
    return TerminalOut.of(_visible_terminal(session, who, terminal_id))


@router.post("/terminals/{terminal_id}/disable", response_model=TerminalOut)
def disable_terminal(terminal_id: IdPath, body: DisableRequest, request: Request,
                     who: OperatorPrincipal = Depends(MANAGERS),
                     session: Session = Depends(get_session)) -> TerminalOut:
    """Disable a terminal: from its next request on, the backend refuses it (403)."""
    terminal = svc.set_disabled(session, _visible_terminal(session, who, terminal_id), True, body.reason or None,
                                now=request_now(request))
    session.commit()
    log.info("terminal_disabled", terminal_id=terminal.id, operator_id=who.operator_id)
    return TerminalOut.of(terminal)


@router.post("/terminals/{terminal_id}/enable", response_model=TerminalOut)
def enable_terminal(terminal_id: IdPath, request: Request, who: OperatorPrincipal = Depends(MANAGERS),
                    session: Session = Depends(get_session)) -> TerminalOut:
    terminal = svc.set_disabled(session, _visible_terminal(session, who, terminal_id), False, now=request_now(request))
    session.commit()
    log.info("terminal_enabled", terminal_id=terminal.id, operator_id=who.operator_id)
    return TerminalOut.of(terminal)


@router.get("/terminal/time", response_model=ServerTime)
def server_time(request: Request, _terminal: TerminalPrincipal = Depends(current_terminal)) -> ServerTime:
    """The server's clock, for a terminal to measure its skew (signed, like every terminal call)."""
    return ServerTime(server_time=request_now(request))
