"""The demo's compressed day: a clock that is *set* to the next scripted moment and runs in real
time between moves, so a whole day of meal periods plays in a couple of minutes while every
timestamp stays ordered. Both core.clock.Clock."""
from __future__ import annotations

import threading
import time
from datetime import date, datetime, time as dtime, timedelta, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def demo_day(now: datetime | None = None) -> date:
    """Today in Shanghai: the backend books an online payment on its own clock, so the scripted
    day must be the backend's business day for online and offline payments to share one date."""
    now = now or datetime.now(timezone.utc)
    return now.astimezone(SHANGHAI).date()


def at_local(day: date, hhmm: str) -> datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, dtime(h, m), SHANGHAI).astimezone(timezone.utc)


class DemoClock:
    def __init__(self, start: datetime):
        self._lock = threading.Lock()
        self._base = start.astimezone(timezone.utc)
        self._set_mono = time.monotonic()

    def now(self) -> datetime:
        with self._lock:
            return self._base + timedelta(seconds=time.monotonic() - self._set_mono)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def set(self, when: datetime) -> None:
        """Jump forward to `when` (never backwards: occurred_at stays ordered)."""
        with self._lock:
            current = self._base + timedelta(seconds=time.monotonic() - self._set_mono)
            self._base = max(when.astimezone(timezone.utc), current)
            self._set_mono = time.monotonic()
