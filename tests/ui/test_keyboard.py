"""The on-screen keyboard of the touch kiosk: a text field that gets the focus (refund reason,
the lane's plate and reason, the wizard's fields) brings it up; its keys type into the field;
a plate field offers the provinces' characters; OK presses the field's Enter and closes it."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from terminal.app import TerminalCore
from tests.terminal.helpers import make_config, open_store, seeded_store
from tests.ui.helpers import services, show, unlock
from ui.bridge import CoreBridge
from ui.keyboard import KeyboardHost
from ui.kiosk import KioskWindow
from ui.wizard import InstallerWizard


def tap(qtbot, keyboard, *keys: str) -> None:  # noqa: ANN001
    for key in keys:
        qtbot.mouseClick(keyboard.keys[key], Qt.MouseButton.LeftButton)


def focus(qtbot, window, field) -> None:  # noqa: ANN001
    window.activateWindow()
    field.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is field)


@pytest.fixture
def lane_kiosk(qtbot, tr, tmp_path, clock):  # noqa: ANN001, ANN201
    config = make_config(tmp_path, scene="parking", parking={"direction": "exit", "lane_id": 3})
    core = TerminalCore(config, seeded_store(tmp_path, clock), clock)
    window = show(qtbot, KioskWindow(CoreBridge(core), tr, "parking", keyboard=True))
    window.bridge.attach()
    yield window
    core.store.close()


def test_refund_reason_types_on_the_screen_and_ok_closes(qtbot, tr, core) -> None:  # noqa: ANN001
    window = show(qtbot, KioskWindow(CoreBridge(core), tr, "canteen", keyboard=True))
    keyboard = window.keyboard.keyboard
    assert not keyboard.isVisible()
    unlock(qtbot, window)
    window.admin.tabs.setCurrentIndex(0)
    focus(qtbot, window, window.admin.reason)
    assert keyboard.isVisible() and not keyboard.province_keys.isVisible()     # a reason: no provinces
    assert keyboard.geometry().bottom() == window.height() - 1                  # across the bottom
    tap(qtbot, keyboard, "case", "W", "R", "O", "N", "G", "space", "case", "A", "1", "2", "back")
    assert window.admin.reason.text() == "wrong A1"
    assert keyboard.echo.text() == "wrong A1"          # shown on the keyboard: it may cover the field
    tap(qtbot, keyboard, "ok")
    assert not keyboard.isVisible() and window.admin.reason.text() == "wrong A1"
    tr.toggle()
    assert keyboard.keys["ok"].text() == "OK" and keyboard.keys["back"].text() == "Delete"


def test_a_plate_field_offers_the_provinces_and_capitals(qtbot, lane_kiosk) -> None:  # noqa: ANN001
    window = lane_kiosk
    unlock(qtbot, window)
    desk = window.admin.lane_tabs[0]
    keyboard = window.keyboard.keyboard
    focus(qtbot, window, desk.plate)
    assert keyboard.isVisible() and keyboard.province_keys.isVisible()
    tap(qtbot, keyboard, "京", "A", "1", "2", "3", "4", "5")
    assert desk.plate.text() == "京A12345"
    focus(qtbot, window, desk.reason)                  # another field: no provinces there
    assert keyboard.isVisible() and not keyboard.province_keys.isVisible()
    window.admin.leave_button.setFocus()               # not a text field: the keyboard goes
    qtbot.waitUntil(lambda: not keyboard.isVisible())


def test_the_wizard_fields_type_on_the_screen_and_a_pin_stays_hidden(qtbot, tr, tmp_path) -> None:  # noqa: ANN001
    store = open_store(tmp_path / "terminal.db")
    try:
        wizard = show(qtbot, InstallerWizard(tr, services(tmp_path, store)))
        keyboard = KeyboardHost(wizard, tr).keyboard
        wizard.go_to(wizard.backend_page)
        focus(qtbot, wizard, wizard.backend_page.code)
        assert keyboard.isVisible()
        tap(qtbot, keyboard, "A", "B", "C", "1", "2", "3")
        assert wizard.backend_page.code.text() == "ABC123"
    finally:
        store.close()


def test_the_keyboard_only_comes_on_a_touch_kiosk(qtbot, tr, core) -> None:  # noqa: ANN001
    window = show(qtbot, KioskWindow(CoreBridge(core), tr, "canteen"))
    assert window.keyboard is None


def test_a_password_field_is_masked_on_the_keyboard(qtbot, tr) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

    page = QWidget()
    pin = QLineEdit()
    pin.setEchoMode(QLineEdit.EchoMode.Password)
    QVBoxLayout(page).addWidget(pin)
    show(qtbot, page)
    keyboard = KeyboardHost(page, tr).keyboard
    focus(qtbot, page, pin)
    tap(qtbot, keyboard, "1", "3", "5", "7")
    assert pin.text() == "1357" and keyboard.echo.text() == "••••"
