"""Templates made before model ids (dlib's) keep paying after the upgrade, and a terminal changes
face model only once every signed face has templates for the new one."""
from __future__ import annotations

import base64

import cv2
import numpy as np

from hardware.events import FaceMatched
from hardware.face.config import FaceConfig, LivenessConfig
from hardware.face.engine import FaceEngine
from hardware.face.frames import to_rgb
from hardware.face.templates import pack
from terminal.face_loop import FaceLoop, choose_model, load_gallery
from tests.backend.helpers import wait_for
from tests.terminal.helpers import Page, open_store, register_fake
from tests.terminal.test_runner import ROOT

FACES = ROOT / "tests" / "data" / "faces"
NOT_REQUIRED = LivenessConfig(mode="not_required")


def photo(name: str) -> np.ndarray:
    return cv2.imread(str(FACES / name))


def enrol(engine: FaceEngine, name: str) -> np.ndarray:
    rgb = to_rgb(photo(name))
    return engine.enrol_template(rgb, engine.observe(rgb))


def signing(customer_id: int, *templates: bytes) -> dict:
    return {"customer_id": customer_id, "masked_name": "成*", "status": "active",
            "templates": [base64.b64encode(t).decode() for t in templates],
            "per_payment_limit_fen": 5000, "per_day_limit_fen": 20000}


def test_old_dlib_templates_keep_paying_and_the_switch_waits_for_a_complete_gallery(tmp_path):
    dlib = FaceEngine(FaceConfig(encoder="dlib", enrol_jitters=1))
    sface = FaceEngine(FaceConfig(enrol_jitters=1))
    # what an upgraded terminal holds: 512 bare bytes per template, as every store before model ids
    old = {101: enrol(dlib, "Jackie_Chan_0001.jpg").astype("<f4").tobytes(),
           102: enrol(dlib, "Tang_Jiaxuan_0001.jpg").astype("<f4").tobytes()}
    store = open_store(tmp_path / "terminal.db")
    register_fake(store)
    Page().add("face_signing", 101, signing(101, old[101])).add("face_signing", 102, signing(102, old[102])).apply(store)
    config = FaceConfig(liveness=NOT_REQUIRED)                       # the new default: sface
    assert store.cache.face_models() == {101: {"dlib"}, 102: {"dlib"}}
    assert choose_model(store, config).model == "dlib"
    gallery = load_gallery(store, config, "dlib")
    assert gallery.model == "dlib" and gallery.persons == 2

    # the face loop, configured for sface, still runs dlib for these diners — and pays
    camera = _camera("Jackie_Chan_0002.jpg")
    events: list = []
    loop = FaceLoop(camera, config, store, emit=events.append, engine=FaceEngine(config, sface.encoder))
    loop.start()
    try:
        wait_for(lambda: any(isinstance(e, FaceMatched) for e in events), 120)
    finally:
        loop.stop()
    assert loop.engine.encoder.name == "dlib"
    assert [e.customer_id for e in events if isinstance(e, FaceMatched)] == [101]

    # retemplating reaches 101 only: still dlib (102 would be locked out)
    new101 = pack("sface", enrol(sface, "Jackie_Chan_0001.jpg"))
    Page(3).add("face_signing", 101, signing(101, old[101], new101)).apply(store)
    half = choose_model(store, config)
    assert (half.model, half.complete) == ("dlib", True)
    # ... and 102: now every signing has sface, the terminal switches
    new102 = pack("sface", enrol(sface, "Tang_Jiaxuan_0001.jpg"))
    Page(4).add("face_signing", 102, signing(102, old[102], new102)).apply(store)
    assert choose_model(store, config).model == "sface"
    gallery = load_gallery(store, config, "sface")
    assert gallery.model == "sface" and gallery.persons == 2
    store.close()


def _camera(name: str):  # noqa: ANN202 - a simulated camera playing one photo
    from hardware.camera import SimulatedCamera

    return SimulatedCamera([photo(name)], fps=5)
