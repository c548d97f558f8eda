"""What the terminal core shows, and what a screen may ask of it.

The UI (ui/) and the headless runner only read these immutable views and call the methods of
`TerminalPort`; they never touch the store, the devices or the network. The core publishes a new
view whenever something a person would see changes. Money is integer fen.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Literal, Protocol

from sync.status import SyncStatus

OutcomeStatus = Literal["approved", "declined", "already_paid"]


@dataclass(frozen=True)
class MealPeriodView:
    code: str
    name_zh: str
    name_en: str
    price_fen: int | None          # None: the amount is keyed in at the window


@dataclass(frozen=True)
class OfferView:
    """A coupon the backend gave the payer with this payment (issue 17, offers from habits); the
    kiosk shows it after the payment."""
    coupon_id: int
    title_zh: str
    title_en: str = ""
    expires_at: datetime | None = None


@dataclass(frozen=True)
class PaymentOutcome:
    """The answer a diner or driver sees (and hears) after one payment decision.

    `amount_fen` is the price: what the merchant is paid (a campaign pays it the discount), what
    refunds are counted against and what the shift totals add up, as on the backend. The payer
    paid `paid_fen` = price - `discount_fen`; subsidy_fen + own_fen is that paid amount."""
    payment_id: str
    status: OutcomeStatus
    amount_fen: int
    method: str                     # face | card | paycode | plate
    at: datetime
    subsidy_fen: int = 0            # part paid from subsidies
    own_fen: int = 0                # part paid from the own account / bank card / channel
    masked_name: str | None = None  # 张*三 — never the full name
    wallet_balance_fen: int | None = None
    subsidy_balance_fen: int | None = None
    reason: str | None = None       # machine code of a decline
    message_zh: str = ""            # what the screen says, plain words, says what to do
    message_en: str = ""
    offline: bool = False           # decided offline, queued for the backend
    paid_at: datetime | None = None # for already_paid: when the earlier payment was made
    discount_fen: int = 0           # what a campaign or coupon took off the price (issue 17)
    offer: OfferView | None = None  # a coupon given with this payment, shown after it

    @property
    def price_fen(self) -> int:
        return self.amount_fen

    @property
    def paid_fen(self) -> int:
        """What the payer actually paid (what the screen shows big and the voice says)."""
        return self.amount_fen - self.discount_fen


@dataclass(frozen=True)
class ConfirmView:
    """A close face call: the diner keys the last 4 digits of their phone (terminal/face_confirm.py)."""
    tries_left: int
    wrong: bool = False                    # the last try did not match


@dataclass(frozen=True)
class CanteenView:
    phase: Literal["idle", "recognising", "confirm", "paid", "declined", "already_paid", "closed"]
    meal_period: MealPeriodView | None
    sync: SyncStatus
    prompt: str | None = None              # e.g. "blink" while liveness runs
    outcome: PaymentOutcome | None = None
    keyed_amount_fen: int | None = None    # amount keyed in at the window, if any
    confirm: ConfirmView | None = None     # phase "confirm": the 4-digit check
    next_period: MealPeriodView | None = None   # phase "closed": the meal that opens next,
    opens_at: datetime | None = None            # and when (the screen says it)


@dataclass(frozen=True)
class ParkingView:
    phase: Literal["idle", "entry_open", "entry_refused", "exit_quote", "exit_paid", "exit_free",
                   "exit_refused", "barrier_opening"]
    lane_id: int | None
    direction: Literal["entry", "exit"]
    sync: SyncStatus
    lane_name: str | None = None           # as the backend named the lane (registration)
    plate: str | None = None
    plate_colour: str | None = None
    image_ref: str | None = None
    entered_at: datetime | None = None
    duration_s: int | None = None
    fee_fen: int | None = None
    qr_text: str | None = None             # exit order QR when payment is needed
    pay_kind: str | None = None            # member | contactless | qr | paycode | free_by_attendant
    fee_reason: str | None = None          # "no_entry_record": the car park's fallback fee was charged
    outcome: PaymentOutcome | None = None
    message_zh: str = ""
    message_en: str = ""


@dataclass(frozen=True)
class PaymentRow:
    """A row of the admin screen's list of today's payments."""
    payment_id: str
    at: datetime
    amount_fen: int
    method: str
    masked_name: str | None
    status: str                            # queued | booked | declined_after_fact | refunded | voided
    offline: bool
    refunded_fen: int = 0


@dataclass(frozen=True)
class ShiftTotals:
    opened_at: datetime
    closed_at: datetime
    count_by_method: dict[str, int] = field(default_factory=dict)
    fen_by_method: dict[str, int] = field(default_factory=dict)
    refunds_count: int = 0
    refunds_fen: int = 0
    queued: int = 0                        # still waiting to be pushed
    # The backend's comparison of this shift with what it booked (POST /terminal/shift-close).
    backend_checked: bool = False          # False: not compared (offline, or no backend configured)
    differences: list["ShiftDifferenceRow"] = field(default_factory=list)   # empty + checked: balanced
    pushed_for_check: int = 0              # payments pushed because the backend asked for them
    backend_note_zh: str = ""              # plain words when the check could not run, says what to do
    backend_note_en: str = ""


@dataclass(frozen=True)
class ShiftDifferenceRow:
    """One difference the backend found at shift close, in the backend's plain words."""
    kind: str                              # not_booked | unknown_to_terminal | amount_differs | totals_differ | push_needed
    message_zh: str
    message_en: str
    payment_id: str | None = None
    method: str | None = None
    terminal_fen: int | None = None
    backend_fen: int | None = None


class TerminalPort(Protocol):
    """The calls a screen or the headless runner may make. Implemented by terminal/app.py."""

    def subscribe(self, callback: Callable[[object], None]) -> None:
        """callback(view) with a CanteenView/ParkingView/SyncStatus on every visible change.
        Called from the core's worker thread: the UI must hop to its own thread (Qt signal)."""

    def current_view(self) -> object: ...

    def key_in_amount(self, amount_fen: int) -> None:
        """Cashier keys in the amount for the next canteen payment (price_fen None periods)."""

    def key_in_digits(self, digits: str) -> PaymentOutcome | None:
        """The diner keyed the last 4 digits of their phone for a close face call (phase
        "confirm"): the outcome once decided, None while they may try again."""

    def cancel_confirm(self) -> None:
        """The diner pressed Back on the digits screen."""

    def verify_pin(self, pin: str) -> bool: ...

    def list_payments(self, day: str | None = None, query: str = "") -> list[PaymentRow]: ...

    def refund(self, payment_id: str, amount_fen: int, reason: str, pin: str) -> PaymentOutcome: ...

    def void(self, payment_id: str, reason: str, pin: str) -> PaymentOutcome: ...

    def sync_now(self) -> SyncStatus: ...

    def offline_queue(self) -> list[PaymentRow]: ...

    def declined_after_fact(self) -> list[PaymentRow]: ...

    def running_shift(self) -> ShiftTotals:
        """The shift so far (nothing closed or sent), shown before the cashier confirms a close."""

    def close_shift(self, pin: str) -> ShiftTotals: ...

    def recheck_shift(self, pin: str) -> ShiftTotals:
        """Compare the last closed shift with the backend again (after it was offline)."""
