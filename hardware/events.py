"""What devices tell the terminal core. Scenes consume only these; no driver detail leaks out.

Every event carries `at` (aware datetime from the injected clock) and `device` (the config name
of the device that produced it). Card numbers, pay codes and face images never appear in repr().
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class FaceMatched:
    """A live, quality-checked face matched 1:N to a signed person."""
    customer_id: int
    distance: float
    margin: float           # distance gap to the second-best person
    liveness: str           # "passed" | "not_required"
    at: datetime
    device: str = "camera"


@dataclass(frozen=True)
class FaceConfirm:
    """A live face that is one of `candidates` (customer ids, nearest first) but not clearly
    which, or not near enough to accept outright: the kiosk asks for the last 4 digits of the
    diner's phone and pays only if exactly one candidate's digits match (FaceConfig.digit_check)."""
    candidates: tuple[int, ...]
    distance: float         # the nearest candidate's distance
    margin: float           # distance gap between the nearest two people
    liveness: str           # "passed" | "not_required"
    at: datetime
    device: str = "camera"


@dataclass(frozen=True)
class FaceRejected:
    """A face was seen but cannot pay; `reason` is a code the UI turns into words."""
    reason: str             # no_match | ambiguous | too_small | blurry | not_frontal | spoof | liveness_timeout
    at: datetime
    device: str = "camera"


@dataclass(frozen=True)
class CodeScanned:
    """A pay code or other barcode; `kind` from the pay-code classifier."""
    text: str = field(repr=False)
    kind: str               # wechat | alipay | unionpay | bank | campus | unknown
    at: datetime
    device: str = "scanner"


@dataclass(frozen=True)
class CardTapped:
    card_hash: str = field(repr=False)   # keyed hash made in the driver; the number never leaves it
    at: datetime = None  # type: ignore[assignment]
    device: str = "card_reader"


@dataclass(frozen=True)
class PlateRead:
    plate: str              # normalised, e.g. 京A12345 or 粤BD12345
    colour: str             # blue | yellow | green | white | black | yellow_green
    confidence: float
    direction: str          # in | out | unknown
    at: datetime            # when the camera saw the car (not when we received it)
    camera: str
    image_ref: str | None = None
    replayed: bool = False  # pushed from the camera's offline cache: never opens a barrier late
