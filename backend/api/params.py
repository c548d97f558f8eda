"""Bounded path/body id types: an id beyond a 32-bit integer is a 422, never a database error."""
from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

from core.wire import Text  # noqa: F401 - the one text validator, shared with the wire models

MAX_ID = 2**31 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="a database id")]
IdField = Annotated[int, Field(ge=1, le=MAX_ID, description="a database id")]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID, description="filter by this id")]
