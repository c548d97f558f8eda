"""Face engine settings: one validated model, part of the terminal config.

The defaults are the shipped, measured settings (docs/FACE.md explains each number). They are
for the dlib ResNet encoder; another encoder has its own distance scale and needs its own.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hardware.face.liveness import BlinkLimits
from hardware.face.quality import QualityLimits


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

    encoder: Literal["dlib_resnet_v1"] = Field("dlib_resnet_v1", title="Face model",
                                               description="The encoder; thresholds belong to it")
    threshold: float = Field(0.38, title="Match distance", description="A person matches only if "
                             "their distance is at most this (lower = stricter)", ge=0.2, le=0.6)
    margin: float = Field(0.08, title="Margin to next person", description="The best person must be "
                          "at least this much nearer than the second-best person", ge=0.0, le=0.3)
    scoring: Literal["centroid", "min"] = Field(
        "centroid", title="Person score", description="centroid: distance to the mean of the person's "
        "templates; min: nearest template")
    duplicate_threshold: float = Field(
        0.44, title="Enrolment duplicate distance", description="Refuse to enrol a face this near to "
        "another signed person", ge=0.2, le=0.7)
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
    max_asymmetry: float = Field(0.6, title="Most head turn", description="Landmark asymmetry "
                                 "(0 = frontal, 1 = profile)", ge=0.05, le=1)
    max_roll_deg: float = Field(25.0, title="Most head tilt (degrees)", description="Angle of the "
                                "eye line", ge=5, le=90)
    track_iou: float = Field(0.3, title="Tracking overlap", description="Least box overlap to treat "
                             "a face as the same person as in the last frame", ge=0.05, le=0.95)
    liveness: LivenessConfig = Field(default_factory=LivenessConfig, title="Liveness")

    def quality_limits(self) -> QualityLimits:
        return QualityLimits(self.min_face_px, self.min_sharpness, self.max_asymmetry, self.max_roll_deg)
