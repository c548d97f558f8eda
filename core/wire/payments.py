"""Registration, online payments and refunds, and the offline push queue."""
from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, Field, model_serializer, model_validator

from core.wire.fields import FundingSource, MAX_AMOUNT_FEN, MAX_PUSH_ITEMS, PaymentMethod, Scene, Seq, Text, When, Wire, _finite_json

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
    lane_name: str | None = Field(default=None, max_length=100, description="the lane's name, for the lane screen")
    lane_direction: Literal["entry", "exit", "both"] | None = None
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
    # An instant campaign a terminal applied offline from the budget slice sync gave it (issue 17):
    # offline_split then sums to amount_fen - offline_discount_fen.
    offline_campaign_id: int | None = None
    offline_discount_fen: int = Field(default=0, ge=0, le=MAX_AMOUNT_FEN)

    @model_validator(mode="after")
    def _offline_discount_has_campaign(self) -> "PaymentRequest":
        if self.offline_discount_fen and self.offline_campaign_id is None:
            raise ValueError("offline_discount_fen needs offline_campaign_id")
        if self.offline_discount_fen >= self.amount_fen:
            raise ValueError("offline_discount_fen must leave something to pay")
        return self


class SubsidyBalance(Wire):
    program_id: int
    balance_fen: int


class BalanceSnapshot(Wire):
    customer_id: int
    wallet_fen: int
    subsidies: list[SubsidyBalance] = []
    as_of: AwareDatetime


_CAMPAIGN_KEYS = ("discount_fen", "paid_fen", "campaign_id", "coupon_id", "campaign_fen")


def _drop_unset_campaign(data: dict) -> dict:
    """The campaign keys only when a campaign took part, the offer only when there is one: older
    terminals' models forbid unknown keys."""
    if not data.get("discount_fen") and not data.get("campaign_fen"):
        data = {key: value for key, value in data.items() if key not in _CAMPAIGN_KEYS}
    if "offer" in data and data["offer"] is None:
        data = {key: value for key, value in data.items() if key != "offer"}
    return data


class Offer(Wire):
    """A coupon the backend just gave the payer from their habits (issue 17); the kiosk shows it
    after the payment. Never for a customer who opted out of marketing."""
    coupon_id: int
    campaign_id: int
    title_zh: Text(100)
    title_en: Text(100, min_length=0) = ""
    expires_at: AwareDatetime | None = None


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
    # Campaigns (issue 17; docs/MARKETING.md): amount_fen is the price, discount_fen what a campaign
    # or coupon took off, paid_fen what the payer paid (None: no discount, the payer paid
    # amount_fen). Sent only when a discount applied (_without_unset_campaign), so a terminal
    # built before campaigns, whose models forbid unknown keys, still reads every other answer.
    discount_fen: int = Field(default=0, ge=0, le=MAX_AMOUNT_FEN)
    paid_fen: int | None = Field(default=None, ge=0, le=MAX_AMOUNT_FEN)
    campaign_id: int | None = None
    coupon_id: int | None = None
    offer: Offer | None = None

    _without_unset_campaign = model_serializer(mode="wrap")(lambda self, handler: _drop_unset_campaign(handler(self)))


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
    campaign_fen: int = Field(default=0, ge=0, le=MAX_AMOUNT_FEN,
                              description="the part of amount_fen given back to a campaign's budget, not to the payer")

    _without_unset_campaign = model_serializer(mode="wrap")(lambda self, handler: _drop_unset_campaign(handler(self)))


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


