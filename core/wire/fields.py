"""Shared field types of the wire protocol: bounded text, times, sequence numbers, the base model."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

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


