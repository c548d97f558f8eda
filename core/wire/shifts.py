"""A terminal's shift close, compared with the ledger."""
from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, model_validator

from core.wire.fields import MAX_AMOUNT_FEN, PaymentMethod, Wire

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
