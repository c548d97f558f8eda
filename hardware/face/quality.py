"""The quality gate: is this face good enough to encode (and to pay or enrol with)?

Three checks, each with the reason code the UI turns into words:
- too_small: the face box is narrower than `min_face_px` (the person is too far away);
- blurry: the variance of the Laplacian of the face, resized to a fixed size so the measure
  does not depend on distance, is below `min_sharpness` (motion blur, out of focus);
- not_frontal: the nose tip is off the middle of the face (landmark asymmetry: head turned),
  or the eye line is tilted too far.

Landmarks are either dlib's 68 points (nose tip against the jaw edges) or YuNet's 5 (nose tip
against the eyes, along the eye line); both give 0 for a frontal face and grow towards 1 as the
head turns.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from hardware.face.encoder import FaceBox
from hardware.face.limits import QualityLimits

SHARPNESS_SIDE = 128   # face crop is resized to this before measuring sharpness


@dataclass(frozen=True)
class Quality:
    face_px: int
    sharpness: float
    asymmetry: float
    roll_deg: float
    reason: str | None          # None = passed; else too_small | blurry | not_frontal

    @property
    def ok(self) -> bool:
        return self.reason is None


def sharpness(rgb: np.ndarray, box: FaceBox) -> float:
    crop = rgb[max(0, box.top):box.bottom, max(0, box.left):box.right]
    if crop.size == 0:
        return 0.0
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(grey, (SHARPNESS_SIDE, SHARPNESS_SIDE), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def asymmetry(landmarks: np.ndarray) -> float:
    """0 for a frontal face, towards 1 as the head turns: nose tip (30) against the jaw
    edges (0 and 16); with 5 points, the nose tip's place between the eyes along the eye line."""
    if len(landmarks) == 5:
        left_eye, right_eye, nose = (np.asarray(p, np.float64) for p in landmarks[:3])
        axis = right_eye - left_eye
        length = float(np.dot(axis, axis))
        if length <= 0:
            return 1.0
        at = float(np.dot(nose - left_eye, axis)) / length      # 0.5 = midway between the eyes
        return min(1.0, abs(at - 0.5) * 2)
    nose = landmarks[30]
    left = float(np.linalg.norm(nose - landmarks[0]))
    right = float(np.linalg.norm(landmarks[16] - nose))
    total = left + right
    return abs(left - right) / total if total > 0 else 1.0


def roll_degrees(landmarks: np.ndarray) -> float:
    if len(landmarks) == 5:
        left_eye, right_eye = landmarks[0], landmarks[1]
    else:
        left_eye = landmarks[36:42].mean(axis=0)
        right_eye = landmarks[42:48].mean(axis=0)
    dx, dy = right_eye - left_eye
    return abs(math.degrees(math.atan2(float(dy), float(dx))))


def assess(rgb: np.ndarray, box: FaceBox, landmarks: np.ndarray, limits: QualityLimits) -> Quality:
    sharp = sharpness(rgb, box)
    asym = asymmetry(landmarks)
    roll = roll_degrees(landmarks)
    reason = None
    if box.width < limits.min_face_px:
        reason = "too_small"
    elif asym > limits.max_asymmetry or roll > limits.max_roll_deg:
        reason = "not_frontal"
    elif sharp < limits.min_sharpness:
        reason = "blurry"
    return Quality(box.width, sharp, asym, roll, reason)
