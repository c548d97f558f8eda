"""The face engine: one place that turns an image into an observation, a template and a match.

The live pipeline, enrolment and `gatepay face evaluate` all go through these methods, so the
evaluated numbers are the numbers a payment gets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hardware.face.config import FaceConfig
from hardware.face.encoder import DlibEncoder, Encoder, FaceBox
from hardware.face.gallery import Gallery, Match
from hardware.face.quality import Quality, assess


HOG_MIN_FACE = 80   # px: dlib's HOG detector misses smaller faces


@dataclass(frozen=True)
class Observation:
    """The largest face in a frame, with its landmarks and quality verdict."""
    box: FaceBox
    landmarks: np.ndarray
    quality: Quality
    faces: int              # how many faces the frame holds


def build_encoder(config: FaceConfig) -> Encoder:
    # One encoder today; a stronger model becomes another branch (and its own thresholds).
    return DlibEncoder()


def mirrored(rgb: np.ndarray, box: FaceBox) -> tuple[np.ndarray, FaceBox]:
    w = rgb.shape[1]
    return np.ascontiguousarray(rgb[:, ::-1]), FaceBox(w - box.right, box.top, w - box.left, box.bottom)


class FaceEngine:
    def __init__(self, config: FaceConfig | None = None, encoder: Encoder | None = None,
                 gallery: Gallery | None = None):
        self.config = config or FaceConfig()
        self.encoder = encoder if encoder is not None else build_encoder(self.config)
        self.gallery = gallery if gallery is not None else Gallery(self.encoder.dimension, self.config.scoring)
        self._limits = self.config.quality_limits()

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        return self.encoder.detect(rgb, self.detect_side(rgb.shape))

    def detect_near(self, rgb: np.ndarray, box: FaceBox, grow: float = 0.6) -> list[FaceBox]:
        """Faces in a window around where the face was in the last frame (tracking): the same
        detection scale as a full frame, on a fraction of the pixels."""
        h, w = rgb.shape[:2]
        dx, dy = int(box.width * grow), int(box.height * grow)
        left, top = max(0, box.left - dx), max(0, box.top - dy)
        right, bottom = min(w, box.right + dx), min(h, box.bottom + dy)
        if right - left < 32 or bottom - top < 32:
            return []
        scale = min(1.0, self.detect_side(rgb.shape) / max(h, w))
        window = rgb[top:bottom, left:right]
        found = self.encoder.detect(window, max(32, int(max(window.shape[:2]) * scale)))
        return [FaceBox(b.left + left, b.top + top, b.right + left, b.bottom + top) for b in found]

    def detect_side(self, shape: tuple[int, ...]) -> int:
        """Longer side of the detection image: `detect_max_side`, but never so small that a face
        a little under `min_face_px` becomes too small for the detector (HOG finds faces from
        about 80 px), so "come closer" can still be said — and a 720p camera still works."""
        needed = max(shape[:2]) * HOG_MIN_FACE / (0.85 * self.config.min_face_px)
        return max(self.config.detect_max_side, int(np.ceil(needed)))

    def observe_box(self, rgb: np.ndarray, box: FaceBox, faces: int = 1) -> Observation:
        landmarks = self.encoder.landmarks(rgb, box)
        return Observation(box, landmarks, assess(rgb, box, landmarks, self._limits), faces)

    def observe(self, rgb: np.ndarray) -> Observation | None:
        """The largest face and its quality, or None when there is no face."""
        boxes = self.detect(rgb)
        return self.observe_box(rgb, boxes[0], len(boxes)) if boxes else None

    def probe_template(self, rgb: np.ndarray, obs: Observation) -> np.ndarray:
        """The template a payment searches with: the frame's encoding averaged with its
        mirror image's (cancels some pose and lighting asymmetry; measured in docs/FACE.md)."""
        vec = self.encoder.encode(rgb, obs.box, obs.landmarks, 1)
        if not self.config.probe_flip:
            return vec
        flip, fbox = mirrored(rgb, obs.box)
        fvec = self.encoder.encode(flip, fbox, self.encoder.landmarks(flip, fbox), 1)
        return ((vec + fvec) / 2).astype(np.float32)

    def enrol_template(self, rgb: np.ndarray, obs: Observation) -> np.ndarray:
        """The template stored for an enrolment photo: several jittered encodings averaged
        (slow, done once at signing time)."""
        return self.encoder.encode(rgb, obs.box, obs.landmarks, self.config.enrol_jitters)

    def identify(self, template: np.ndarray) -> Match:
        return self.gallery.identify(template, self.config.threshold, self.config.margin)

    def identify_image(self, rgb: np.ndarray) -> tuple[Observation | None, Match | None]:
        """A single-frame payment decision without liveness (evaluation, tests): the quality
        gate first; a Match only for a face that passed it."""
        obs = self.observe(rgb)
        if obs is None or not obs.quality.ok:
            return obs, None
        return obs, self.identify(self.probe_template(rgb, obs))
