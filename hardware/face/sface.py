"""YuNet detection + SFace encoding (OpenCV Zoo models, int8), behind the `Encoder` interface.

- YuNet (cv2.FaceDetectorYN) finds faces with 5 landmarks (eyes, nose tip, mouth corners) on a
  copy downscaled to `max_side`; the points travel with the box (`FaceBox.points`).
- The face is aligned from those 5 points onto the standard 112x112 ArcFace/SFace crop (a
  similarity transform: rotation, uniform scale, shift, least squares — Umeyama), as OpenCV's
  FaceRecognizerSF.alignCrop does, and SFace turns it into 128 numbers (onnxruntime).
- The SFace file declares its weight tensors also as graph inputs that nothing feeds;
  onnxruntime asks for them at run time. They are dropped from the graph's input list in memory
  at load (the `onnx` package); the file on disk is never changed. Its int8 weights are folded
  into float32 constants once at load (QDQ handling off), not dequantized on every run.

Both files are checked against their sha256 when the encoder is built (hardware/face/models.py).
Calls are serialised with a lock: YuNet keeps its input size as state.
"""
from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

from hardware.face.encoder import FaceBox
from hardware.face.models import MODELS, ModelFileError, checked_files

SFACE_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
# The ArcFace reference points of a 112x112 crop (subject's right eye = image left first).
REFERENCE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                          [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)
MIRROR_ORDER = [1, 0, 2, 4, 3]    # the 5 points of a mirrored face: eyes and mouth corners swap


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 rotation + uniform scale + shift that best maps src points onto dst (Umeyama 1991)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_d, dst_d = src - src_mean, dst - dst_mean
    cov = dst_d.T @ src_d / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1
    rotation = u @ np.diag(d) @ vt
    var = src_d.var(axis=0).sum()
    scale = float((s * d).sum() / var) if var > 0 else 1.0
    shift = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, shift[:, None]])


def align_112(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The 112x112 face crop SFace was trained on, from the 5 YuNet points."""
    matrix = similarity_transform(points, REFERENCE_112)
    return cv2.warpAffine(rgb, matrix, (112, 112), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def strip_dangling_inputs(model_bytes: bytes) -> bytes:
    """The SFace graph without the inputs nothing needs to feed: inputs that are initializers
    (weights) or that no node consumes (leftovers of the int8 conversion)."""
    import onnx

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    weights = {i.name for i in graph.initializer}
    consumed = {name for node in graph.node for name in node.input}
    keep = [i for i in graph.input if i.name not in weights and i.name in consumed]
    del graph.input[:]
    graph.input.extend(keep)
    return model.SerializeToString()


class SFaceEncoder:
    """YuNet + SFace. `landmarks` gives YuNet's 5 points (image-left eye, image-right eye, nose
    tip, image-left mouth corner, image-right mouth corner)."""

    name = "sface"
    dimension = 128

    def __init__(self, model_dir: Path | None = None, score_threshold: float = 0.7, threads: int = 1):
        files = checked_files(MODELS["sface"], model_dir)   # ModelFileError at start, not later
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3                       # the graph's style warnings are noise
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        # The int8 weights sit behind DequantizeLinear nodes. With QDQ handling on, onnxruntime
        # keeps those nodes and dequantizes 10 MB of weights on every run; off, it folds them into
        # float32 constants once at load: same outputs (max difference 1.5e-6), 37 -> 24 ms CPU.
        options.add_session_config_entry("session.disable_quant_qdq", "1")
        try:
            self._session = ort.InferenceSession(strip_dangling_inputs(files[SFACE_FILE]), options,
                                                 providers=["CPUExecutionProvider"])
            self._detector = cv2.FaceDetectorYN.create(
                "onnx", np.frombuffer(files[YUNET_FILE], np.uint8), np.zeros(0, np.uint8), (320, 320),
                score_threshold, 0.3, 50)
        except Exception as exc:  # noqa: BLE001 - any loader error means the same thing to an installer
            raise ModelFileError(f"人脸模型无法加载 / face model cannot be loaded: {exc}") from exc
        self._input = self._session.get_inputs()[0].name
        self._lock = threading.Lock()

    def detect(self, rgb: np.ndarray, max_side: int = 640) -> list[FaceBox]:
        h, w = rgb.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        small = rgb if scale >= 1.0 else cv2.resize(
            rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)      # YuNet was trained on BGR
        with self._lock:
            self._detector.setInputSize((bgr.shape[1], bgr.shape[0]))
            _, found = self._detector.detect(bgr)
        boxes = []
        for row in (found if found is not None else []):
            x, y, bw, bh = (row[:4] / scale).tolist()
            points = (row[4:14].reshape(5, 2) / scale).astype(np.float32)
            box = FaceBox(max(0, round(x)), max(0, round(y)), min(w, round(x + bw)), min(h, round(y + bh)),
                          points=tuple(map(tuple, points.tolist())))
            if box.area > 0:
                boxes.append(box)
        return sorted(boxes, key=lambda b: b.area, reverse=True)

    def landmarks(self, rgb: np.ndarray, box: FaceBox) -> np.ndarray:
        if box.points is not None and len(box.points) == 5:
            return np.asarray(box.points, dtype=np.float32)
        # A box from elsewhere (a caller's own): find the face again around it.
        h, w = rgb.shape[:2]
        pad = max(box.width, box.height) // 2
        left, top = max(0, box.left - pad), max(0, box.top - pad)
        window = rgb[top:min(h, box.bottom + pad), left:min(w, box.right + pad)]
        found = self.detect(window, max(window.shape[:2])) if min(window.shape[:2]) >= 32 else []
        if not found:
            cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
            return (np.array(REFERENCE_112, np.float32) - 56) * (box.width / 112) + np.float32([cx, cy])
        return np.asarray(found[0].points, np.float32) + np.float32([left, top])

    def encode(self, rgb: np.ndarray, box: FaceBox, landmarks: np.ndarray, jitters: int = 1) -> np.ndarray:
        """The 128-d template of the aligned face. `jitters` >= 2 averages it with the mirrored
        crop's (what enrolment asks for: steadier templates)."""
        crop = align_112(rgb, np.asarray(landmarks, np.float64)[:5])
        crops = [crop] if jitters < 2 else [crop, np.ascontiguousarray(crop[:, ::-1])]
        with self._lock:    # the graph's batch size is fixed at 1
            out = np.vstack([self._session.run(None, {self._input: c.astype(np.float32).transpose(2, 0, 1)[None]})[0]
                             for c in crops])          # RGB, 0..255, NCHW (as FaceRecognizerSF feeds it)
        out = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out.mean(axis=0).astype(np.float32)

    @staticmethod
    def mirror_points(points: np.ndarray, width: int) -> np.ndarray:
        flipped = np.asarray(points, np.float32).copy()
        flipped[:, 0] = width - flipped[:, 0]
        return flipped[MIRROR_ORDER]

