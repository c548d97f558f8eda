"""The face encoder interface and its face_recognition (dlib) implementation.

An `Encoder` does three things: find faces in a frame, place landmarks on one, and turn it
into a fixed-length template. Everything above it (quality gate, liveness, gallery, pipeline)
only sees `FaceBox`, landmark arrays and float32 vectors; hardware/face/sface.py is the second
implementation (YuNet + SFace), and hardware/face/models.py holds each model's thresholds.

Detection runs on a downscaled copy of the frame (HOG cost grows with pixel count); boxes are
mapped back to full-frame coordinates, and landmarks/encodings use the full-resolution frame.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import cv2
import numpy as np


@dataclass(frozen=True)
class FaceBox:
    """A face rectangle in full-frame pixel coordinates (left/top inclusive). `points` are the
    detector's own landmarks when it gives some (YuNet: 5), in the same coordinates."""
    left: int
    top: int
    right: int
    bottom: int
    points: tuple[tuple[float, float], ...] | None = field(default=None, compare=False, repr=False)

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def iou(self, other: FaceBox) -> float:
        ix = max(0, min(self.right, other.right) - max(self.left, other.left))
        iy = max(0, min(self.bottom, other.bottom) - max(self.top, other.top))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def scaled(self, fx: float, fy: float) -> FaceBox:
        points = None if self.points is None else tuple((x * fx, y * fy) for x, y in self.points)
        return FaceBox(round(self.left * fx), round(self.top * fy),
                       round(self.right * fx), round(self.bottom * fy), points)

    def shifted(self, dx: int, dy: int) -> FaceBox:
        points = None if self.points is None else tuple((x + dx, y + dy) for x, y in self.points)
        return FaceBox(self.left + dx, self.top + dy, self.right + dx, self.bottom + dy, points)


@runtime_checkable
class Encoder(Protocol):
    """What the face engine needs from a face model. Images are RGB uint8 (H, W, 3)."""

    name: str
    dimension: int

    def detect(self, rgb: np.ndarray, max_side: int) -> list[FaceBox]:
        """Faces in the frame, largest first; detection may run on a copy downscaled so that
        its longer side is at most `max_side` pixels."""
        ...

    def landmarks(self, rgb: np.ndarray, box: FaceBox) -> np.ndarray:
        """The model's alignment points, float32 (n, 2): dlib 68 (iBUG 300-W order), SFace 5
        (YuNet's: eyes, nose tip, mouth corners). hardware/face/quality.py reads either."""
        ...

    def encode(self, rgb: np.ndarray, box: FaceBox, landmarks: np.ndarray,
               jitters: int = 1) -> np.ndarray:
        """The face template: float32 vector of length `dimension`."""
        ...


class DlibEncoder:
    """face_recognition's models: HOG detector, 68-point shape predictor, ResNet 128-d encoder.

    The dlib models load lazily on first use (importing this module loads nothing)."""

    name = "dlib"
    dimension = 128

    def __init__(self, upsample: int = 0):
        self._upsample = upsample
        self._models: tuple | None = None

    def _load(self) -> tuple:
        if self._models is None:
            import warnings

            with warnings.catch_warnings():
                # face_recognition_models imports pkg_resources, which warns on import.
                warnings.simplefilter("ignore")
                import dlib
                import face_recognition_models as frm
            self._models = (
                dlib,
                dlib.get_frontal_face_detector(),
                dlib.shape_predictor(frm.pose_predictor_model_location()),
                dlib.face_recognition_model_v1(frm.face_recognition_model_location()),
            )
        return self._models

    def detect(self, rgb: np.ndarray, max_side: int = 400) -> list[FaceBox]:
        _, detector, _, _ = self._load()
        h, w = rgb.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        small = rgb if scale >= 1.0 else cv2.resize(
            rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        rects = detector(np.ascontiguousarray(small), self._upsample)
        boxes = []
        for r in rects:
            box = FaceBox(r.left(), r.top(), r.right(), r.bottom()).scaled(1 / scale, 1 / scale)
            boxes.append(FaceBox(max(0, box.left), max(0, box.top), min(w, box.right), min(h, box.bottom)))
        return sorted((b for b in boxes if b.area > 0), key=lambda b: b.area, reverse=True)

    def _shape(self, rgb: np.ndarray, box: FaceBox, points: np.ndarray | None = None):
        dlib, _, predictor, _ = self._load()
        rect = dlib.rectangle(int(box.left), int(box.top), int(box.right), int(box.bottom))
        if points is None:
            return predictor(rgb, rect)
        return dlib.full_object_detection(rect, [dlib.point(int(round(x)), int(round(y))) for x, y in points])

    def landmarks(self, rgb: np.ndarray, box: FaceBox) -> np.ndarray:
        shape = self._shape(np.ascontiguousarray(rgb), box)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)

    def encode(self, rgb: np.ndarray, box: FaceBox, landmarks: np.ndarray,
               jitters: int = 1) -> np.ndarray:
        _, _, _, net = self._load()
        rgb = np.ascontiguousarray(rgb)
        shape = self._shape(rgb, box, landmarks)
        vec = net.compute_face_descriptor(rgb, shape, max(0, int(jitters)))
        return np.asarray(vec, dtype=np.float32)


class DlibLandmarker:
    """dlib's 68-point shape predictor alone (the blink check's eye contours when the encoder's
    own landmarks have no eyes, e.g. YuNet's 5 points). Loads only the predictor, not HOG or the
    ResNet."""

    def __init__(self):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")      # face_recognition_models imports pkg_resources
            import dlib
            import face_recognition_models as frm
        self._dlib = dlib
        self._predictor = dlib.shape_predictor(frm.pose_predictor_model_location())

    def landmarks(self, rgb: np.ndarray, box: FaceBox) -> np.ndarray:
        rect = self._dlib.rectangle(int(box.left), int(box.top), int(box.right), int(box.bottom))
        shape = self._predictor(np.ascontiguousarray(rgb), rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
