"""Parking lanes: events, QR orders, pay codes, sessions, tariffs, members."""
from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from core.wire.fields import MAX_AMOUNT_FEN, MAX_PUSH_ITEMS, Text, When, Wire

# --- parking ----------------------------------------------------------------------------------
# Signed terminal endpoints (under /api/v1):
#   POST /terminal/parking/events            ParkingEventsRequest -> ParkingEventsResponse
#                                            (entries, exits, attendant actions; idempotent by event_id)
#   POST /terminal/parking/orders            ParkingOrderRequest  -> ParkingOrderState
#                                            (a QR "native" order; idempotent by order_id)
#   GET  /terminal/parking/orders/{order_id}                      -> ParkingOrderState (short poll)
#   POST /terminal/parking/orders/{order_id}/close                -> ParkingOrderState (before paying
#                                            another way: "paid" if the driver paid it meanwhile)
#   POST /terminal/parking/paycode           ParkingPaycodeRequest -> ParkingOrderState (paid | closed)
#   GET  /terminal/parking/sessions/inside?plate=P                -> ParkingSessionData | 404
# Sessions, tariffs, members and the blacklist also reach every lane of a site by pull.

ParkingEventKind = Literal["entry", "exit", "correct_plate", "free_open", "flag"]
ParkingPayKind = Literal["member", "contactless", "qr", "paycode", "free_by_attendant", "none", "fallback"]


class ParkingTariffData(Wire):
    """A car park's rules. `tariffs` is a core.tariff.SiteTariffs (validated by both sides)."""
    site_id: int
    tariffs: dict[str, Any]
    no_entry_fee_fen: int = Field(ge=0, le=MAX_AMOUNT_FEN,
                                  description="fee charged when a car leaves with no entry record")
    repeat_entry: Literal["replace", "refuse"] = Field(
        "replace", description="a second entry of a car already inside: close the old session "
                               "unpaid and flagged, then open a new one (replace), or refuse")
    plans: list[dict[str, Any]] = Field(default=[], max_length=8,
                                        description="core.members.PassPlan offered for renewal")
    version: int = Field(ge=1, description="increases with every change of the rules")


class MemberData(Wire):
    site_id: int
    plate: str = Field(min_length=2, max_length=16)
    plan: str = Field(max_length=16)
    valid_from: date
    valid_to: date = Field(description="inclusive, local date of the car park")
    status: Literal["active", "suspended"] = "active"
    masked_name: str | None = Field(default=None, max_length=40)


class ParkingBlacklistData(Wire):
    site_id: int
    plate: str = Field(min_length=2, max_length=16)
    reason: str = Field(max_length=200)


class ParkingSessionData(Wire):
    session_id: UUID
    site_id: int
    plate: str = Field(max_length=16)
    plate_colour: str = Field(max_length=16)
    entered_at: AwareDatetime | None = Field(description="None: no entry record (left without one)")
    entry_lane_id: int | None = None
    entry_image_ref: str | None = Field(default=None, max_length=200)
    status: Literal["inside", "exited", "replaced"]
    exited_at: AwareDatetime | None = None
    exit_lane_id: int | None = None
    fee_fen: int | None = Field(default=None, ge=0, le=MAX_AMOUNT_FEN)
    paid_fen: int = Field(default=0, ge=0, le=MAX_AMOUNT_FEN)
    pay_kind: ParkingPayKind | None = None
    flagged: bool = False
    flag_reason: str | None = Field(default=None, max_length=200)


class ParkingEvent(Wire):
    """One thing that happened at a lane. `session_id` is made by the entry terminal (or by the
    exit terminal for a car with no entry record) and names the stay end to end."""
    event_id: UUID = Field(description="made once by the terminal; idempotency key")
    kind: ParkingEventKind
    session_id: UUID
    lane_id: int | None = None
    plate: Text(16, min_length=2)
    plate_colour: Text(16, min_length=0)
    at: When
    image_ref: Text(200, min_length=0) | None = None
    fee_fen: int | None = Field(default=None, ge=0, le=MAX_AMOUNT_FEN)
    paid_fen: int = Field(default=0, ge=0, le=MAX_AMOUNT_FEN)
    pay_kind: ParkingPayKind | None = None
    payment_id: UUID | None = Field(default=None, description="contactless / paycode payment")
    order_id: UUID | None = Field(default=None, description="QR order")
    reason: Text(200, min_length=0) | None = Field(default=None, description="attendant's reason, flag reason")
    old_plate: Text(16, min_length=0) | None = Field(default=None, description="correct_plate: the misread plate")
    operator: Text(40, min_length=0) | None = Field(default=None, description="attendant who acted")
    entered_at: When | None = Field(default=None, description="exit: entry time used for the fee")
    offline: bool = False


class ParkingEventsRequest(Wire):
    events: list[ParkingEvent] = Field(min_length=1, max_length=MAX_PUSH_ITEMS)


class ParkingEventResult(Wire):
    event_id: UUID
    status: Literal["applied", "duplicate", "rejected"]
    reason: str | None = None


class ParkingEventsResponse(Wire):
    results: list[ParkingEventResult]


class ParkingOrderRequest(Wire):
    order_id: UUID = Field(description="made once by the terminal; idempotency key and out_trade_no")
    purpose: Literal["exit", "renewal"] = "exit"
    session_id: UUID | None = None
    plate: Text(16, min_length=2)
    amount_fen: int = Field(gt=0, le=MAX_AMOUNT_FEN)
    plan: Text(16, min_length=0) | None = Field(default=None, description="renewal: the plan bought")
    occurred_at: When


class ParkingOrderState(Wire):
    order_id: UUID
    status: Literal["pending", "paid", "closed"]
    amount_fen: int
    qr_text: str = Field(description="what the lane display shows as a QR code")
    paid_at: AwareDatetime | None = None
    expires_at: AwareDatetime
    reason: str | None = Field(default=None, max_length=64,
                               description="why a pay-code payment was not taken (channel's code)")
    message_zh: str = ""
    message_en: str = ""


class ParkingPaycodeRequest(Wire):
    """A pay code scanned at the exit, charged through the payment channel (付款码支付).
    The code is never logged or stored."""
    order_id: UUID = Field(description="made once by the terminal; idempotency key and out_trade_no")
    session_id: UUID | None = None
    plate: Text(16, min_length=2)
    amount_fen: int = Field(gt=0, le=MAX_AMOUNT_FEN)
    paycode: str = Field(min_length=10, max_length=32, pattern=r"^[0-9]+$", repr=False)
    occurred_at: When


