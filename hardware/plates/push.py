"""What every plate-camera vendor adapter turns its pushes into, and what it must answer.

A vendor is one file implementing `PlatePushAdapter`: parse the pushed body into a `PlatePush`
(or raise `PushRejected` with a 4xx status), and render a `LaneAnswer` into the HTTP answer that
drives that vendor's camera (barrier relay, LED display, voice). The server (server.py) does the
rest — allow-list, secret, de-duplication, offline replay rules, images — the same for all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class PushRejected(ValueError):
    """A push the endpoint refuses. `status` is the HTTP status (4xx); `reason` is for the log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class PlatePush:
    """One recognition result from a camera, vendor detail removed (plate not yet validated)."""
    camera_serial: str
    license: str | None               # as the camera read it; None: a car without a readable plate
    colour: str | None                # our colour names (core.plates.COLOURS) or None
    confidence: float                 # 0..1
    record_id: int | None             # the camera's id of this record (Vzenith: plateid)
    offline: bool                     # pushed from the camera's offline cache (a late replay)
    seen_at: datetime | None          # when the camera saw the car, if it said
    motion: str = "unknown"           # the camera's own motion code, as text
    image: bytes | None = field(default=None, repr=False)
    image_type: str = "jpg"


@dataclass(frozen=True)
class LaneAnswer:
    """What the lane should do for this car. The scene decides; the adapter speaks it."""
    open_barrier: bool = False
    display: tuple[str, ...] = ()     # LED lines, top first
    voice: str | None = None


class PlatePushAdapter(Protocol):
    vendor: str

    def parse(self, body: bytes) -> PlatePush:
        """The push in `body`, or PushRejected(4xx) for anything malformed."""
        ...

    def render(self, push: PlatePush | None, answer: LaneAnswer) -> tuple[int, bytes]:
        """(HTTP status, body) telling the camera what to do. `push` is None when the body could
        not be parsed."""
        ...
