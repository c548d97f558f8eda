"""Parking lanes on screen, end to end: real lane terminals (ParkingScene, store file, simulated
relay gate under the real driver) against the real backend process; the kiosk shows what the
scene publishes. Uses the parking tests' car park rig."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage

from tests.terminal.parking_rig import park  # noqa: F401 - a fixture
from tests.ui.helpers import show
from ui.bridge import CoreBridge
from ui.kiosk import KioskWindow

pytestmark = pytest.mark.slow


def _kiosk(qtbot, tr, lane):  # noqa: ANN001, ANN202
    window = show(qtbot, KioskWindow(CoreBridge(lane), tr, "parking"), (1920, 1080))
    window.bridge.attach()
    qtbot.waitUntil(lambda: window.screen_widget.view is not None)
    return window


def _qr_on_screen(window) -> list[str]:  # noqa: ANN001
    from pyzbar.pyzbar import decode

    image = window.screen_widget.qr.pixmap().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return [d.data.decode() for d in decode(pixels[:, : image.width()].copy())]


def test_car_enters_then_pays_the_exit_qr_shown_on_the_lane_screen(qtbot, tr, park) -> None:  # noqa: ANN001
    entry, exit_ = park.lane("entry", "east-in"), park.lane("exit", "east-out")
    entry_screen, exit_screen = _kiosk(qtbot, tr, entry), _kiosk(qtbot, tr, exit_)
    assert "欢迎光临" in exit_screen.screen_widget.visible_text()

    entry.handle(entry.read("京A12345", 0))
    qtbot.waitUntil(lambda: entry_screen.screen_widget.view.phase == "entry_open")
    assert "入口" in entry_screen.screen_widget.visible_text() and "京A12345" in entry_screen.screen_widget.visible_text()

    exit_.sync()
    view = exit_.handle(exit_.read("京A12345", 125))
    qtbot.waitUntil(lambda: exit_screen.screen_widget.view.phase == "exit_quote")
    text = exit_screen.screen_widget.visible_text()
    assert "京A12345" in text and "2 小时 5 分" in text and "¥9.00" in text and "请扫码缴费" in text
    assert exit_screen.screen_widget.has_qr() and _qr_on_screen(exit_screen) == [view.qr_text]
    assert exit_.openings == 0

    park.driver_pays(view.qr_text)                        # the driver scans and pays on the phone
    exit_.poll_payment()
    qtbot.waitUntil(lambda: exit_screen.screen_widget.view.phase != "exit_quote")
    text = exit_screen.screen_widget.visible_text()
    assert "支付成功" in text and "扫码支付" in text and not exit_screen.screen_widget.has_qr()
    assert exit_.openings == 1


def test_signed_plate_leaves_contactless(qtbot, tr, park) -> None:  # noqa: ANN001
    park.driver("京C33333")
    entry, exit_ = park.lane("entry", "in"), park.lane("exit", "out")
    entry.handle(entry.read("京C33333", 0))
    exit_.sync()
    screen = _kiosk(qtbot, tr, exit_)
    exit_.handle(exit_.read("京C33333", 61))
    qtbot.waitUntil(lambda: screen.screen_widget.view.phase == "exit_paid")
    text = screen.screen_widget.visible_text()
    assert "无感支付" in text and "¥7.00" in text and "1 小时 1 分" in text
