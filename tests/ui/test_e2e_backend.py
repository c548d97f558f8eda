"""End to end with the real backend as a process on loopback (terminal/demo/backend_process.py via the
sync tests' canteen rig): an installer registers a terminal in the wizard and tests a device; a
diner pays; the backend stops and the offline banner appears with the queue; it comes back and
"sync now" empties the queue."""
from __future__ import annotations

import base64
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from hardware.events import FaceMatched
from core.clock import ManualClock
from tests.backend.money_helpers import CONSENT_AT
from tests.sync.rig import Canteen
from tests.terminal.helpers import open_store
from tests.ui.helpers import services, show, unlock
from ui.bridge import CoreBridge
from ui.kiosk import KioskWindow
from ui.wizard import InstallerWizard


@pytest.fixture(scope="module")
def canteen(tmp_path_factory):  # noqa: ANN001, ANN201
    site = Canteen(tmp_path_factory.mktemp("backend"))
    yield site
    site.close()


def test_installer_registers_the_terminal_and_tests_the_gate(qtbot, tr, tmp_path, canteen) -> None:  # noqa: ANN001
    store = open_store(tmp_path / "terminal.db", ManualClock())
    try:
        wizard = show(qtbot, InstallerWizard(tr, services(tmp_path, store)))
        wizard.scene_page.buttons["canteen"].setChecked(True)
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
        page = wizard.backend_page
        page.url.setText(canteen.url)
        page.code.setText("WRONG-CODE-123")
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.error_of("code") != "", timeout=15000)
        assert page.error_of("code") == "注册码无效、已用过或已过期，请向银行要一个新的"
        assert store.identity() is None
        page.code.setText(canteen.code("三号窗口"))
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: wizard.current() is wizard.discover_page, timeout=15000)
        identity = store.identity()
        assert identity is not None and identity.name == "三号窗口"
        assert page.status.text() == f"注册成功：终端 {identity.terminal_id}（三号窗口）"
        assert page.code.text() == ""                      # the spent code is not kept on screen
        qtbot.waitUntil(lambda: wizard.discover_page.found != [], timeout=10000)
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
        gate = next(p for p in wizard.device_pages if p.found.kind == "gate")
        wizard.go_to(gate)
        qtbot.mouseClick(gate.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: gate.test_button.isEnabled(), timeout=30000)
        assert gate.result.text().startswith("测试通过")
    finally:
        store.close()


def test_offline_banner_follows_the_backend(qtbot, tr, tmp_path, canteen) -> None:  # noqa: ANN001
    first, second = canteen.diner(wallet_fen=5000), canteen.diner(wallet_fen=5000, name="李小四")
    term = canteen.terminal(tmp_path / "t1")
    core = canteen.core(term)
    try:
        window = show(qtbot, KioskWindow(CoreBridge(core), tr, "canteen"))
        window.bridge.attach()
        qtbot.waitUntil(lambda: window.screen_widget.view is not None)
        assert not window.banner.isVisible()

        def pay(customer_id: int) -> None:
            core.handle_event(FaceMatched(customer_id=customer_id, distance=0.3, margin=0.2, liveness="passed",
                                          at=term.decider.clock.now()))

        pay(first)
        qtbot.waitUntil(lambda: window.screen_widget.view.phase == "paid")
        assert "支付成功" in window.screen_widget.visible_text() and "¥5.00" in window.screen_widget.visible_text()
        assert "张*三" in window.screen_widget.visible_text()
        assert not window.banner.isVisible() and not window.screen_widget.view.outcome.offline

        canteen.backend.stop()
        pay(second)
        qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=15000)
        assert window.banner.text() == "离线模式 · 待上传 1 笔"
        assert "已离线记账" in window.screen_widget.visible_text()

        canteen.backend.start()
        unlock(qtbot, window)
        window.admin.tabs.setCurrentIndex(1)
        window.admin.sync_button.click()
        qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=20000)
        assert "已连接后台" in window.admin.sync_state.text() and "待上传 0 笔" in window.admin.sync_detail.text()
        assert len(canteen.payments(term.store.identity().terminal_id)) == 2    # both booked, once each
    finally:
        term.close()


FACES = Path(__file__).resolve().parents[1] / "data" / "faces"


def _signed_face_diner(canteen: Canteen, engine, photo: Path, name: str) -> int:  # noqa: ANN001
    """A diner signed up with the template of a real photo (as the bank's enrolment would)."""
    import cv2

    rgb = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
    template = engine.enrol_template(rgb, engine.observe(rgb))
    cid = canteen.post("/api/v1/customers", {"name": name})["id"]
    canteen.post(f"/api/v1/customers/{cid}/signings/face", {
        "consent_at": CONSENT_AT, "consent_text_version": "v1",
        "templates": [base64.b64encode(np.asarray(template, "<f4").tobytes()).decode()],
        "per_payment_limit_fen": 100_000, "per_day_limit_fen": 1_000_000})
    canteen.post(f"/api/v1/customers/{cid}/deposits", {"deposit_id": f"dep-{cid}-face", "amount_fen": 3000})
    return cid


def test_diner_pays_by_face_from_the_camera_simulator(qtbot, tr, tmp_path, canteen) -> None:  # noqa: ANN001
    from hardware.camera import SimulatedCamera, SimulatedCameraConfig
    from hardware.face.config import FaceConfig, LivenessConfig
    from hardware.face.engine import FaceEngine
    from hardware.face.pipeline import FacePipeline
    from ui.widgets import FramePump

    # LFW photos hold ~100 px faces; a still photo cannot blink, so liveness is "not required"
    # here (a staffed gate) — liveness itself is tested with the face engine. The JSON signings
    # API takes dlib templates (512 bare bytes, read as model "dlib"), so this diner is dlib's.
    engine = FaceEngine(FaceConfig(encoder="dlib", min_face_px=80, liveness=LivenessConfig(mode="not_required")))
    cid = _signed_face_diner(canteen, engine, FACES / "Jackie_Chan_0001.jpg", "陈港生")
    term = canteen.terminal(tmp_path / "t-face")
    core = canteen.core(term, liveness_required=False)
    for person, blobs in term.store.cache.face_gallery("dlib"):    # the pulled, sealed templates
        engine.gallery.set_person(person, np.stack([np.frombuffer(b, "<f4") for b in blobs]))
    camera = SimulatedCamera.from_config(SimulatedCameraConfig(files=[str(FACES / "Jackie_Chan_0002.jpg")],
                                                               fps=15))
    pipeline = FacePipeline(engine, clock=term.decider.clock)
    window = show(qtbot, KioskWindow(CoreBridge(core), tr, "canteen"))
    window.bridge.attach()
    latest: list = [None]     # one reader of the camera; the preview shows its latest frame
    pump = FramePump(lambda: latest[0], fps=10)
    pump.frame.connect(window.screen_widget.preview.set_frame)
    pump.start()
    stop = threading.Event()

    def lane() -> None:       # the core's side: frames -> pipeline -> events -> core
        while not stop.is_set():
            latest[0] = frame = camera.read()
            for event in pipeline.process(frame):
                core.handle_event(event)

    worker = threading.Thread(target=lane)
    worker.start()
    try:
        qtbot.waitUntil(lambda: getattr(window.screen_widget.view, "phase", None) == "paid", timeout=60000)
        text = window.screen_widget.visible_text()
        assert "支付成功" in text and "陈*生" in text and "¥5.00" in text and "个人余额 ¥25.00" in text
        assert window.screen_widget.preview.has_frame()
        assert not window.banner.isVisible()
        booked = canteen.payments(term.store.identity().terminal_id)
        assert list(booked.values()) == ["approved"] and canteen.wallet(cid) == 2500
    finally:
        stop.set()
        worker.join(30)
        pump.stop()
        term.close()
