"""The demo's faces: who is enrolled from which sample photo, and how a photo becomes camera
frames. The RGB camera sees the photo on a 640x480 grey frame; the infrared camera beside it sees
a live face where the RGB camera sees it (the grey image) and sees nothing where a phone screen
shows a photo (a dark frame) — the IR liveness check of hardware/face is what refuses the spoof."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

FACES = Path(__file__).resolve().parents[2] / "tests" / "data" / "faces"

# name -> (enrolment photo, photos the camera sees later, which canteen)
ENROLLED = {
    "Jackie_Chan": ("Jackie_Chan_0001.jpg", ["Jackie_Chan_0003.jpg"], "school"),
    "Tang_Jiaxuan": ("Tang_Jiaxuan_0001.jpg", ["Tang_Jiaxuan_0002.jpg", "Tang_Jiaxuan_0003.jpg"], "school"),
    "Annette_Lu": ("Annette_Lu_0001.jpg", ["Annette_Lu_0002.jpg"], "school"),
    "Hu_Jintao": ("Hu_Jintao_0001.jpg", ["Hu_Jintao_0001.jpg"], "school"),
    "Kim_Ryong-sung": ("Kim_Ryong-sung_0001.jpg", ["Kim_Ryong-sung_0001.jpg"], "company"),
    "Ron_Dittemore": ("Ron_Dittemore_0001.jpg", ["Ron_Dittemore_0002.jpg"], "company"),
    "Yoriko_Kawaguchi": ("Yoriko_Kawaguchi_0003.jpg", ["Yoriko_Kawaguchi_0003.jpg"], "company"),
}
CHINESE_NAMES = {"Jackie_Chan": "陈港生", "Tang_Jiaxuan": "唐家璇", "Annette_Lu": "吕秀莲", "Hu_Jintao": "胡锦涛",
                 "Kim_Ryong-sung": "金龙成", "Ron_Dittemore": "罗恩", "Yoriko_Kawaguchi": "川口顺子"}
UNSIGNED_LIVE = "image_T1.jpg"          # a live person nobody signed: no match
TURNED_AWAY = "Recep_Tayyip_Erdogan_0004.jpg"   # head turned: "please face the camera"
SPOOF_PHOTO = "Tang_Jiaxuan_0003.jpg"   # a signed diner's photo held up on a phone


def photo(name: str) -> np.ndarray:
    image = cv2.imread(str(FACES / name))
    if image is None:
        raise FileNotFoundError(f"样例照片缺失 / sample photo missing: {FACES / name}")
    return image


def camera_frame(name: str) -> np.ndarray:
    """The photo as the gate camera's 640x480 frame (BGR)."""
    image = photo(name)
    canvas = np.full((480, 640, 3), 90, np.uint8)
    h, w = min(image.shape[0], 480), min(image.shape[1], 640)
    top, left = (480 - h) // 2, (640 - w) // 2
    canvas[top:top + h, left:left + w] = image[:h, :w]
    return canvas


def ir_frame(frame: np.ndarray, live: bool) -> np.ndarray:
    if live:
        return np.ascontiguousarray(frame.mean(axis=2).astype(np.uint8))
    return np.full(frame.shape[:2], 12, np.uint8)   # a phone screen is dark in infrared


def blank_frame() -> np.ndarray:
    return np.full((480, 640, 3), 90, np.uint8)


def template_text(template: np.ndarray, model: str) -> str:
    """The wire format of a template: base64 of its bytes tagged with the face model that made it
    (hardware.face.templates; bare floats would be read as an old dlib template)."""
    from hardware.face.templates import to_text

    return to_text(model, template)
