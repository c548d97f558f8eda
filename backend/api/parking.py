"""Parking endpoints: lane events and QR orders (signed terminals), the channel's paid notification,
and the operator's car park rules, member passes, blacklist and stays."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.api.params import IdPath, Text
from backend.auth import OperatorPrincipal, TerminalPrincipal, current_terminal, ensure_visible, require_roles
from backend.channels import ChannelError, PaymentChannel
from backend.channels.compose import Channels
from backend.deps import get_session, request_now
from backend.errors import api_error
from backend.logging import log
from backend.models.parking import ParkingOrder, ParkingSession
from backend.services import counter_renewals as counter_svc
from backend.services import parking as sessions_svc
from backend.services import parking_orders as orders_svc
from backend.services import parking_rules as rules_svc
from backend.services.parking_rules import ParkingRuleError
from backend.services.sites import get_site
from core.wire import (MAX_AMOUNT_FEN, MemberData, ParkingEventsResponse, ParkingOrderRequest,
                       ParkingOrderState, ParkingPaycodeRequest, ParkingSessionData, ParkingTariffData)
from core.crypto import FieldCipher
from core.members import PassPlan
from core.plates import PlateError, normalise_plate
from core.reasons import message
from core.tariff import SiteTariffs

router = APIRouter(prefix="/api/v1", tags=["parking"])
ANY_ROLE = require_roles("operator", "merchant_admin", "auditor")
MANAGERS = require_roles("operator", "merchant_admin")
PlatePath = Annotated[str, Path(min_length=2, max_length=24, description="plate, e.g. 京A12345")]


def channels(request: Request) -> Channels:
    """The channels create_app built from the settings (backend/channels/compose.py)."""
    return request.app.state.channels


def _channel_of_code(request: Request, code: str) -> PaymentChannel:
    """The channel that takes this pay code (WeChat, Alipay, UnionPay by their published formats);
    a code of no known format goes to the QR channel, which refuses it in its own words."""
    kind = channels(request).kind_of(code)
    return channels(request).for_code(kind) if kind else channels(request).qr()


def _unavailable(exc: ChannelError, zh: str, en: str):  # noqa: ANN202
    if exc.code == "not_configured":
        return api_error(503, "channel_not_configured", *message("channel_not_configured"))
    return api_error(502, "channel_unavailable", zh, en)


def _rule_error(exc: ParkingRuleError, status: int = 422):  # noqa: ANN202
    return api_error(404 if exc.code == "site_not_found" else status, exc.code, exc.zh, exc.en)


@contextmanager
def _charging(event: str, zh: str, en: str) -> Iterator[None]:
    """Around an order or a charge at a channel: other terms under the same order id are a 409,
    a channel that fails is logged under `event` and answered in these words."""
    try:
        yield
    except ParkingRuleError as exc:
        raise _rule_error(exc, 409) from None
    except ChannelError as exc:
        log.warning(event, code=exc.code)
        raise _unavailable(exc, zh, en) from None


def _plate(text: str) -> str:
    """The canonical plate, or a 422 that says what is wrong with it."""
    try:
        return normalise_plate(text).text
    except PlateError as exc:
        raise api_error(422, "bad_plate", exc.zh, exc.en) from None


def _car_park_of(session: Session, principal: OperatorPrincipal, site_id: int):  # noqa: ANN202
    site = get_site(session, site_id)
    ensure_visible(principal, site.merchant_id, "停车场", "car park")
    if site.kind != "car_park":
        raise api_error(404, "site_not_found", "该场所不是停车场", "This site is not a car park")
    return site


# --- terminal (signed) ---------------------------------------------------------------------------

@router.post("/terminal/parking/events", response_model=ParkingEventsResponse)
def push_events(payload: Any = Body(..., description="core.wire.ParkingEventsRequest"),
                terminal: TerminalPrincipal = Depends(current_terminal),
                session: Session = Depends(get_session)) -> ParkingEventsResponse:
    """Entries, exits and attendant actions of a lane; each event applied once (event_id). A
    malformed event is answered rejected on its own: it never holds back the events behind it."""
    if terminal.scene != "parking":
        raise api_error(403, "wrong_scene", "此终端不是停车场终端", "This terminal is not a parking terminal")
    results = sessions_svc.apply_events(session, terminal.terminal_id, terminal.site_id,
                                        sessions_svc.parse_events(payload))
    return ParkingEventsResponse(results=results)


@router.get("/terminal/parking/sessions/inside", response_model=ParkingSessionData)
def inside(plate: str = Query(min_length=2, max_length=16), terminal: TerminalPrincipal = Depends(current_terminal),
           session: Session = Depends(get_session)) -> ParkingSessionData:
    """The stay of a car still inside (for an exit lane whose pull has not caught up yet)."""
    s = sessions_svc.inside(session, terminal.site_id, _plate(plate))
    if s is None:
        raise api_error(404, "not_inside", "没有该车辆的入场记录", "No entry record for this plate")
    return sessions_svc.session_data(s)


@router.post("/terminal/parking/orders", response_model=ParkingOrderState, status_code=201)
def create_order(body: ParkingOrderRequest, request: Request, terminal: TerminalPrincipal = Depends(current_terminal),
                 session: Session = Depends(get_session)) -> ParkingOrderState:
    """A QR order for an exit fee or a renewal; the same order_id returns the same order."""
    with _charging("parking_order_channel_error", "支付渠道暂时不可用，请稍后重试或使用付款码",
                   "The payment channel is unavailable; retry or scan a pay code"):
        qr = channels(request).qr()
        order = orders_svc.create_order(session, qr, terminal.terminal_id, terminal.site_id, body,
                                        _notify_url(request, qr.name), now=request_now(request))
    return orders_svc.order_state(order)


def _order_of(session: Session, terminal: TerminalPrincipal, order_id: UUID) -> ParkingOrder:
    """The order, if it belongs to the terminal's site (another site's order is "not found")."""
    order = session.get(ParkingOrder, str(order_id))
    if order is None or order.site_id != terminal.site_id:
        raise api_error(404, "order_not_found", *message("order_not_found"))
    return order


@router.get("/terminal/parking/orders/{order_id}", response_model=ParkingOrderState)
def poll_order(order_id: UUID, request: Request, terminal: TerminalPrincipal = Depends(current_terminal),
               session: Session = Depends(get_session)) -> ParkingOrderState:
    """Short poll: pending, paid or closed (asks the channel while pending)."""
    order = _order_of(session, terminal, order_id)
    try:
        channel = channels(request).get(order.channel)
    except ChannelError:
        return orders_svc.order_state(order)        # its channel is no longer configured: as it was
    return orders_svc.order_state(orders_svc.refresh(session, channel, order, now=request_now(request)))


@router.post("/terminal/parking/orders/{order_id}/close", response_model=ParkingOrderState)
def close_order(order_id: UUID, request: Request, terminal: TerminalPrincipal = Depends(current_terminal),
                session: Session = Depends(get_session)) -> ParkingOrderState:
    """Close a pending order before the driver pays another way; answers "paid" if it already was."""
    order = _order_of(session, terminal, order_id)
    try:
        return orders_svc.order_state(orders_svc.close(session, channels(request).get(order.channel), order))
    except ChannelError as exc:
        log.warning("parking_order_close_error", code=exc.code)
        raise _unavailable(exc, "支付渠道暂时不可用，请稍后重试", "The payment channel is unavailable; try again") from None


@router.post("/terminal/parking/paycode", response_model=ParkingOrderState)
def pay_by_code(body: ParkingPaycodeRequest, request: Request, terminal: TerminalPrincipal = Depends(current_terminal),
                session: Session = Depends(get_session)) -> ParkingOrderState:
    """A pay code scanned at the exit, charged at the channel; the same order_id is charged once."""
    with _charging("parking_paycode_channel_error", "支付渠道暂时不可用，请稍后重试或联系管理员",
                   "The payment channel is unavailable; try again or call the attendant"):
        order, reason = orders_svc.pay_by_code(session, _channel_of_code(request, body.paycode),
                                               terminal.terminal_id, terminal.site_id,
                                               body, now=request_now(request))
    return orders_svc.order_state(order, reason)


# --- the channel ---------------------------------------------------------------------------------

def _notify_url(request: Request, channel: str) -> str:
    """Where the channel POSTs its paid notification (WeChat keeps the path it has always had)."""
    path = "/api/v1/parking/channel/notify" if channel == "wechat" else f"/api/v1/parking/channel/{channel}/notify"
    return str(request.base_url).rstrip("/") + path


def _notified(request: Request, session: Session, name: str, body: bytes) -> Response:
    """A channel's paid notification: verified by that channel's adapter, booked once, answered in
    the channel's own words (a refusal makes the channel send it again later)."""
    try:
        channel = channels(request).get(name)
    except ChannelError:
        return Response(status_code=404)
    try:
        orders_svc.record_paid(session, channel.parse_notification(request.headers, body), via=channel)
    except ChannelError as exc:
        log.warning("parking_notify_refused", channel=name, code=exc.code)
        status, media, text = channel.acknowledgement(False)
        return Response(status_code=status, media_type=media, content=text)
    status, media, text = channel.acknowledgement(True)
    return Response(status_code=status, media_type=media, content=text)


@router.post("/parking/channel/notify", include_in_schema=False)
async def channel_notify(request: Request, session: Session = Depends(get_session)) -> Response:
    """WeChat Pay's paid notification: signature checked, resource decrypted, booked once."""
    return _notified(request, session, "wechat", await request.body())


@router.post("/parking/channel/unionpay/notify", include_in_schema=False)
async def unionpay_notify(request: Request, session: Session = Depends(get_session)) -> Response:
    """UnionPay's back notification (a signed form, ACP 5.1.0): checked, booked once, answered 200."""
    return _notified(request, session, "unionpay", await request.body())


@router.post("/parking/channel/bank/notify", include_in_schema=False)
async def bank_notify(request: Request, session: Session = Depends(get_session)) -> Response:
    """The bank core's notification that a customer's mobile banking paid an aggregate-QR order
    (HMAC-signed with the key shared with the core): checked, booked once."""
    return _notified(request, session, "bank", await request.body())


@router.post("/parking/channel/alipay/notify", include_in_schema=False)
async def alipay_notify(request: Request, session: Session = Depends(get_session)) -> Response:
    """Alipay's asynchronous notification (a signed form): checked, booked once, answered "success"."""
    return _notified(request, session, "alipay", await request.body())


# --- operators -----------------------------------------------------------------------------------

class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tariffs: SiteTariffs
    no_entry_fee_fen: int = Field(ge=0, le=1_000_000, description="fee when a car leaves with no entry record")
    repeat_entry: str = Field("replace", pattern="^(replace|refuse)$",
                              description="a car already inside enters again: replace the old stay, or refuse")
    plans: list[PassPlan] = Field(default=[], max_length=8, description="passes sold at this car park")


@router.put("/sites/{site_id}/parking/rules", response_model=ParkingTariffData)
def put_rules(site_id: IdPath, body: RulesIn, request: Request, principal: OperatorPrincipal = Depends(MANAGERS),
              session: Session = Depends(get_session)) -> ParkingTariffData:
    _car_park_of(session, principal, site_id)
    rules = rules_svc.set_rules(session, site_id, body.tariffs, body.no_entry_fee_fen, body.repeat_entry, body.plans,
                                now=request_now(request))
    session.commit()
    return rules_svc.tariff_data(rules)


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: Text(16)
    valid_from: date
    valid_to: date
    status: str = Field("active", pattern="^(active|suspended)$")
    holder_name: Text(40, min_length=0) | None = Field(None, description="stored encrypted, shown masked")


@router.put("/sites/{site_id}/parking/members/{plate}", response_model=MemberData)
def put_member(site_id: IdPath, plate: PlatePath, body: MemberIn, request: Request,
               principal: OperatorPrincipal = Depends(MANAGERS), session: Session = Depends(get_session)) -> MemberData:
    _car_park_of(session, principal, site_id)
    plate = _plate(plate)
    try:
        m = rules_svc.put_member(session, FieldCipher(request.app.state.settings.keys["data"]), site_id, plate,
                                 body.plan, body.valid_from, body.valid_to, body.status, body.holder_name,
                                 now=request_now(request))
    except ParkingRuleError as exc:
        raise _rule_error(exc) from None
    session.commit()
    return rules_svc.member_data(m)


class RenewalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    renewal_id: UUID = Field(description="made once by the caller per payment: the idempotency key")
    plan: Text(16)
    amount_fen: int = Field(ge=0, le=MAX_AMOUNT_FEN, strict=True,
                            description="what was paid at the counter: the plan's price, or 0 for a free renewal")


@router.post("/sites/{site_id}/parking/members/{plate}/renewals", response_model=MemberData)
def renew_member(site_id: IdPath, plate: PlatePath, body: RenewalIn, request: Request,
                 principal: OperatorPrincipal = Depends(MANAGERS), session: Session = Depends(get_session)) -> MemberData:
    """A renewal paid at the counter (会员缴费续期, cash or card at the car park's office), booked on
    the ledger as money the merchant holds itself; a renewal paid by QR is booked when the order is paid.
    The same renewal_id again answers the pass and books nothing more; with another body: 409."""
    from backend.services.commit import commit_once

    _car_park_of(session, principal, site_id)
    plate = _plate(plate)
    now = request_now(request)
    try:
        m = commit_once(session, lambda: counter_svc.renew_at_counter(session, site_id, plate, body.plan,
                                                                      str(body.renewal_id), body.amount_fen, now))
    except ParkingRuleError as exc:
        session.rollback()
        raise _rule_error(exc, 409 if exc.code == "renewal_id_reused" else 422) from None
    return rules_svc.member_data(m)


class BlacklistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text(200)


@router.put("/sites/{site_id}/parking/blacklist/{plate}", status_code=204)
def blacklist(site_id: IdPath, plate: PlatePath, body: BlacklistIn, principal: OperatorPrincipal = Depends(MANAGERS),
              session: Session = Depends(get_session)) -> Response:
    _car_park_of(session, principal, site_id)
    rules_svc.set_blacklisted(session, site_id, _plate(plate), body.reason)
    session.commit()
    return Response(status_code=204)


@router.delete("/sites/{site_id}/parking/blacklist/{plate}", status_code=204)
def unblacklist(site_id: IdPath, plate: PlatePath, principal: OperatorPrincipal = Depends(MANAGERS),
                session: Session = Depends(get_session)) -> Response:
    _car_park_of(session, principal, site_id)
    rules_svc.set_blacklisted(session, site_id, _plate(plate), None)
    session.commit()
    return Response(status_code=204)


@router.get("/sites/{site_id}/parking/sessions", response_model=list[ParkingSessionData])
def list_sessions(site_id: IdPath, status: str | None = Query(None, pattern="^(inside|exited|replaced)$"),
                  flagged: bool | None = None, limit: int = Query(100, ge=1, le=1000),
                  principal: OperatorPrincipal = Depends(ANY_ROLE),
                  session: Session = Depends(get_session)) -> list[ParkingSessionData]:
    """Stays of a car park, newest first; flagged=true is the review queue."""
    _car_park_of(session, principal, site_id)
    q = select(ParkingSession).where(ParkingSession.site_id == site_id)
    if status:
        q = q.where(ParkingSession.status == status)
    if flagged is not None:
        q = q.where(ParkingSession.flagged.is_(flagged))
    rows = session.scalars(q.order_by(ParkingSession.updated_at.desc()).limit(limit)).all()
    return [sessions_svc.session_data(s) for s in rows]
