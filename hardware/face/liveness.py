"""Liveness: a printed photo or a phone screen held up to the camera must not pay.

Blink check — the eye aspect ratio (EAR, Soukupová & Čech 2016) from the 68 landmarks drops
when the eyes close. A blink is a sample clearly below the person's own open-eye level with
open samples before and after it, all within `window_s`. A photo's eyes never close, so its
EAR stays flat and the check times out. The threshold is relative to the person's open level
(people's eyes differ) with an absolute ceiling (a squint is not a blink).

Infrared check — a second camera behind an IR filter, mounted next to the RGB one: a real face
shows up in the IR frame at the same place; a phone screen emits no IR image of a face. Boxes
are compared in frame-relative coordinates, so the two cameras may differ in resolution.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from hardware.face.encoder import Encoder, FaceBox
from hardware.face.limits import BlinkLimits


def _eye_ratio(eye: np.ndarray) -> float:
    vertical = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
    horizontal = np.linalg.norm(eye[0] - eye[3])
    return float(vertical / (2.0 * horizontal)) if horizontal > 0 else 0.0


def eye_aspect_ratio(landmarks: np.ndarray) -> float:
    """Mean EAR of both eyes (points 36-41 and 42-47): about 0.3 open, below 0.2 closed."""
    return (_eye_ratio(landmarks[36:42]) + _eye_ratio(landmarks[42:48])) / 2.0


class BlinkDetector:
    """Feed (time, EAR) samples of one tracked face; `blinked` turns True once an
    open -> closed -> open sequence fits in the window."""

    def __init__(self, limits: BlinkLimits | None = None):
        self.limits = limits or BlinkLimits()
        self._samples: deque[tuple[float, float]] = deque()
        self.blinked = False

    def feed(self, t: float, ear: float) -> bool:
        if self.blinked:
            return True
        if not np.isfinite(ear) or ear <= 0:
            return False
        self._samples.append((t, ear))
        while self._samples and t - self._samples[0][0] > self.limits.window_s:
            self._samples.popleft()
        self.blinked = self._has_blink()
        return self.blinked

    def _has_blink(self) -> bool:
        ears = np.array([e for _, e in self._samples])
        if len(ears) < 3:
            return False
        open_level = float(np.percentile(ears, 90))
        closed_at = min(open_level * self.limits.closed_ratio, self.limits.closed_max)
        reopen_at = open_level * self.limits.open_ratio
        seen_open = seen_closed = False
        for e in ears:
            if not seen_open:
                seen_open = e >= reopen_at
            elif not seen_closed:
                seen_closed = e <= closed_at
            elif e >= reopen_at:
                return True
        return False


def relative_box(box: FaceBox, shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    h, w = shape[:2]
    return box.left / w, box.top / h, box.right / w, box.bottom / h


def relative_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def infrared_face_matches(encoder: Encoder, ir_rgb: np.ndarray, box: FaceBox,
                          rgb_shape: tuple[int, ...], min_iou: float, max_side: int) -> bool:
    """True when the IR frame shows a face where the RGB frame has one."""
    target = relative_box(box, rgb_shape)
    return any(relative_iou(target, relative_box(b, ir_rgb.shape)) >= min_iou
               for b in encoder.detect(ir_rgb, max_side))
