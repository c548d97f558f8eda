"""The terminal <-> backend wire protocol: the request and answer bodies of every terminal endpoint.

One definition used by both sides: the backend validates with these models, the terminal's
sync client builds and parses them. Every model forbids unknown keys, so a typo or a version
mismatch fails loudly instead of being half-read. Money is integer fen, always.

Endpoints (all under /api/v1; all but `register` signed as in sync.signing):
    POST /terminals/register          RegisterRequest  -> RegisterResponse
    POST /terminal/payments           PaymentRequest   -> PaymentResult   (online authorisation;
                                      idempotent by payment_id: the same id returns the same result)
    POST /terminal/refunds            RefundRequest    -> RefundResult    (idempotent by refund_id)
    POST /terminal/sync/push          PushRequest      -> PushResponse    (offline queue, per-item)
    GET  /terminal/sync/pull?cursor=N&limit=M          -> PullResponse
    GET  /terminal/time                                -> ServerTime      (clock skew)
    POST /terminal/shift-close        ShiftCloseRequest -> ShiftCloseResult (compare a shift with the ledger)
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

# A single payment at a gate never exceeds 10,000 yuan; a larger number is a bug or an attack.
MAX_AMOUNT_FEN = 1_000_000
MAX_PUSH_ITEMS = 500
MAX_PULL_LIMIT = 1000

PaymentMethod = Literal["face", "card", "paycode", "plate"]
FundingSource = Literal["subsidy", "wallet", "bank_card", "channel"]
FundingOrder = Literal["subsidy_first", "subsidy_only", "own_only", "own_first"]
Scene = Literal["canteen", "parking"]
MAX_SEQ = 2**63 - 1            # a signed 64-bit column: one more is a 422, never a database error
# Every time a terminal sends lies in these years; beyond them a date is a bug (and year 1 with
# +14:00 overflows the moment it is converted to UTC).
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def _printable(value: str) -> str:
    # Control characters (NUL above all: PostgreSQL refuses it in text) never belong in a name.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


def Text(max_length: int, min_length: int = 1):  # noqa: ANN201, N802 - reads like a type
    """A one-line human text field (a name, a reason) of bounded length. The one text validator
    of both sides: the backend's own bodies use it through backend.api.params."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_printable)]


def _in_years(value: datetime) -> datetime:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must lie between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


def _finite_json(value: Any) -> Any:
    # Python's JSON reader takes NaN and Infinity; PostgreSQL's json type does not (a 500 before).
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        raise ValueError("must not contain NaN or Infinity") from None
    return value


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


When = Annotated[AwareDatetime, AfterValidator(_in_years)]
Seq = Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=MAX_SEQ)]


class Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- registration -----------------------------------------------------------------------------

class RegisterRequest(Wire):
    enrolment_code: Text(64, min_length=6)
    public_key: str = Field(min_length=40, max_length=64, description="base64 raw Ed25519 public key")
    hardware_id: Text(128, min_length=0) = ""


class RegisterResponse(Wire):
    terminal_id: int
    merchant_id: int
    site_id: int
    lane_id: int | None = None
    scene: Scene
    name: str
    card_hash_key: str = Field(description="base64 key the card reader driver hashes card numbers with")
    server_time: AwareDatetime


class ServerTime(Wire):
    server_time: AwareDatetime


# --- payments ---------------------------------------------------------------------------------

class Credential(Wire):
    """How the payer was identified. Exactly the field for `kind` is set."""
    kind: PaymentMethod
    customer_id: int | None = Field(default=None, description="face: the matched signed person")
    card_hash: Text(128, min_length=0) | None = Field(default=None, description="card: keyed hash, never the number")
    paycode: Text(64, min_length=0) | None = Field(default=None, description="paycode: the scanned code (never logged)")
    plate: Text(16, min_length=0) | None = None
    plate_colour: Text(16, min_length=0) | None = None

    @model_validator(mode="after")
    def _one_credential(self) -> "Credential":
        needed = {"face": "customer_id", "card": "card_hash", "paycode": "paycode", "plate": "plate"}[self.kind]
        if getattr(self, needed) in (None, ""):
            raise ValueError(f"credential of kind {self.kind!r} needs {needed}")
        return self


class SplitLine(Wire):
    source: FundingSource
    program_id: int | None = Field(default=None, description="set for source=subsidy")
    amount_fen: int = Field(gt=0, le=MAX_AMOUNT_FEN)


class PaymentRequest(Wire):
    payment_id: UUID = Field(description="made once by the terminal; the idempotency key end to end")
    amount_fen: int = Field(gt=0, le=MAX_AMOUNT_FEN)
    credential: Credential
    occurred_at: When
    meal_period: Text(32, min_length=0) | None = None
    parking_session_id: UUID | None = None
    offline: bool = False
    terminal_seq: Seq | None = None
    offline_split: list[SplitLine] | None = Field(default=None, max_length=8,
                                                  description="the split the terminal computed offline")


class SubsidyBalance(Wire):
    program_id: int
    balance_fen: int


class BalanceSnapshot(Wire):
    customer_id: int
    wallet_fen: int
    subsidies: list[SubsidyBalance] = []
    as_of: AwareDatetime


class PaymentResult(Wire):
    payment_id: UUID
    status: Literal["approved", "declined"]
    reason: str | None = Field(default=None, description="machine code of a decline, e.g. insufficient_funds")
    message_zh: str = ""
    message_en: str = ""
    amount_fen: int
    split: list[SplitLine] = []
    customer_id: int | None = None
    masked_name: str | None = None
    balances: BalanceSnapshot | None = None
    booked_at: AwareDatetime | None = None


class RefundRequest(Wire):
    refund_id: UUID
    payment_id: UUID
    amount_fen: int = Field(gt=0, le=MAX_AMOUNT_FEN)
    reason: Text(200)
    occurred_at: When


class RefundResult(Wire):
    refund_id: UUID
    payment_id: UUID
    status: Literal["refunded", "declined"]
    reason: str | None = None
    message_zh: str = ""
    message_en: str = ""
    amount_fen: int
    split: list[SplitLine] = []


# --- push (offline queue) ---------------------------------------------------------------------

class PushItem(Wire):
    seq: Seq = Field(description="the terminal's own increasing sequence number")
    kind: Literal["payment", "refund", "event"]
    payment: PaymentRequest | None = None
    refund: RefundRequest | None = None
    event: Annotated[dict[str, Any], AfterValidator(_finite_json)] | None = Field(
        default=None, description="audit events: gate opened by hand, shift close, ...")

    @model_validator(mode="after")
    def _body_matches_kind(self) -> "PushItem":
        if getattr(self, self.kind) is None:
            raise ValueError(f"push item of kind {self.kind!r} needs its {self.kind!r} body")
        return self


class PushRequest(Wire):
    items: list[PushItem] = Field(min_length=1, max_length=MAX_PUSH_ITEMS)


class PushItemResult(Wire):
    seq: int
    status: Literal["booked", "duplicate", "declined", "rejected"]
    reason: str | None = None
    payment: PaymentResult | None = None
    refund: RefundResult | None = None


class PushResponse(Wire):
    results: list[PushItemResult]


# --- pull (changes since a cursor) ------------------------------------------------------------

ChangeKind = Literal[
    "face_signing",     # key customer_id; data FaceSigningData
    "card_signing",     # key card_hash;   data CardSigningData
    "plate_signing",    # key "PLATE:colour"; data PlateSigningData
    "balance",          # key customer_id; data BalanceSnapshot
    "subsidy_program",  # key program_id;  data SubsidyProgramData
    "meal_periods",     # key site_id;     data MealPeriodsData
    "offline_limits",   # key site_id;     data OfflineLimits
    "customer_group",   # key group_id;    data {"funding_order": FundingOrder}
    "tariff", "member", "parking_session",  # the parking issue fills these
    # parking: tariff key site_id, data ParkingTariffData; member key "site_id:PLATE", data
    # MemberData; parking_session key session_id, data ParkingSessionData;
    "parking_blacklist",  # key "site_id:PLATE"; data ParkingBlacklistData
    "merchant_status",  # key merchant_id; data MerchantStatusData (only that merchant's terminals)
    "face_confirm",     # key site_id; data FaceConfirmData (the 4-digit check for close face calls)
    "face_model",       # key "bank"; data FaceModelData (the face model terminals should switch to)
]


class Change(Wire):
    id: int = Field(description="the cursor position of this change")
    kind: ChangeKind
    key: str
    deleted: bool = False
    data: dict[str, Any] = {}


class PullResponse(Wire):
    cursor: int
    more: bool
    server_time: AwareDatetime
    changes: list[Change]


class FaceSigningData(Wire):
    customer_id: int
    masked_name: str
    status: Literal["active", "suspended", "revoked"]
    templates: list[str] = Field(description="base64 of hardware.face.templates.pack (model id, dimension, "
                                             "float32s); 512 bare bytes = an old dlib template")
    per_payment_limit_fen: int
    per_day_limit_fen: int
    funding_order: FundingOrder = "subsidy_first"
    merchant_ids: list[int] = Field(default=[], description="empty = any merchant of the bank")
    confirm_digits: str | None = Field(default=None, max_length=128,
                                       description="keyed digest of the phone's last 4 digits "
                                                   "(sync.face_digits), never the digits")


class FaceConfirmData(Wire):
    """A site's 4-digit check for close face calls. `digits_key` is attached by the pull endpoint
    (it is not kept in the change feed's table, so a leaked table does not reveal it)."""
    site_id: int
    enabled: bool = True
    band_pct: int = Field(100, ge=0, le=100, description="how much of the model's confirm band is used: "
                                                        "0 = only two people too close to call, 100 = all of it")
    digits_key: str | None = Field(default=None, max_length=64, description="base64 32-byte key")


class FaceModelData(Wire):
    """The face model the backend has templates for and terminals should use once their gallery
    for it is complete (`gatepay backend retemplate --model M`)."""
    model: str = Field(min_length=1, max_length=48)
    dimension: int = Field(ge=16, le=4096)


class CardSigningData(Wire):
    card_hash: str
    customer_id: int
    masked_name: str
    status: Literal["active", "suspended", "revoked"]
    per_payment_limit_fen: int
    per_day_limit_fen: int


class PlateSigningData(Wire):
    plate: str
    plate_colour: str
    customer_id: int
    masked_name: str
    status: Literal["active", "suspended", "revoked"]
    per_payment_limit_fen: int
    per_day_limit_fen: int


class MealPeriod(Wire):
    code: str = Field(max_length=32, description="breakfast | lunch | dinner | late | ...")
    name_zh: str
    name_en: str
    start: str = Field(pattern=r"^\d{2}:\d{2}$", description="local time HH:MM, inclusive")
    end: str = Field(pattern=r"^\d{2}:\d{2}$", description="local time HH:MM, exclusive")
    price_fen: int | None = Field(default=None, ge=0, description="None = amount keyed in at the window")
    max_meals: int = Field(default=1, ge=0, description="meals per diner per period; 0 = no limit")


class MealPeriodsData(Wire):
    site_id: int
    timezone: str = "Asia/Shanghai"
    periods: list[MealPeriod]


class SubsidyProgramData(Wire):
    program_id: int
    name: str
    kind: Literal["monthly", "daily", "meal"]
    merchant_ids: list[int]
    meal_periods: list[str] = Field(default=[], description="empty = any period")
    per_meal_cap_fen: int | None = None
    per_day_cap_fen: int | None = None
    valid_until: datetime | None = None
    status: Literal["active", "closed"] = "active"


class MerchantStatusData(Wire):
    """The terminal's merchant as the bank sees it: a suspended merchant's terminals stop taking
    payments offline too (online the backend already refuses them)."""
    merchant_id: int
    status: Literal["applied", "approved", "suspended"]
    reason: str | None = Field(None, max_length=500)


class OfflineLimits(Wire):
    per_payment_fen: int = Field(ge=0)
    per_customer_day_fen: int = Field(ge=0)
    terminal_total_fen: int = Field(ge=0, description="offline payments outstanding on one terminal")
    max_cache_age_s: int = Field(ge=0, description="older cached data blocks offline approval")


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
    """A car park's rules. `tariffs` is a terminal.tariff.SiteTariffs (validated by both sides)."""
    site_id: int
    tariffs: dict[str, Any]
    no_entry_fee_fen: int = Field(ge=0, le=MAX_AMOUNT_FEN,
                                  description="fee charged when a car leaves with no entry record")
    repeat_entry: Literal["replace", "refuse"] = Field(
        "replace", description="a second entry of a car already inside: close the old session "
                               "unpaid and flagged, then open a new one (replace), or refuse")
    plans: list[dict[str, Any]] = Field(default=[], max_length=8,
                                        description="terminal.members.PassPlan offered for renewal")
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


# --- terminal shift close (POST /terminal/shift-close; the settlement issue) ---------------------

MAX_SHIFT_PAYMENTS = 20_000


class ShiftMethodTotal(Wire):
    method: PaymentMethod
    count: int = Field(ge=0, le=MAX_SHIFT_PAYMENTS)
    amount_fen: int = Field(ge=0, le=MAX_SHIFT_PAYMENTS * MAX_AMOUNT_FEN)


class ShiftPayment(Wire):
    payment_id: UUID
    method: PaymentMethod
    amount_fen: int = Field(gt=0, le=MAX_AMOUNT_FEN)


class ShiftCloseRequest(Wire):
    """A terminal closes its day or shift: its own counts and sums per method, the approved
    payments it took, and the ids still waiting in its outbox."""
    shift_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                          description="made by the terminal; closing the same shift again re-compares")
    opened_at: AwareDatetime
    closed_at: AwareDatetime
    totals: list[ShiftMethodTotal] = Field(default=[], max_length=4)
    payments: list[ShiftPayment] = Field(default=[], max_length=MAX_SHIFT_PAYMENTS)
    queued_payment_ids: list[UUID] = Field(default=[], max_length=MAX_SHIFT_PAYMENTS)

    @model_validator(mode="after")
    def _closed_after_opened(self) -> "ShiftCloseRequest":
        if not (2000 <= self.opened_at.year and self.closed_at.year <= 2100):
            raise ValueError("opened_at and closed_at must lie between the years 2000 and 2100")
        if self.closed_at < self.opened_at:
            raise ValueError("closed_at is before opened_at")
        if (self.closed_at - self.opened_at).days > 31:
            raise ValueError("a shift lasts at most 31 days")
        return self


class ShiftMethodLine(Wire):
    method: str
    terminal_count: int
    terminal_fen: int
    backend_count: int
    backend_fen: int


class ShiftDifference(Wire):
    kind: Literal["push_needed", "not_booked", "unknown_to_terminal", "amount_differs", "totals_differ"]
    payment_id: UUID | None = None
    method: str | None = None
    terminal_fen: int | None = None
    backend_fen: int | None = None
    message_zh: str = ""
    message_en: str = ""


class ShiftCloseResult(Wire):
    shift_id: str
    status: Literal["balanced", "differences"]
    lines: list[ShiftMethodLine] = []
    differences: list[ShiftDifference] = []
    push_payment_ids: list[UUID] = Field(default=[], description="push these from the outbox now")
