"""The terminal's clock, injected everywhere a decision depends on time.

Tests pass a `ManualClock` and move it forward instead of sleeping; production uses
`SystemClock`. Times are aware UTC datetimes; `monotonic()` measures durations only.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that only moves when told to (thread-safe, for tests and replays)."""

    def __init__(self, start: datetime | None = None):
        start = start or datetime(2026, 3, 2, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(timezone.utc)
        self._mono = 1000.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float = 0.0, **kw: float) -> datetime:
        delta = timedelta(seconds=seconds, **kw)
        with self._lock:
            self._now += delta
            self._mono += delta.total_seconds()
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._mono += (when - self._now).total_seconds()
            self._now = when.astimezone(timezone.utc)


def to_iso(dt: datetime) -> str:
    """UTC ISO text as stored in the terminal's SQLite file (sorts lexically)."""
    return dt.astimezone(timezone.utc).isoformat(timespec="microseconds")


def from_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
