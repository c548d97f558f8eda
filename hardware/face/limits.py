"""The face checks' limits, as plain values: a terminal's config reads them without loading
OpenCV or NumPy (the checks themselves are hardware/face/quality.py and liveness.py)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QualityLimits:
    min_face_px: int = 150
    min_sharpness: float = 40.0
    max_asymmetry: float = 0.35
    max_roll_deg: float = 25.0


@dataclass(frozen=True)
class BlinkLimits:
    window_s: float = 4.0        # a blink must happen within this long of the face appearing
    closed_ratio: float = 0.75   # closed = EAR below this share of the open level...
    closed_max: float = 0.24     # ...and below this absolute EAR
    open_ratio: float = 0.9      # open again = back above this share of the open level
