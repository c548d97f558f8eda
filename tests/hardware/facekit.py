"""Shared real-photo material for the face tests (one engine per test process: dlib is slow)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from hardware.face.engine import FaceEngine
from hardware.face.enrol import Enroller
from hardware.face.frames import to_rgb

DATA = Path(__file__).parents[1] / "data" / "faces"
# person ids the signed people get in the test gallery
PEOPLE = {"Jackie_Chan": 1, "Tang_Jiaxuan": 2, "Annette_Lu": 3, "Ron_Dittemore": 4}


def photo(name: str) -> np.ndarray:
    image = cv2.imread(str(DATA / name))
    assert image is not None, name
    return image


@lru_cache(maxsize=1)
def engine() -> FaceEngine:
    return FaceEngine()


@lru_cache(maxsize=1)
def enrolled_templates() -> dict[int, np.ndarray]:
    """Each person enrolled through the real enrolment path with their first photo."""
    eng = FaceEngine(engine().config, engine().encoder)
    enroller = Enroller(eng)
    out = {}
    for name, pid in PEOPLE.items():
        result = enroller.enrol(pid, [photo(f"{name}_0001.jpg")])
        assert result.ok, (name, result)
        out[pid] = result.templates
    return out


def signed_engine(config=None) -> FaceEngine:
    """A fresh engine (own gallery) with the four test people signed."""
    eng = FaceEngine(config or engine().config, engine().encoder)
    for pid, templates in enrolled_templates().items():
        eng.gallery.set_person(pid, templates)
    return eng


@lru_cache(maxsize=32)
def probe(name: str) -> np.ndarray:
    eng = engine()
    rgb = to_rgb(photo(name))
    obs = eng.observe(rgb)
    assert obs is not None and obs.quality.ok, name
    return eng.probe_template(rgb, obs)


def on_canvas(image: np.ndarray, size=(640, 480), scale: float = 1.0, at=(0, 0)) -> np.ndarray:
    """Place a (scaled) photo on a grey 640x480 camera frame."""
    canvas = np.full((size[1], size[0], 3), 90, np.uint8)
    img = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale != 1 else image
    h, w = min(img.shape[0], size[1] - at[1]), min(img.shape[1], size[0] - at[0])
    canvas[at[1]:at[1] + h, at[0]:at[0] + w] = img[:h, :w]
    return canvas
