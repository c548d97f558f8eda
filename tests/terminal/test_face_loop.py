"""The terminal's face loop on a real photo: a signed diner is recognised once, the screen asks
for a blink while liveness waits and says plainly when it timed out; the preview shows the
camera picture with the face box. (A still photo cannot blink, so it never pays here.)"""
from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from core.clock import ManualClock as CameraClock
from hardware.camera import SimulatedCamera
from hardware.events import FaceRejected
from hardware.face.config import FaceConfig
from hardware.face.engine import FaceEngine
from hardware.face.frames import to_rgb
from hardware.face.templates import pack
from terminal.app import TerminalCore
from core.clock import ManualClock
from terminal.face_loop import BOX_COLOUR, FaceLoop, FacePrompt
from tests.backend.helpers import wait_for
from tests.sync.rig import ALL_DAY
from tests.terminal.helpers import Page, make_config, open_store, register_fake
from tests.terminal.test_runner import ROOT

FACES = ROOT / "tests" / "data" / "faces"


def photo(name: str) -> np.ndarray:
    return cv2.imread(str(FACES / name))


@pytest.fixture(scope="module")
def signed() -> tuple[bytes, object]:
    """Jackie Chan's enrolment template from his first photo (tagged with its model, as the
    backend sends it), and the encoder (loaded once)."""
    engine = FaceEngine(FaceConfig(enrol_jitters=1))
    rgb = to_rgb(photo("Jackie_Chan_0001.jpg"))
    return pack(engine.model.id, engine.enrol_template(rgb, engine.observe(rgb))), engine.encoder


def face_page(customer_id: int, template: bytes, start_id: int = 1) -> Page:
    return Page(start_id).limits().add("face_signing", customer_id, {
        "customer_id": customer_id, "masked_name": "成*", "status": "active",
        "templates": [base64.b64encode(template).decode()], "per_payment_limit_fen": 5000,
        "per_day_limit_fen": 20000, "funding_order": "own_first"}).balance(customer_id, 5000)


def run_until_decided(loop: FaceLoop, events: list, timeout_s: float = 120) -> None:
    loop.start()
    try:
        wait_for(lambda: any(isinstance(e, FaceRejected) for e in events), timeout_s)
    finally:
        loop.stop()


def test_a_recognised_face_is_asked_to_blink_then_refused_in_plain_words(tmp_path, signed):
    template, encoder = signed
    clock = ManualClock()
    store = open_store(tmp_path / "terminal.db", clock)
    register_fake(store)
    face_page(101, template).apply(store)
    config = make_config(tmp_path, meal_periods=ALL_DAY, liveness_required=True,
                         face={"liveness": {"window_s": 1.0}})
    settings = config.face_settings()
    assert settings.liveness.mode == "required"
    assert make_config(tmp_path, liveness_required=False).face_settings().liveness.mode == "not_required"

    camera_clock = CameraClock()
    camera = SimulatedCamera([photo("Jackie_Chan_0002.jpg")], fps=5, clock=camera_clock)
    events: list = []
    loop = FaceLoop(camera, settings, store, emit=events.append, clock=camera_clock,
                    engine=FaceEngine(settings, encoder))
    run_until_decided(loop, events)
    assert events == [FacePrompt("blink"), events[-1]]
    assert events[-1].reason == "liveness_timeout"

    shown = loop.preview_frame(timeout=0)          # the last frame, with the face box drawn
    assert shown.shape == photo("Jackie_Chan_0002.jpg").shape
    assert np.any(np.all(shown == BOX_COLOUR, axis=-1))

    core = TerminalCore(config, store, clock)
    views: list = []
    core.subscribe(views.append)
    core.handle_event(events[0])
    assert (views[-1].phase, views[-1].prompt) == ("recognising", "blink")
    outcome = core.handle_event(events[1])
    assert outcome.status == "declined" and outcome.amount_fen == 0
    assert views[-1].phase == "declined" and views[-1].prompt is None
    assert outcome.message_zh == "活体检测超时，请眨眼后重试"
    assert store.outbox.queue_depth() == 0           # nothing was charged
    store.close()


def test_every_face_refusal_has_words_that_say_what_to_do():
    from core.reasons.scenes import FACE

    reasons = ["bad_frame", "no_match", "ambiguous", "too_small", "blurry", "not_frontal", "spoof",
               "liveness_timeout"]
    for reason in reasons:
        zh, en = FACE[reason]
        assert "请" in zh, reason                      # Chinese: a request to the diner
        assert en[0].isupper() and len(en) > 10, reason
    from ui.i18n import Translator

    tr = Translator("en")
    assert tr.reason("bad_frame") == FACE["bad_frame"][1]
    for code in ("blink", "come_closer", "hold_still", "face_front"):   # what FaceLoop prompts
        assert tr.prompt(code) != code
