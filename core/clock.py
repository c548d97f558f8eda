"""The one clock of gatepay, injected everywhere a decision depends on time.

Terminal, devices and backend all take a `Clock`; production passes `SystemClock`, tests pass a
`ManualClock` pinned to a date and move it instead of sleeping, so no test depends on today's
date. Times are aware UTC datetimes; `monotonic()` measures durations only; `sleep()` waits on this
clock (a manual clock just moves forward, so a simulated 15 fps camera plays in zero wall time).
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

# A Monday at 12:00 in Shanghai, in the middle of a month: far from every cut-off a test could
# trip over by accident (midnight, month end, year end). Tests that want a cut-off pin it.
DEFAULT_START = datetime(2026, 3, 2, 4, 0, tzinfo=timezone.utc)


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def timestamp(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to, or when something sleeps on it (thread-safe)."""

    def __init__(self, start: datetime | None = None):
        start = start or DEFAULT_START
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

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)

    def set(self, when: datetime) -> None:
        """Jump to `when` (forwards or backwards: a wall clock can be set back; monotonic time
        still only moves forward, as on a real machine)."""
        with self._lock:
            self._mono += max(0.0, (when - self._now).total_seconds())
            self._now = when.astimezone(timezone.utc)

    def timestamp(self) -> float:
        """Unix seconds, for request signing that stays inside the backend's pinned window."""
        return self.now().timestamp()


def to_iso(dt: datetime) -> str:
    """UTC ISO text as stored in the terminal's SQLite file (sorts lexically)."""
    return dt.astimezone(timezone.utc).isoformat(timespec="microseconds")


def from_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
