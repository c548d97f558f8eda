"""The face engine: one place that turns an image into an observation, a template and a match.

The live pipeline, enrolment and `gatepay face evaluate` all go through these methods, so the
evaluated numbers are the numbers a payment gets.

An engine runs ONE face model (`engine.model`, chosen by `FaceConfig.encoder` or given): its
encoder, its gallery (which refuses other models' templates) and its thresholds go together.
For the blink check the engine also needs eye contours: a dlib encoder already gives 68 points;
with SFace (5 points) dlib's 68-point predictor runs on the face box (`eye_landmarks`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hardware.face.config import FaceConfig
from hardware.face.encoder import DlibEncoder, DlibLandmarker, Encoder, FaceBox
from hardware.face.gallery import Gallery, Match
from hardware.face.models import FaceModel, get_model
from hardware.face.quality import Quality, assess


@dataclass(frozen=True)
class Observation:
    """The largest face in a frame, with its landmarks and quality verdict."""
    box: FaceBox
    landmarks: np.ndarray
    quality: Quality
    faces: int              # how many faces the frame holds


def build_encoder(config: FaceConfig, model_id: str | None = None) -> Encoder:
    """The encoder of `model_id` (default: the configured one). SFace checks its model files'
    sha256 here and raises ModelFileError at once: at start, not at the first diner."""
    model = get_model(model_id or config.encoder)
    if model.id == "sface":
        from hardware.face.sface import SFaceEncoder

        return SFaceEncoder(config.model_dir, threads=config.encoder_threads)
    return DlibEncoder()


def mirrored(rgb: np.ndarray, box: FaceBox) -> tuple[np.ndarray, FaceBox]:
    w = rgb.shape[1]
    points = None
    if box.points is not None and len(box.points) == 5:
        from hardware.face.sface import SFaceEncoder

        points = tuple(map(tuple, SFaceEncoder.mirror_points(np.asarray(box.points), w).tolist()))
    return np.ascontiguousarray(rgb[:, ::-1]), FaceBox(w - box.right, box.top, w - box.left, box.bottom, points)


class FaceEngine:
    def __init__(self, config: FaceConfig | None = None, encoder: Encoder | None = None,
                 gallery: Gallery | None = None):
        self.config = config or FaceConfig()
        self.encoder = encoder if encoder is not None else build_encoder(self.config)
        self.gallery = gallery if gallery is not None else Gallery(
            self.encoder.dimension, self.config.scoring, model=self.encoder.name)
        self._limits = self.config.quality_limits()
        self._eyes: DlibLandmarker | None = None    # dlib's 68-point predictor (blink check)
        self.load_liveness_model()

    def load_liveness_model(self) -> None:
        """Load the blink check's landmark model now (~1 s) when this encoder's own points have
        no eye contours, so it is not loaded while the first diner waits. Call again after
        swapping the encoder."""
        live = self.config.liveness
        if live.mode == "required" and live.blink and self.encoder.name != "dlib" and self._eyes is None:
            self._eyes = DlibLandmarker()

    @property
    def model(self) -> FaceModel:
        """The running model's numbers (thresholds, margin, confirm band, duplicate distance)."""
        return self.config.model(self.encoder.name)

    def eye_landmarks(self, rgb: np.ndarray, obs: Observation) -> np.ndarray:
        """68 points for the blink check (eye contours 36-47)."""
        if len(obs.landmarks) == 68:
            return obs.landmarks
        if self._eyes is None:
            self._eyes = DlibLandmarker()
        return self._eyes.landmarks(rgb, dlib_like_box(obs.box, obs.landmarks))

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
        return [b.shifted(left, top) for b in found]

    def detect_side(self, shape: tuple[int, ...]) -> int:
        """Longer side of the detection image: `detect_max_side`, but never so small that a face
        a little under `min_face_px` becomes too small for the detector (HOG finds faces from
        about 80 px, YuNet from about 20), so "come closer" can still be said — and a 720p
        camera still works."""
        smallest = get_model(self.encoder.name).detector_min_face_px
        needed = max(shape[:2]) * smallest / (0.85 * self.config.min_face_px)
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
        """accept / confirm / reject with the running model's numbers (see gallery.Match)."""
        m = self.config.model(self.gallery.model)
        return self.gallery.identify(template, m.threshold, m.margin, m.confirm_threshold)


def dlib_like_box(box: FaceBox, points: np.ndarray) -> FaceBox:
    """A box framed the way dlib's HOG detector frames a face (its 68-point predictor was trained
    on those), from YuNet's 5 points: centred between eyes and mouth, 2.25 eye distances wide.
    Measured on 78 lfw-calib photos against dlib's own HOG boxes: IoU median 0.83, eye aspect
    ratio within 0.009 (median; 90th percentile 0.031) of the one from the HOG box."""
    eyes = np.asarray(points[:2], np.float64)
    mouth = np.asarray(points[3:5], np.float64)
    eye_mid, mouth_mid = eyes.mean(axis=0), mouth.mean(axis=0)
    side = 2.25 * float(np.linalg.norm(eyes[1] - eyes[0]))
    cx, cy = (eye_mid + mouth_mid) / 2
    return FaceBox(round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2))
