"""The link's health as one object: the push/pull loops and the online authorisation report
here; the UI and the doctor read `SyncStatus` snapshots of it.

No I/O and no clock of its own: callers pass `now`.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime

from sync.client import SyncFailure

SKEW_WARN_S = 30.0


@dataclass(frozen=True)
class SyncStatus:
    online: bool
    offline_since: datetime | None = None
    queue_depth: int = 0
    last_push: datetime | None = None
    last_pull: datetime | None = None
    clock_skew_s: float | None = None      # backend minus terminal; warn above 30 s
    declined_after_fact: int = 0           # offline payments the backend later refused
    last_error: str | None = None          # plain words, for the admin screen


def skew_warning(status: SyncStatus) -> str | None:
    """Plain words when the terminal's clock is off by more than 30 s (signatures and business
    days depend on it)."""
    if status.clock_skew_s is None or abs(status.clock_skew_s) <= SKEW_WARN_S:
        return None
    s = round(status.clock_skew_s)
    return (f"终端时钟与后台相差 {s} 秒，请校准时间 / The terminal clock is {s} s off the backend: "
            "set the time (NTP)")


class SyncTracker:
    def __init__(self, probe_interval_s: float = 15.0):
        self._lock = threading.Lock()
        self._status = SyncStatus(online=False)
        self._known = False               # nothing tried yet: the first payment tries online
        self._last_try: datetime | None = None
        self.probe_interval_s = probe_interval_s

    def note_success(self, now: datetime) -> None:
        with self._lock:
            self._known = True
            self._status = replace(self._status, online=True, offline_since=None, last_error=None)

    def note_failure(self, failure: SyncFailure, now: datetime) -> None:
        with self._lock:
            self._known = True
            self._last_try = now
            since = self._status.offline_since if not self._status.online and self._status.offline_since else now
            self._status = replace(self._status, online=False, offline_since=since, last_error=failure.plain)

    def note_push(self, now: datetime) -> None:
        with self._lock:
            self._status = replace(self._status, last_push=now)
        self.note_success(now)

    def note_pull(self, now: datetime) -> None:
        with self._lock:
            self._status = replace(self._status, last_pull=now)
        self.note_success(now)

    def note_skew(self, skew_s: float) -> None:
        with self._lock:
            self._status = replace(self._status, clock_skew_s=round(skew_s, 3))

    def note_error(self, words: str) -> None:
        """A problem that is not the network (e.g. a pulled page the terminal cannot read)."""
        with self._lock:
            self._status = replace(self._status, last_error=words)

    def should_try_online(self, now: datetime) -> bool:
        """Online first; while offline, try the network again only every probe interval, so
        a dead link does not add the authorise timeout to every diner's wait."""
        with self._lock:
            if not self._known or self._status.online:
                return True
            return self._last_try is None or (now - self._last_try).total_seconds() >= self.probe_interval_s

    def snapshot(self, queue_depth: int = 0, declined_after_fact: int = 0) -> SyncStatus:
        with self._lock:
            status = replace(self._status, queue_depth=queue_depth, declined_after_fact=declined_after_fact)
        warning = skew_warning(status)
        if warning and not status.last_error:
            status = replace(status, last_error=warning)
        return status
