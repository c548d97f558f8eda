"""The same car on the same lane within a short window is one visit, not several.

Cameras push a car more than once (a second trigger, a retry, two cameras on one lane). Within
the window a repeat push gets the first answer's words but never a second barrier pulse — with
one exception: a decision that arrived after the camera already had its "please wait" answer
is handed to the next push of that car once, barrier included (the car is evidently still
there; the attendant's manual trigger on the camera makes that push happen).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hardware.plates.push import LaneAnswer

Key = tuple[str, str]       # (lane, plate)


@dataclass
class _Seen:
    at: datetime
    answer: LaneAnswer
    unsent: bool = False


class RecentCars:
    def __init__(self, window_s: float, placeholder: LaneAnswer, limit: int = 5000) -> None:
        self.window = timedelta(seconds=window_s)
        self.placeholder = placeholder
        self.limit = limit
        self._seen: dict[Key, _Seen] = {}
        self._lock = threading.Lock()

    def claim(self, key: Key, now: datetime) -> LaneAnswer | None:
        """None for a new visit (now claimed, so a concurrent repeat waits its turn as a repeat);
        otherwise the answer for this repeat push."""
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen.at < self.window:
                if seen.unsent:
                    seen.unsent = False
                    return seen.answer
                return replace(seen.answer, open_barrier=False, voice=None)
            self._seen[key] = _Seen(now, self.placeholder)
            if len(self._seen) > self.limit:
                self._forget(now)
            return None

    def settle(self, key: Key, answer: LaneAnswer, sent: bool) -> None:
        """Record the decision for `key`; `sent=False` when the camera did not get it."""
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None:
                seen.answer, seen.unsent = answer, not sent

    def _forget(self, now: datetime) -> None:
        for key in [k for k, s in self._seen.items() if now - s.at >= self.window]:
            del self._seen[key]
