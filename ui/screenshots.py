"""Render every screen at 800×480 and 1920×1080 to PNG (offscreen, no display needed).

    gatepay terminal screenshots --out docs/screenshots [--sizes 800x480,1920x1080] [--data tests/data/ui]
                                 [--only wizard]      # one group: scene, admin or wizard

The pictures in the camera preview and the plate photo come from --data when present (sample
photos kept with the tests); without them the screens show their empty states.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Iterator

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from ui import showcase, theme  # noqa: E402
from ui.bridge import CoreBridge  # noqa: E402
from ui.i18n import Translator  # noqa: E402
from ui.kiosk import KioskWindow  # noqa: E402
from terminal.installer.checks import check_backend  # noqa: E402
from terminal.installer.results import DoctorLine, FieldError, FoundDevice, LiveTestResult, SetupServices  # noqa: E402
from ui.wizard import InstallerWizard  # noqa: E402

SIZES = ((800, 480), (1920, 1080))
MAX_COLOURS = 128


def _settle(app: QApplication) -> None:
    loop = QEventLoop()
    for _ in range(3):
        loop.processEvents()


def _save(widget: QWidget, path: Path) -> None:
    """PNG with a 128-colour palette and no dithering: flat UI colours stay exact, photos stay
    recognisable, and files are a fraction of full colour (Pillow does the quantising)."""
    from PIL import Image

    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    raw = bytes(image.constBits())[: image.bytesPerLine() * image.height()]
    picture = Image.frombuffer("RGB", (image.width(), image.height()), raw, "raw", "RGB",
                               image.bytesPerLine(), 1)
    picture.quantize(colors=MAX_COLOURS, method=Image.Quantize.MEDIANCUT,
                     dither=Image.Dither.NONE).save(path, optimize=True)


def _kiosk(scene: str, port: showcase.ShowcasePort, tr: Translator, keyboard: bool = False) -> KioskWindow:
    bridge = CoreBridge(port)
    window = KioskWindow(bridge, tr, scene, setup=None, keyboard=keyboard)
    bridge.attach()
    loop = QEventLoop()
    while not bridge.idle():          # the first view arrives before the shots are set up
        loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    return window


def scene_shots(app: QApplication, data: Path, size: tuple[int, int]) -> Iterator[tuple[str, QWidget]]:
    face = QImage(str(data / "face-480p.jpg"))
    plate = data / "plate-wan-A195K9.jpg"
    for language in ("zh_CN", "en"):
        tr = Translator(language)
        suffix = "" if language == "zh_CN" else "-en"
        port = showcase.ShowcasePort()
        window = _kiosk("canteen", port, tr)
        window.resize(*size)
        window.show()
        if not face.isNull():
            window.screen_widget.preview.set_frame(face)
        views = showcase.canteen_views()
        names = list(views) if language == "zh_CN" else ["idle", "paid_face", "paid_discount", "declined", "confirm_digits"]
        for name in names:
            port.publish(views[name])            # as the core does: screen, banner, header follow
            _settle(app)
            yield f"canteen-{name}{suffix}", window
        if language == "zh_CN":
            port.publish(views["idle_keyed"])
            window.open_amount()
            for key in "12.5":
                window.amount.press(key)
            _settle(app)
            yield "canteen-amount_pad", window
        window.close()
        port = showcase.ShowcasePort(showcase.parking_views()["idle"])
        window = _kiosk("parking", port, tr)
        window.resize(*size)
        window.show()
        views = showcase.parking_views(str(plate) if plate.exists() else None)
        names = list(views) if language == "zh_CN" else ["exit_quote", "exit_discount"]
        for name in names:
            port.publish(views[name])
            _settle(app)
            yield f"parking-{name}{suffix}", window
        window.close()


def admin_shots(app: QApplication, size: tuple[int, int]) -> Iterator[tuple[str, QWidget]]:
    tr = Translator()
    window = _kiosk("canteen", showcase.ShowcasePort(), tr)
    window.resize(*size)
    window.show()
    window.open_admin()
    for key in "12":
        window.pin.press(key)
    _settle(app)
    yield "admin-pin", window
    window.pin.error.setText(tr.t("pin.wrong_tries_left", left=4))
    window.pin.dots.setText("")
    _settle(app)
    yield "admin-pin-wrong", window
    admin = window.admin
    window.stack.setCurrentWidget(admin)
    admin.payments.show_rows(showcase.payment_rows())
    admin.payments.selectRow(0)
    admin.reason.setText("菜品有误 / wrong dish")
    admin.result.setText(tr.t("admin.refunded", amount=tr.money(1200)))
    admin.queue.show_rows([r for r in showcase.payment_rows() if r.status == "queued"])
    admin.declined.show_rows([r for r in showcase.payment_rows() if r.status == "declined_after_fact"])
    admin.show_sync(showcase.OFFLINE)
    admin._show_shift(showcase.shift_totals())   # noqa: SLF001 - what the screen shows after close
    for index, name in enumerate(("payments", "sync", "queue", "shift")):
        admin.tabs.setCurrentIndex(index)
        _settle(app)
        yield f"admin-{name}", window
    window.close()
    yield from lane_admin_shots(app, size)


def lane_admin_shots(app: QApplication, size: tuple[int, int]) -> Iterator[tuple[str, QWidget]]:
    """A parking lane's desk behind the PIN: its exits, the waiting car, the attendant's actions,
    the counter renewal; and the on-screen keyboard typing a plate."""
    tr = Translator()
    port = showcase.ShowcasePort(showcase.parking_views()["exit_quote_no_entry"], desk=showcase.ShowcaseDesk())
    window = _kiosk("parking", port, tr, keyboard=True)
    window.resize(*size)
    window.show()
    window.open_admin()
    for key in showcase.ShowcasePort.PIN + "k":
        window.pin.press("ok" if key == "k" else key)
    loop = QEventLoop()
    while not window.bridge.idle():
        loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    lane, renewal = window.admin.lane_tabs
    lane.reason.setText("救护车 / ambulance")
    _settle(app)
    yield "admin-lane", window
    window.admin.tabs.setCurrentWidget(renewal)
    renewal.plate.setText("京A12345")
    renewal.start()
    while not window.bridge.idle():
        loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    renewal.poll.stop()              # a picture: nobody pays
    _settle(app)
    yield "admin-lane-renewal", window
    window.admin.tabs.setCurrentWidget(lane)
    window.activateWindow()
    lane.plate.setFocus()
    for key in "皖A195K":
        window.keyboard.keyboard.press(key)
    _settle(app)
    yield "admin-lane-keyboard", window
    window.close()


def _static_services(data: Path) -> SetupServices:
    """The real discovery and device models, fed one USB-serial adapter as if it were plugged in;
    nothing is opened, registered or saved."""
    from hardware.discovery import Candidate, suggest
    from terminal.installer.devices import discover_devices, models_for

    adapter = [Candidate("serial", "/dev/ttyUSB0", "CH340 USB-Serial", 0x1A86, 0x7523)]
    return SetupServices(
        register=lambda url, code: None,
        discover=lambda scene, direction: discover_devices(
            scene or "canteen", found_ports=lambda: suggest(adapter), cameras=lambda: [],
            camera_files=[str(data / "face-480p.jpg")], direction=direction, data_dir="/var/lib/gatepay"),
        models_for=models_for, live_test=lambda kind, config: LiveTestResult(True, "", ""),
        validate=lambda config: {}, save=lambda config: "/etc/gatepay/terminal.yaml",
        doctor=lambda config: [])


def wizard_shots(app: QApplication, data: Path, size: tuple[int, int]) -> Iterator[tuple[str, QWidget]]:
    from terminal.installer.live_test import face_boxes

    tr = Translator()
    wizard = InstallerWizard(tr, _static_services(data))
    wizard.resize(*size)
    wizard.show()
    theme.apply(wizard)
    wizard.scene_page.buttons["canteen"].setChecked(True)
    _settle(app)
    yield "wizard-scene", wizard
    wizard.go_to(wizard.backend_page)
    wizard.backend_page.url.setText("ftp//pay.example")
    wizard.backend_page.code.setText("12")
    wizard.backend_page.show_errors(check_backend("ftp//pay.example", "12"))
    _settle(app)
    yield "wizard-backend-errors", wizard
    wizard.go_to(wizard.discover_page)
    wizard.discover_page.show_found(wizard.services.discover("canteen", None))
    _settle(app)
    yield "wizard-discover", wizard
    wizard._make_device_pages()   # noqa: SLF001 - as Next does after discovery
    camera_page = next(p for p in wizard.device_pages if p.found.kind == "camera")
    wizard.go_to(camera_page)
    photo = QImage(str(data / "face-480p.jpg"))
    if not photo.isNull():
        import cv2

        frame = cv2.imread(str(data / "face-480p.jpg"))
        boxes = tuple(face_boxes(frame))
        camera_page._tested(camera_page.config()[0], LiveTestResult(True, f"看到 {len(boxes)} 张人脸",   # noqa: SLF001
                                                                    "face seen", frame, boxes))
    _settle(app)
    yield "wizard-camera-test", wizard
    gate_page = next(p for p in wizard.device_pages if p.found.kind == "gate")
    wizard.go_to(gate_page)
    gate_page.form.inputs["simulated"].setChecked(False)
    gate_page.config()
    _settle(app)
    yield "wizard-gate-errors", wizard
    wizard.go_to(wizard.doctor_page)
    wizard.doctor_page.show_lines([
        DoctorLine("backend", True, "后台正常", "backend answers"),
        DoctorLine("camera", True, "摄像头有画面", "camera delivers pictures"),
        DoctorLine("scanner", True, "扫码器正常", "scanner answers", simulator=True),
        DoctorLine("gate", False, "闸机没有应答", "the gate does not answer",
                   "请检查 RS-485 接线和从站地址", "check the RS-485 wiring and the unit id")])
    _settle(app)
    yield "wizard-doctor", wizard
    wizard.close()
    yield from parking_wizard_shots(app, data, size)


def _passed(page, detail: str = "", frame=None) -> None:  # noqa: ANN001 - a DevicePage
    page._tested(page.config()[0], LiveTestResult(True, detail, detail, frame))   # noqa: SLF001


def parking_wizard_shots(app: QApplication, data: Path, size: tuple[int, int]) -> Iterator[tuple[str, QWidget]]:
    """An exit lane: its plate camera (allow-list, secret, a pushed photo, wrong entries) and a
    box with two gates, where the installer says which one this lane opens."""
    services = _static_services(data)
    real_discover = services.discover
    second = FoundDevice("gate", "/dev/ttyUSB1 (CH340)", {"type": "modbus_gate", "port": "/dev/ttyUSB1"})
    services.discover = lambda scene, direction: [*real_discover(scene, direction), second]
    tr = Translator()
    wizard = InstallerWizard(tr, services)
    wizard.resize(*size)
    wizard.show()
    theme.apply(wizard)
    wizard.scene_page.buttons["parking"].setChecked(True)
    wizard.scene_page.directions["exit"].setChecked(True)
    wizard.discover_page.show_found(services.discover("parking", "exit"))
    wizard._make_device_pages()   # noqa: SLF001 - as Next does after discovery
    plate = next(p for p in wizard.device_pages if p.found.kind == "plate_camera")
    wizard.go_to(plate)
    form = plate.form
    form.inputs["secret"].setText("k7Rq2vXe9LmT4wPa")
    cameras = form.inputs["cameras"]
    row = cameras.rows[0][1]
    row.inputs["serialno"].setText("fe71e106-57263272")
    row.inputs["address"].setText("192.168.1.64")
    photo = data / "plate-wan-A195K9.jpg"
    frame = None
    if photo.exists():
        import cv2

        frame = cv2.imread(str(photo))
    _passed(plate, "收到相机 exit-1 推送的车牌 皖A195K9", frame)
    _settle(app)
    yield "wizard-plate-camera", wizard
    cameras.add({"name": "exit-1", "serialno": "", "address": "192.168.1.300", "direction": "out"})
    plate.config()
    _settle(app)
    wizard._scrolls[plate].ensureWidgetVisible(cameras.rows[1][0])   # noqa: SLF001
    _settle(app)
    yield "wizard-plate-camera-errors", wizard
    cameras.remove(cameras.rows[1][0])
    _passed(plate, "收到相机 exit-1 推送的车牌 皖A195K9", frame)
    for page in wizard.device_pages:
        if page.found.kind == "gate":
            _passed(page)
    wizard.go_to(wizard.save_page)
    wizard.save_page.show_errors({"gate": FieldError("err.gate_choose")})
    _settle(app)
    wizard._scrolls[wizard.save_page].ensureWidgetVisible(wizard.save_page.barrier_title)   # noqa: SLF001
    _settle(app)
    yield "wizard-lane-gate", wizard
    wizard.close()


def render_all(out: Path, data: Path, sizes: tuple[tuple[int, int], ...] = SIZES,
               only: tuple[str, ...] = ()) -> list[Path]:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.install_font(app)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for size in sizes:
        shots: dict[str, Callable[[], Iterator[tuple[str, QWidget]]]] = {
            "scene": lambda: scene_shots(app, data, size), "admin": lambda: admin_shots(app, size),
            "wizard": lambda: wizard_shots(app, data, size)}
        for group, make in shots.items():
            if only and group not in only:
                continue
            for name, widget in make():
                path = out / f"{name}-{size[0]}x{size[1]}.png"
                _save(widget, path)
                written.append(path)
    return written
