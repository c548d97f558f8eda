"""Checking what a camera (or a file, or a caller) hands us before any model sees it.

dlib and OpenCV crash or raise obscure errors on odd arrays; a corrupt frame from a flaky USB
camera must become a clear rejection instead.
"""
from __future__ import annotations

import cv2
import numpy as np

MIN_SIDE = 32
MAX_SIDE = 4096


class BadFrame(ValueError):
    """The frame is not an image we can use; `reason` says why in plain words."""


def to_rgb(image: object) -> np.ndarray:
    """A contiguous RGB uint8 (H, W, 3) copy of a BGR/BGRA/grey uint8 frame, or BadFrame."""
    if not isinstance(image, np.ndarray):
        raise BadFrame(f"frame is not an image array but {type(image).__name__}")
    if image.dtype != np.uint8:
        raise BadFrame(f"frame pixels must be 8-bit (uint8), got {image.dtype}")
    if image.ndim not in (2, 3):
        raise BadFrame(f"frame must be 2-D or 3-D, got {image.ndim} dimensions")
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIDE or max(h, w) > MAX_SIDE:
        raise BadFrame(f"frame size {w}x{h} outside {MIN_SIDE}..{MAX_SIDE} pixels")
    if image.ndim == 2:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_GRAY2RGB)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(np.ascontiguousarray(image[:, :, 0]), cv2.COLOR_GRAY2RGB)
    if channels == 3:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2RGB)
    if channels == 4:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGRA2RGB)
    raise BadFrame(f"frame has {channels} colour channels; expected 1, 3 or 4")


def decode_image(data: bytes) -> np.ndarray:
    """Decode JPEG/PNG bytes to a BGR array, or BadFrame (random or truncated bytes)."""
    if not data:
        raise BadFrame("image file is empty")
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        image = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise BadFrame(f"image cannot be decoded: {exc.msg if hasattr(exc, 'msg') else exc}") from exc
    if image is None:
        raise BadFrame("image cannot be decoded (not a JPEG/PNG, or truncated)")
    return image
