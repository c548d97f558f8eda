"""Bounded path/body id types: an id beyond a 32-bit integer is a 422, never a database error."""
from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, Field

MAX_ID = 2**31 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="a database id")]
IdField = Annotated[int, Field(ge=1, le=MAX_ID, description="a database id")]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="filter by this id")]


def _printable(value: str) -> str:
    # Control characters (NUL above all: PostgreSQL refuses it in text) never belong in a name.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


def Text(max_length: int, min_length: int = 1):  # noqa: ANN201, N802 - reads like a type
    """A one-line human text field (a name, a reason) of bounded length."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_printable)]
