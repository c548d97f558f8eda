"""The installer wizard sets up a lane end to end: which gate a payment opens when the box has
several, and a parking lane's plate camera (the push endpoint's allow-list and secret, tested
live with a camera pushing real Vzenith JSON on loopback). The saved file then runs: the runner
opens only the chosen gate, and its push endpoint takes the listed camera and refuses others."""
from __future__ import annotations

import io
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from hardware.plates.simulator import SimulatedVzenithCamera
from core.clock import ManualClock, SystemClock
from terminal.config import check_pin, load_config
from terminal.runner import Runner
from terminal.store import Identity, Store, load_data_key
from tests.backend.helpers import wait_for
from terminal.demo.backend_process import free_port
from tests.sync.rig import ALL_DAY
from tests.terminal.helpers import Page, open_store, register_fake
from tests.ui.helpers import services, show
from ui.i18n import Translator
from terminal.installer.results import FoundDevice
from ui.wizard import InstallerWizard

PHOTO = (Path(__file__).parents[1] / "data" / "plates" / "rpnet_demo_3.jpg").read_bytes()
SERIAL = "SN-ENTRY-1"
PIN = "2468"


@pytest.fixture
def store(tmp_path):  # noqa: ANN001, ANN201
    store = open_store(tmp_path / "wizard.db", ManualClock())
    yield store
    store.close()


def _next(qtbot, wizard) -> None:  # noqa: ANN001
    qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)


def _test(qtbot, page) -> str:  # noqa: ANN001
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.test_button.isEnabled(), timeout=60000)
    return page.result.text()


def _page(wizard, kind: str, n: int = 0):  # noqa: ANN001, ANN202
    return [p for p in wizard.device_pages if p.found.kind == kind][n]


def _discover(qtbot, wizard, scene: str, direction: str | None, keep: set[str]) -> None:  # noqa: ANN001
    """Scene chosen, registered as by the backend page, devices found; only `keep` kinds ticked."""
    wizard.scene_page.buttons[scene].setChecked(True)
    if direction:
        wizard.scene_page.directions[direction].setChecked(True)
    wizard.backend_page.registration = Identity(terminal_id=9, merchant_id=1, site_id=1, lane_id=4, scene=scene,
                                                name="东门", registered_at=None)
    wizard.backend_page.url.setText("http://127.0.0.1:9")
    wizard.go_to(wizard.discover_page)
    qtbot.waitUntil(lambda: wizard.discover_page.found != [], timeout=10000)
    for found, (check, _combo, _row) in zip(wizard.discover_page.found, wizard.discover_page.rows):
        check.setChecked(found.kind in keep and found.label != "/dev/ttyUSB7 (CH340)"
                         and not (found.kind == "plate_camera" and found.config.get("simulated")))
    _next(qtbot, wizard)


def _save(qtbot, wizard, tmp_path: Path):  # noqa: ANN001, ANN202
    for _ in wizard.pages:
        if wizard.current() is wizard.save_page:
            break
        _next(qtbot, wizard)
    assert wizard.current() is wizard.save_page, wizard.current().error_of("")
    wizard.save_page.pin.setText(PIN)
    wizard.save_page.pin_again.setText(PIN)
    _next(qtbot, wizard)


def _registered_store(data_dir: Path) -> None:
    """The terminal's own store, as registration leaves it, with limits and one diner."""
    store = Store.open(data_dir / "terminal.db", load_data_key(data_dir), SystemClock())
    register_fake(store)
    Page().limits().face(101).balance(101, 5000).apply(store)
    store.close()


def push_when_up(url: str, serial: str, plate: str, source: str = "127.0.0.1", wait_s: float = 30.0):  # noqa: ANN201
    """A camera that keeps trying until the endpoint listens, then pushes one car."""
    camera = SimulatedVzenithCamera(url, serial, PHOTO, source_address=source)
    replies = []

    def pushed() -> bool:
        try:
            replies.append(camera.see(plate))
        except OSError:
            return False                      # the endpoint does not listen yet
        return True

    return replies[0] if wait_for(pushed, wait_s) else None


class CameraAtTheLane:
    """The installer at the lane: a camera pushes while the wizard's test listens."""

    def __init__(self, url: str, serial: str = SERIAL, source: str = "127.0.0.1") -> None:
        self.reply = None
        self._thread = threading.Thread(target=lambda: setattr(self, "reply", push_when_up(url, serial, "皖AMK620",
                                                                                           source)), daemon=True)
        self._thread.start()

    def wait(self):  # noqa: ANN201
        self._thread.join(35)
        return self.reply


def _fill_plate_camera(page, port: int, image_dir: Path, serial: str = SERIAL, address: str = "127.0.0.1") -> str:  # noqa: ANN001
    form = page.form
    form.inputs["host"].setText("127.0.0.1")
    form.inputs["port"].setText(str(port))
    form.inputs["image_dir"].setText(str(image_dir))
    row = form.inputs["cameras"].rows[0][1]
    row.inputs["serialno"].setText(serial)
    row.inputs["address"].setText(address)
    return form.inputs["secret"].text()



def _filled_plate_camera_page(qtbot, tmp_path: Path, store, serial: str = SERIAL, wait_s: float = 2.0):  # noqa: ANN001, ANN202
    """The wizard at an entry lane's plate camera page, filled in to listen on a free port:
    (wizard, page, port, the push secret)."""
    wizard = show(qtbot, InstallerWizard(Translator(), services(tmp_path, store, {"data_dir": str(tmp_path)},
                                                                wait_s=wait_s)))
    _discover(qtbot, wizard, "parking", "entry", keep={"plate_camera"})
    plate = _page(wizard, "plate_camera")
    port = free_port()
    return wizard, plate, port, _fill_plate_camera(plate, port, tmp_path / "plates", serial=serial)

# --- the gate a payment opens ---------------------------------------------------------------------

def test_two_gates_the_installer_chooses_one_and_only_that_gate_opens(qtbot, tmp_path, store) -> None:  # noqa: ANN001
    data_dir = tmp_path / "data"
    base = {"data_dir": str(data_dir), "meal_periods": ALL_DAY, "liveness_required": False}
    two_gates = services(tmp_path, store, base)
    real_discover = two_gates.discover
    second = FoundDevice("gate", "模拟器 2 / simulator 2", {"type": "modbus_gate", "simulated": True, "travel_ms": 100})
    two_gates = replace(two_gates, discover=lambda scene, direction: [*real_discover(scene, direction), second])
    tr = Translator()
    wizard = show(qtbot, InstallerWizard(tr, two_gates))
    _discover(qtbot, wizard, "canteen", None, keep={"gate"})
    assert [p.found.config["name"] for p in wizard.device_pages] == ["gate", "gate_2"]
    for page in wizard.device_pages:
        assert _test(qtbot, page).startswith("测试通过"), page.result.text()
    _save(qtbot, wizard, tmp_path)
    save = wizard.save_page
    assert save.gate_title.isVisibleTo(wizard) and save.gate_title.text() == "付款成功后打开哪一个闸机？"
    assert sorted(save.gate_buttons) == ["gate", "gate_2"]
    assert save.error_of("gate") == "请从上面的闸机中选择本通道要打开的那一个"
    tr.set_language("en")
    assert save.error_of("gate") == "Choose, from the gates above, the one this lane opens"
    assert wizard.current() is save and not (tmp_path / "terminal.yaml").exists()
    save.gate_buttons["gate_2"].setChecked(True)
    save.pin.setText(PIN)
    save.pin_again.setText(PIN)
    _next(qtbot, wizard)
    qtbot.waitUntil(lambda: wizard.current() is wizard.doctor_page, timeout=10000)
    config = load_config(tmp_path / "terminal.yaml", environ={})
    assert config.gate == "gate_2" and config.lane_gate == "gate_2" and check_pin(PIN, config.admin_pin_hash)

    _registered_store(data_dir)
    runner = Runner(config, out=io.StringIO())
    runner.feed(['{"face": 101}\n'])
    runner.run(stop_at_eof=True)
    assert "APPROVED" in runner.out.getvalue()
    opened = {name: d.simulator.barrier.triggers for name, d in runner.devices.items() if hasattr(d, "simulator")}
    assert opened == {"gate": 0, "gate_2": 1}


def test_one_gate_needs_no_choice(qtbot, tmp_path, store) -> None:  # noqa: ANN001
    wizard = show(qtbot, InstallerWizard(Translator(), services(tmp_path, store, {"data_dir": str(tmp_path)})))
    _discover(qtbot, wizard, "canteen", None, keep={"gate"})
    assert _test(qtbot, _page(wizard, "gate")).startswith("测试通过")
    _save(qtbot, wizard, tmp_path)
    assert not wizard.save_page.gate_title.isVisibleTo(wizard)
    assert not wizard.save_page.barrier_title.isVisibleTo(wizard)          # a canteen has no barrier choice
    qtbot.waitUntil(lambda: wizard.current() is wizard.doctor_page, timeout=10000)
    config = load_config(tmp_path / "terminal.yaml", environ={})
    assert config.gate is None and config.lane_gate == "gate"


# --- a parking lane's plate camera ----------------------------------------------------------------

def test_plate_camera_set_up_in_the_wizard_runs_the_lane(qtbot, tmp_path, store) -> None:  # noqa: ANN001
    data_dir = tmp_path / "data"
    base = {"data_dir": str(data_dir), "parking": {"direction": "exit", "fallback_no_entry_fee_fen": 800,
                                                   "repeat_window_s": 45}}
    wizard = show(qtbot, InstallerWizard(Translator(), services(tmp_path, store, base, wait_s=20.0)))
    _discover(qtbot, wizard, "parking", "entry", keep={"plate_camera", "gate"})
    plate = _page(wizard, "plate_camera")
    assert plate.title() == "设置 车牌相机"
    assert plate.form.inputs["cameras"].rows[0][1].inputs["name"].text() == "entry-1"   # named after the lane
    port = free_port()
    secret = _fill_plate_camera(plate, port, tmp_path / "plates")
    assert len(secret) >= 12                                   # a fresh one, for the camera's push URL
    camera = CameraAtTheLane(f"http://127.0.0.1:{port}/plates/push?key={secret}")
    assert _test(qtbot, plate) == "测试通过：收到相机 entry-1 推送的车牌 皖AMK620"
    reply = camera.wait()
    assert reply.status == 200 and not reply.opened and reply.display == ["皖AMK620", "测试成功"]
    assert plate.preview.has_frame()                           # the pushed photo
    assert _test(qtbot, _page(wizard, "gate")).startswith("测试通过")
    _save(qtbot, wizard, tmp_path)
    assert wizard.save_page.barrier_via() == "gate" and wizard.save_page.barrier_title.isVisibleTo(wizard)
    qtbot.waitUntil(lambda: wizard.current() is wizard.doctor_page, timeout=10000)

    config = load_config(tmp_path / "terminal.yaml", environ={})
    lane = config.parking
    assert (lane.direction, lane.lane_id, lane.barrier_via) == ("entry", 4, "gate")
    assert (lane.fallback_no_entry_fee_fen, lane.repeat_window_s) == (800, 45)     # not shown: kept
    (push,) = [d for d in config.devices if d.type == "plate_push"]
    assert push.secret.get_secret_value() == secret            # as typed into the camera, not masked
    assert [(c.name, c.serialno, str(c.address), c.direction) for c in push.cameras] == \
        [("entry-1", SERIAL, "127.0.0.1", "in")]

    _registered_store(data_dir)
    runner = Runner(config, out=io.StringIO())
    try:
        runner.start_devices()
        url = f"http://127.0.0.1:{port}/plates/push"
        reply = push_when_up(f"{url}?key={secret}", SERIAL, "皖AMK620")
        assert reply.status == 200 and reply.display[0] == "皖AMK620"
        assert not reply.opened                  # barrier_via gate: our relay lifts it, not the camera
        assert push_when_up(f"{url}?key={secret}", SERIAL, "皖A11111", source="127.0.0.9").status == 403
        assert push_when_up(f"{url}?key={secret}", "SN-OTHER", "皖A22222").status == 403
        assert push_when_up(f"{url}?key=wrong", SERIAL, "皖A33333").status == 401
        gate = runner.devices["gate"]
        qtbot.waitUntil(lambda: gate.simulator.barrier.triggers == 1, timeout=5000)
        parking = runner.core.scene.parking
        assert parking.local_inside("皖AMK620") is not None and parking.local_inside("皖A11111") is None
    finally:
        runner.close()


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_bad_camera_entries_get_an_error_at_the_field(qtbot, tmp_path, store, language) -> None:  # noqa: ANN001
    tr = Translator()
    wizard = show(qtbot, InstallerWizard(tr, services(tmp_path, store, {"data_dir": str(tmp_path)})))
    _discover(qtbot, wizard, "parking", "exit", keep={"plate_camera", "gate"})
    plate = _page(wizard, "plate_camera")
    wizard.go_to(plate)
    tr.set_language(language)
    zh = language == "zh_CN"
    cameras = plate.form.inputs["cameras"]
    _next(qtbot, wizard)                                       # serial and address still empty
    assert plate.form.error_of("cameras.0.address") == ("必填" if zh else "Required")
    assert plate.form.error_of("cameras.0.serialno") == ("必填" if zh else "Required")
    row = cameras.rows[0][1]
    row.inputs["serialno"].setText(SERIAL)
    row.inputs["address"].setText("300.1.2.3")
    _next(qtbot, wizard)
    assert plate.form.error_of("cameras.0.address") == (
        "不是有效的 IP 地址，例如 192.168.1.64" if zh else "Not a valid IP address, e.g. 192.168.1.64")
    assert plate.form.error_of("cameras.0.serialno") == ""
    row.inputs["address"].setText("192.168.1.64")
    qtbot.mouseClick(cameras.add_button, Qt.MouseButton.LeftButton)
    second = cameras.rows[1][1]
    for key, value in (("name", "exit-1"), ("serialno", "SN-EXIT-2"), ("address", "192.168.1.65")):
        second.inputs[key].setText(value)
    _next(qtbot, wizard)
    assert plate.form.error_of("cameras.1.name") == (
        "名称“exit-1”重复了，请换一个" if zh else "The name “exit-1” is used twice: choose another")
    assert plate.form.error_of("cameras.0.name") == ""
    qtbot.mouseClick(cameras.rows[1][2], Qt.MouseButton.LeftButton)     # remove it again
    qtbot.mouseClick(cameras.rows[0][2], Qt.MouseButton.LeftButton)
    _next(qtbot, wizard)
    assert plate.form.error_of("cameras") == ("至少要有 1 项" if zh else "Add at least 1")
    plate.form.inputs["name"].setText("gate")                   # the gate's page already has it
    _next(qtbot, wizard)
    assert plate.form.error_of("name") == (
        "名称“gate”已被另一台设备使用，请换一个" if zh else "Another device is already named “gate”: choose another")
    assert wizard.current() is plate


def test_a_camera_heard_but_not_listed_is_named_and_filled_in(qtbot, tmp_path, store) -> None:  # noqa: ANN001
    _, plate, port, secret = _filled_plate_camera_page(qtbot, tmp_path, store, serial="SN-TYPO", wait_s=20.0)
    camera = CameraAtTheLane(f"http://127.0.0.1:{port}/plates/push?key={secret}")
    result = _test(qtbot, plate)
    assert camera.wait().status == 403                         # refused as the lane would refuse it
    assert result == ("测试未通过：收到 127.0.0.1（序列号 SN-ENTRY-1）的推送，但它不在允许列表中；"
                      "已填入下方列表，请核对后再测一次")
    rows = plate.form.inputs["cameras"].rows
    assert len(rows) == 1 and rows[0][1].inputs["serialno"].text() == SERIAL   # the typo is mended
    camera = CameraAtTheLane(f"http://127.0.0.1:{port}/plates/push?key={secret}")
    assert _test(qtbot, plate).startswith("测试通过")
    assert camera.wait().status == 200


def test_a_plate_camera_without_a_push_says_where_to_point_it(qtbot, tmp_path, store) -> None:  # noqa: ANN001
    wizard, plate, port, secret = _filled_plate_camera_page(qtbot, tmp_path, store, wait_s=1.0)
    assert _test(qtbot, plate) == (f"测试未通过：1 秒内没有收到推送：请在相机的推送地址中填写 "
                                   f"http://<本机IP>:{port}/plates/push?key={secret}，再触发一次识别")
    _next(qtbot, wizard)
    assert "还没有测试通过" in plate.error_of("")


def _simulated_plate_camera(qtbot, wizard):  # noqa: ANN001, ANN202
    """Only the plate camera simulator ticked, its test passed (it pushes for the installer)."""
    _discover(qtbot, wizard, "parking", "exit", keep=set())
    wizard.go_to(wizard.discover_page)
    for found, (check, _combo, _row) in zip(wizard.discover_page.found, wizard.discover_page.rows):
        check.setChecked(found.kind == "plate_camera" and bool(found.config.get("simulated")))
    _next(qtbot, wizard)
    plate = _page(wizard, "plate_camera")
    plate.form.inputs["port"].setText(str(free_port()))
    return plate, _test(qtbot, plate)


def test_the_simulated_plate_camera_pushes_for_the_installer(qtbot, tmp_path, store) -> None:  # noqa: ANN001
    wizard = show(qtbot, InstallerWizard(Translator(), services(tmp_path, store, {"data_dir": str(tmp_path)})))
    _plate, result = _simulated_plate_camera(qtbot, wizard)
    assert result == "测试通过：收到相机 exit-1 推送的车牌 京A12345"


def test_the_barrier_must_have_something_to_lift_it(qtbot, tmp_path, store) -> None:  # noqa: ANN001
    tr = Translator()
    wizard = show(qtbot, InstallerWizard(tr, services(tmp_path, store, {"data_dir": str(tmp_path)})))
    _plate, result = _simulated_plate_camera(qtbot, wizard)
    assert result.startswith("测试通过")
    _save(qtbot, wizard, tmp_path)
    save = wizard.save_page
    assert save.barrier_via() == "camera"            # no gate: the camera's own output is the start
    save.barrier_buttons["gate"].setChecked(True)
    _next(qtbot, wizard)
    assert save.error_of("barrier_via") == "没有设置闸机：请选择由车牌相机抬杆，或回到前面加一台闸机"
    tr.set_language("en")
    assert save.error_of("barrier_via").startswith("No gate is set up")
    save.barrier_buttons["camera"].setChecked(True)
    _next(qtbot, wizard)
    qtbot.waitUntil(lambda: wizard.current() is wizard.doctor_page, timeout=10000)
    assert load_config(tmp_path / "terminal.yaml", environ={}).parking.barrier_via == "camera"


def test_a_rerun_offers_the_plate_camera_as_set_up_secret_and_all(qtbot, tmp_path, store) -> None:  # noqa: ANN001
    from tests.terminal.helpers import PIN_HASH
    from terminal.installer.config import existing_config

    port = free_port()
    path = tmp_path / "terminal.yaml"
    path.write_text(f"""scene: parking
backend_url: http://127.0.0.1:9
admin_pin_hash: '{PIN_HASH}'
data_dir: {tmp_path / 'data'}
parking: {{direction: exit, lane_id: 3, barrier_via: camera, min_confidence: 0.8}}
devices:
  - {{type: plate_push, name: lpr, host: 127.0.0.1, port: {port}, secret: lane-3-key, image_dir: {tmp_path / 'img'},
     cameras: [{{name: exit-1, serialno: {SERIAL}, address: 127.0.0.1, direction: out}}]}}
""", encoding="utf-8")
    base = existing_config(path)
    assert base["devices"][0]["secret"] == "lane-3-key"
    wizard = show(qtbot, InstallerWizard(Translator(), services(tmp_path, store, base, wait_s=20.0)))   # saves to `path`
    _next(qtbot, wizard)                                  # scene and direction as they were
    _next(qtbot, wizard)                                  # registered before: no code
    qtbot.waitUntil(lambda: wizard.discover_page.found != [], timeout=10000)
    labels = [f.label for f in wizard.discover_page.found if f.kind == "plate_camera"]
    assert labels == ["lpr · 当前设置 / current"]                # no second endpoint on offer
    for found, (check, _combo, _row) in zip(wizard.discover_page.found, wizard.discover_page.rows):
        check.setChecked(found.label.startswith("lpr"))
    _next(qtbot, wizard)
    plate = _page(wizard, "plate_camera")
    assert plate.form.inputs["secret"].text() == "lane-3-key"
    camera = CameraAtTheLane(f"http://127.0.0.1:{port}/plates/push?key=lane-3-key")
    assert _test(qtbot, plate).startswith("测试通过")
    assert camera.wait().status == 200
    _next(qtbot, wizard)
    assert wizard.save_page.barrier_via() == "camera"
    _next(qtbot, wizard)                                  # PIN left empty: kept
    qtbot.waitUntil(lambda: wizard.current() is wizard.doctor_page, timeout=10000)
    config = load_config(path, environ={})
    assert config.devices[0].secret.get_secret_value() == "lane-3-key" and config.devices[0].name == "lpr"
    assert (config.parking.lane_id, config.parking.min_confidence, config.parking.barrier_via) == (3, 0.8, "camera")


def test_the_plate_camera_says_next_to_the_test_button_what_is_missing(qtbot, tmp_path, store) -> None:  # noqa: ANN001
    _, plate, port, secret = _filled_plate_camera_page(qtbot, tmp_path, store)
    assert f"推送地址：http://本机IP:{port}/plates/push?key={secret}" in plate.hint.text()   # before any test
    plate.form.inputs["port"].setText("8099")                    # the hint follows the form
    assert "http://本机IP:8099/plates/push" in plate.hint.text()
    qtbot.mouseClick(plate.form.inputs["cameras"].rows[0][2], Qt.MouseButton.LeftButton)   # Remove the camera
    qtbot.waitUntil(lambda: "允许列表中还没有相机" in plate.hint.text())
