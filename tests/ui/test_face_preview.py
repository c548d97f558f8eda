"""The kiosk's preview is the terminal's live camera with the face box, fed by the face loop
(dlib runs on the loop's thread, frames reach the screen through a FramePump, never the UI
thread), and a recognised diner's payment appears on the same screen."""
from __future__ import annotations

import numpy as np

from core.clock import ManualClock as CameraClock
from hardware.camera import SimulatedCamera
from hardware.face.engine import FaceEngine
from terminal.face_loop import BOX_COLOUR, FaceLoop
from terminal.app import TerminalCore
from core.clock import ManualClock
from tests.terminal.helpers import make_config, seeded_store
from tests.ui.helpers import show
from ui.bridge import CoreBridge
from ui.kiosk import KioskWindow
from tests.terminal.test_face_loop import face_page, photo, signed  # noqa: F401 - fixture
from ui.widgets import FramePump


def retemplated(store) -> None:  # noqa: ANN001 - terminal.store.Store
    """The seeded diners were signed before model ids (dlib templates only); as after
    `gatepay backend retemplate --model sface`, they get sface templates too — otherwise the
    terminal keeps running dlib (the model most of its signings have) and 103 could not pay."""
    import base64

    from hardware.face.templates import pack
    from tests.terminal.helpers import Page, template

    page = Page(900)
    for cid, name in ((101, "张*三"), (102, "王*")):
        fake = np.frombuffer(base64.b64decode(template(cid)), "<f4")
        page.add("face_signing", cid, {
            "customer_id": cid, "masked_name": name, "status": "active", "funding_order": "subsidy_first",
            "templates": [template(cid), base64.b64encode(pack("sface", fake)).decode()],
            "per_payment_limit_fen": 5000, "per_day_limit_fen": 20000})
    page.apply(store)


def test_the_preview_shows_the_camera_with_the_face_box_and_the_payment_follows(qtbot, tr, tmp_path, signed):  # noqa: ANN001, F811
    template, encoder = signed
    clock = ManualClock()
    config = make_config(tmp_path, liveness_required=False)     # a staffed gate: no blink needed
    core = TerminalCore(config, seeded_store(tmp_path, clock), clock)
    retemplated(core.store)
    face_page(103, template, start_id=1000).apply(core.store)
    kiosk = show(qtbot, KioskWindow(CoreBridge(core), tr, "canteen"))
    kiosk.bridge.attach()
    settings = config.face_settings()
    camera_clock = CameraClock()
    camera = SimulatedCamera([photo("Jackie_Chan_0002.jpg")], fps=5, clock=camera_clock)
    events: list = []

    def emit(event: object) -> None:
        events.append(event)
        core.handle_event(event)

    loop = FaceLoop(camera, settings, core.store, emit=emit, clock=camera_clock,
                    engine=FaceEngine(settings, encoder))
    shown: list = []
    pump = FramePump(loop.preview_frame, fps=20)
    pump.frame.connect(kiosk.screen_widget.preview.set_frame)
    pump.frame.connect(shown.append)
    loop.start()
    pump.start()
    try:
        qtbot.waitUntil(lambda: "支付成功" in kiosk.screen_widget.visible_text(), timeout=60_000)
        qtbot.waitUntil(kiosk.screen_widget.preview.has_frame, timeout=30_000)
    finally:
        pump.stop()
        loop.stop()
        core.store.close()
    assert "成*" in kiosk.screen_widget.visible_text()              # the diner's masked name
    image = shown[-1].convertToFormat(shown[-1].Format.Format_RGB888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    rgb = pixels[:, :image.width() * 3].reshape(image.height(), image.width(), 3)
    assert np.any(np.all(rgb == BOX_COLOUR[::-1], axis=-1))          # the face box is drawn
