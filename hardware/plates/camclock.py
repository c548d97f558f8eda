"""How far each camera's clock is from ours, learnt from its own pushes.

Cameras stamp each result with their own clock, and many lane cameras have no NTP: a camera
ten minutes slow would make every push look ten minutes late (the barrier would never open)
and every parking stay ten minutes long. An online push travels in milliseconds, so over the
last few pushes the smallest (our time - camera time) is the camera's offset; a push whose
delay is well above that offset is a late one (a retry, a cached record).
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from datetime import datetime, timedelta

log = logging.getLogger(__name__)

SAMPLES = 20
WARN_AFTER = timedelta(seconds=5)


class CameraClocks:
    def __init__(self) -> None:
        self._delays: dict[str, deque[timedelta]] = {}
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def observe(self, camera: str, seen_at: datetime, now: datetime) -> timedelta:
        """Learn from an online push; returns the camera's offset (our time - its time)."""
        with self._lock:
            delays = self._delays.setdefault(camera, deque(maxlen=SAMPLES))
            delays.append(now - seen_at)
            offset = min(delays)
        if abs(offset) > WARN_AFTER and camera not in self._warned:
            self._warned.add(camera)
            log.warning("camera %s clock is off by %.0f s; set its time server (NTP)",
                        camera, offset.total_seconds())
        return offset

    def offset(self, camera: str) -> timedelta:
        with self._lock:
            delays = self._delays.get(camera)
            return min(delays) if delays else timedelta(0)
