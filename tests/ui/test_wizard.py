"""The installer wizard, step by step: an error per field in the installer's language, and the
real services behind it (registration against an unreachable address, device forms from the
real config models, live tests of the device simulators, the saved TerminalConfig)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from core.clock import ManualClock
from terminal.config import load_config
from terminal.demo.backend_process import free_port
from tests.terminal.helpers import open_store
from tests.ui.helpers import services, show
from ui.i18n import Translator
from ui.wizard import InstallerWizard


@pytest.fixture
def store(tmp_path):  # noqa: ANN001, ANN201
    store = open_store(tmp_path / "terminal.db", ManualClock())
    yield store
    store.close()


@pytest.fixture
def wizard(qtbot, tr, tmp_path, store):  # noqa: ANN001, ANN201
    return show(qtbot, InstallerWizard(tr, services(tmp_path, store)))


def _next(qtbot, wizard) -> None:  # noqa: ANN001
    qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)


def test_scene_must_be_chosen_and_a_parking_lane_its_direction(qtbot, wizard) -> None:  # noqa: ANN001
    _next(qtbot, wizard)
    assert wizard.scene_page.error_of("scene") == "请选择一个场景"
    assert not wizard.scene_page.directions["exit"].isVisibleTo(wizard)
    wizard.scene_page.buttons["parking"].setChecked(True)
    assert wizard.scene_page.directions["exit"].isVisibleTo(wizard)
    _next(qtbot, wizard)
    assert wizard.scene_page.error_of("direction") == "请选择这是入口还是出口车道"
    wizard.scene_page.directions["exit"].setChecked(True)
    _next(qtbot, wizard)
    assert wizard.current() is wizard.backend_page


@pytest.mark.parametrize("url, code, url_error, code_error", [
    ("", "", "请填写后台地址", "请填写注册码"),
    ("pay.example.cn", "ABC", "应以 http:// 或 https:// 开头", "6 到 64 位"),
    ("https://pay.example.cn", "有中文的码ABCDEF", "", "6 到 64 位"),
])
def test_backend_step_checks_each_field(qtbot, wizard, url, code, url_error, code_error) -> None:  # noqa: ANN001
    wizard.go_to(wizard.backend_page)
    wizard.backend_page.url.setText(url)
    wizard.backend_page.code.setText(code)
    _next(qtbot, wizard)
    assert (url_error in wizard.backend_page.error_of("url")) and bool(url_error) == bool(wizard.backend_page.error_of("url"))
    assert code_error in wizard.backend_page.error_of("code")
    assert wizard.current() is wizard.backend_page


def test_unreachable_backend_points_at_the_address_in_the_chosen_language(qtbot, wizard, tr) -> None:  # noqa: ANN001
    wizard.go_to(wizard.backend_page)
    wizard.backend_page.url.setText(f"http://127.0.0.1:{free_port()}")   # nothing listens there
    wizard.backend_page.code.setText("ABCDEF123")
    _next(qtbot, wizard)
    qtbot.waitUntil(lambda: wizard.backend_page.error_of("url") != "", timeout=15000)
    assert wizard.backend_page.error_of("url") == "连不上后台，请检查网线和地址后重试"
    tr.set_language("en")
    assert wizard.backend_page.error_of("url").startswith("Cannot reach the backend")
    assert wizard.current() is wizard.backend_page


def _through_discovery(qtbot, wizard, registered: bool = True) -> None:  # noqa: ANN001
    wizard.scene_page.buttons["canteen"].setChecked(True)
    wizard.backend_page.registration = object() if registered else None   # as after registering
    wizard.backend_page.url.setText("http://127.0.0.1:9")
    wizard.go_to(wizard.discover_page)
    qtbot.waitUntil(lambda: wizard.discover_page.found != [], timeout=10000)


def test_discovery_offers_the_port_and_the_simulators(qtbot, wizard) -> None:  # noqa: ANN001
    _through_discovery(qtbot, wizard)
    page = wizard.discover_page
    labels = [check.text() for check, _combo, _row in page.rows]
    assert labels[0] == "/dev/ttyUSB7 (CH340)" and not page.rows[0][0].isChecked()   # the installer says what it is
    assert "人脸摄像头 · 模拟器 / simulator" in labels and "闸机 · 模拟器 / simulator" in labels
    page.rows[0][0].setChecked(True)
    page.rows[0][1].setCurrentIndex(page.rows[0][1].findData("card_reader"))
    _next(qtbot, wizard)
    kinds = [p.found.kind for p in wizard.device_pages]
    assert kinds[0] == "card_reader" and wizard.device_pages[0].found.config["port"] == "/dev/ttyUSB7"
    assert sorted(kinds) == sorted(["card_reader", "camera", "scanner", "card_reader", "gate", "voice"])
    assert len({p.found.config["name"] for p in wizard.device_pages}) == len(kinds)   # unique names


def _device_page(wizard, kind: str):  # noqa: ANN001, ANN202
    return next(p for p in wizard.device_pages if p.found.kind == kind)


def test_device_form_shows_an_error_at_each_wrong_field(qtbot, wizard, tr) -> None:  # noqa: ANN001
    _through_discovery(qtbot, wizard)
    _next(qtbot, wizard)
    gate = _device_page(wizard, "gate")
    wizard.go_to(gate)
    gate.form.inputs["pulse_ms"].setText("5")
    gate.form.inputs["baudrate"].setText("fast")
    _next(qtbot, wizard)
    assert gate.form.error_of("pulse_ms").startswith("不能小于")
    assert gate.form.error_of("baudrate") == "请填整数"
    assert wizard.current() is gate
    gate.form.inputs["pulse_ms"].setText("500")
    gate.form.inputs["baudrate"].setText("9600")
    gate.form.inputs["simulated"].setChecked(False)
    _next(qtbot, wizard)
    assert gate.error_of("") == "未模拟时必须填写串口"
    tr.set_language("en")
    assert gate.form._titles["pulse_ms"].text() == "Pulse length (ms)"   # noqa: SLF001 - with its unit


def test_untested_device_cannot_be_passed(qtbot, wizard) -> None:  # noqa: ANN001
    _through_discovery(qtbot, wizard)
    _next(qtbot, wizard)
    page = wizard.current()
    _next(qtbot, wizard)
    assert "还没有测试通过" in page.error_of("")
    assert wizard.current() is page


def _test_device(qtbot, page) -> str:  # noqa: ANN001
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.test_button.isEnabled(), timeout=60000)
    return page.result.text()


def test_live_tests_of_the_simulators_then_save_and_doctor(qtbot, wizard, tmp_path) -> None:  # noqa: ANN001
    _through_discovery(qtbot, wizard)
    _next(qtbot, wizard)
    camera = _device_page(wizard, "camera")
    assert _test_device(qtbot, camera) == "测试通过：看到 1 张人脸"
    assert camera.preview.has_frame() and len(camera.preview.face_boxes()) == 1
    assert _test_device(qtbot, _device_page(wizard, "scanner")).startswith("测试通过：读到付款码")
    assert _test_device(qtbot, _device_page(wizard, "card_reader")) == "测试通过：读到一张卡"
    gate_result = _test_device(qtbot, _device_page(wizard, "gate"))
    assert gate_result.startswith("测试通过"), gate_result
    voice_result = _test_device(qtbot, _device_page(wizard, "voice"))
    assert voice_result.startswith("测试通过"), voice_result
    while wizard.current() is not wizard.save_page:
        _next(qtbot, wizard)
    wizard.save_page.pin.setText("2468")
    wizard.save_page.pin_again.setText("2469")
    _next(qtbot, wizard)
    assert wizard.save_page.error_of("pin_again") == "两次输入的密码不一致，请重新输入"
    wizard.save_page.pin_again.setText("2468")
    _next(qtbot, wizard)
    qtbot.waitUntil(lambda: wizard.current() is wizard.doctor_page, timeout=10000)
    saved = load_config(tmp_path / "terminal.yaml", environ={})
    assert saved.scene == "canteen" and saved.backend_url == "http://127.0.0.1:9"
    assert {d.type for d in saved.devices} >= {"serial_scanner", "serial_card_reader", "modbus_gate", "voice"}
    from terminal.config import check_pin

    assert check_pin("2468", saved.admin_pin_hash)
    qtbot.mouseClick(wizard.doctor_page.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.doctor_page.lines is not None, timeout=60000)
    lines = {line.name: line.ok for line in wizard.doctor_page.lines}
    assert lines["backend"] is False                       # nothing listens on port 9
    assert "连不上后台" in wizard.doctor_page.report.text()
    with qtbot.waitSignal(wizard.finished) as finished:
        _next(qtbot, wizard)
    assert finished.args[0]["scene"] == "canteen"


def test_save_needs_registration_on_a_new_terminal(qtbot, wizard) -> None:  # noqa: ANN001
    _through_discovery(qtbot, wizard, registered=False)
    wizard.discover_page.show_found([])
    _next(qtbot, wizard)
    assert wizard.current() is wizard.save_page
    wizard.save_page.pin.setText("2468")
    wizard.save_page.pin_again.setText("2468")
    _next(qtbot, wizard)
    assert wizard.save_page.error_of("") == "请先注册终端"


def test_rerun_keeps_the_pin_and_skips_registration(qtbot, tmp_path, store) -> None:  # noqa: ANN001
    from tests.terminal.helpers import PIN_HASH

    base = {"scene": "canteen", "backend_url": "http://127.0.0.1:9", "admin_pin_hash": PIN_HASH,
            "data_dir": str(tmp_path), "debounce_s": 30}
    wizard = show(qtbot, InstallerWizard(Translator(), services(tmp_path, store, base)))
    assert wizard.scene_page.scene() == "canteen"
    _next(qtbot, wizard)
    _next(qtbot, wizard)                                   # no new code needed
    assert wizard.current() is wizard.discover_page
    qtbot.waitUntil(lambda: wizard.discover_page.found != [], timeout=10000)
    for check, _combo, _row in wizard.discover_page.rows:
        check.setChecked(False)
    _next(qtbot, wizard)
    _next(qtbot, wizard)                                   # PIN left empty: the old one stays
    qtbot.waitUntil(lambda: wizard.current() is wizard.doctor_page, timeout=10000)
    saved = load_config(tmp_path / "terminal.yaml", environ={})
    assert saved.admin_pin_hash == PIN_HASH and saved.debounce_s == 30


def test_standalone_setup_starts_from_a_valid_config_only(tmp_path) -> None:  # noqa: ANN001
    from tests.terminal.helpers import PIN_HASH
    from terminal.installer.config import existing_config
    from terminal.installer.services import services_for

    path = tmp_path / "terminal.yaml"
    assert existing_config(path) == {}                                  # first install
    path.write_text("scene: canteen\nbackend_url: nope\n", encoding="utf-8")
    assert existing_config(path) == {}                                  # refused config: start afresh
    path.write_text(f"scene: parking\nbackend_url: http://127.0.0.1:9\nadmin_pin_hash: '{PIN_HASH}'\n"
                    "parking: {direction: exit, lane_id: 3}\n", encoding="utf-8")
    base = existing_config(path)
    assert base["scene"] == "parking"
    made = services_for(path, lambda url, code: None, base)()
    assert made.initial["admin_pin_hash"] == PIN_HASH
    assert {f.kind for f in made.discover()} >= {"scanner", "gate", "voice"}   # simulators offered


def test_a_parking_lane_is_saved_with_its_direction_and_registered_lane(tmp_path) -> None:  # noqa: ANN001
    from terminal.store import Identity
    from terminal.installer.config import terminal_config

    registered = Identity(terminal_id=9, merchant_id=1, site_id=2, lane_id=4, scene="parking", name="东门出口",
                          registered_at=None)
    wizard = {"scene": "parking", "lane_direction": "exit", "registration": registered, "devices": [],
              "backend_url": "http://127.0.0.1:9", "admin_pin": "2468", "admin_pin_again": "2468"}
    config, errors = terminal_config(wizard, {"data_dir": str(tmp_path)})
    assert errors == {} and config.parking.direction == "exit" and config.parking.lane_id == 4
    config, errors = terminal_config({**wizard, "scene": "canteen"}, {"parking": {"direction": "exit"}})
    assert errors == {} and config.parking is None        # a canteen keeps no parking block


def test_the_saved_config_is_readable_by_its_owner_only(tmp_path) -> None:  # noqa: ANN001
    """It holds the admin PIN hash and the plate cameras' shared secret."""
    from terminal.store import Identity
    from terminal.installer.config import saver

    registered = Identity(terminal_id=9, merchant_id=1, site_id=2, lane_id=4, scene="parking", name="东门出口",
                          registered_at=None)
    wizard = {"scene": "parking", "lane_direction": "exit", "registration": registered, "devices": [],
              "backend_url": "http://127.0.0.1:9", "admin_pin": "2468", "admin_pin_again": "2468"}
    path = tmp_path / "etc" / "terminal.yaml"
    for _ in range(2):                                   # a first save, then a re-run over it
        saver(path, {"data_dir": str(tmp_path)})(wizard)
        assert path.stat().st_mode & 0o777 == 0o600
    assert "2468" not in path.read_text() and "admin_pin_hash" in path.read_text()
    assert [p.name for p in path.parent.iterdir()] == ["terminal.yaml"]


@pytest.fixture
def answering_backend():  # noqa: ANN201
    """Something on loopback that answers /health as the backend does (the summary's first line)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_summary_of_passing_simulators_never_says_ready_for_service(qtbot, wizard, tr, answering_backend) -> None:  # noqa: ANN001
    from terminal.installer.doctor import doctor

    lines = doctor({"backend_url": answering_backend, "devices": [
        {"type": "voice", "name": "voice", "simulated": True},
        {"type": "modbus_gate", "name": "gate", "simulated": True}]})
    assert all(line.ok for line in lines)
    assert {line.name for line in lines if line.simulator} == {"voice", "gate"}
    page = wizard.doctor_page
    page.show_lines(lines)
    assert page.verdict.text() == "检查通过，但有 2 台是模拟器：仅供演示和培训，不可投入使用"
    assert "可以投入使用" not in page.verdict.text().replace("不可投入使用", "")
    assert page.report.text().count("（模拟器，不可投入使用）") == 2
    tr.set_language("en")
    assert "not for service" in page.verdict.text() and "ready" not in page.verdict.text()


def test_each_device_page_names_its_drivers_in_words(qtbot, wizard, tr) -> None:  # noqa: ANN001
    import re

    _through_discovery(qtbot, wizard)
    _next(qtbot, wizard)
    assert wizard.device_pages
    for page in wizard.device_pages:
        shown = [page.driver.itemText(i) for i in range(page.driver.count())]
        ids = [page.driver.itemData(i) for i in range(page.driver.count())]
        assert all(re.search(r"[\u4e00-\u9fff]", text) for text in shown), shown
        assert not set(shown) & set(ids)
    tr.set_language("en")
    gate = _device_page(wizard, "gate")
    assert "Modbus relay gate (RS-485)" in [gate.driver.itemText(i) for i in range(gate.driver.count())]


def test_the_wizard_has_its_own_language_toggle(qtbot, wizard, tr) -> None:  # noqa: ANN001
    assert wizard.lang_button.isVisible() and wizard.lang_button.text() == "English"
    qtbot.mouseClick(wizard.lang_button, Qt.MouseButton.LeftButton)
    assert tr.language == "en" and wizard.lang_button.text() == "中文"
    assert wizard.next_button.text() == "Next" and wizard.config()["language"] == "en"
    qtbot.mouseClick(wizard.lang_button, Qt.MouseButton.LeftButton)
    assert tr.language == "zh_CN" and wizard.next_button.text() == "下一步"
