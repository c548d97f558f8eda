"""Shared pieces of the UI tests: kiosk sizes, the wizard's real services, the PIN keypad."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from hardware.discovery import Candidate, suggest
from terminal.enrol import register
from tests.terminal.helpers import PIN
from terminal.installer.config import saver, validator
from terminal.installer.devices import discover_devices, models_for
from terminal.installer.doctor import doctor
from terminal.installer.live_test import live_test
from terminal.installer.results import SetupServices
from ui import theme

UI_DATA = Path(__file__).resolve().parents[1] / "data" / "ui"
FACE = str(UI_DATA / "face-480p.jpg")


def show(qtbot, widget, size=(800, 480)):  # noqa: ANN001, ANN201
    """Show a screen at a kiosk size, styled as the kiosk styles it."""
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    theme.apply(widget)
    return widget


def services(tmp_path: Path, store, base: dict | None = None, wait_s: float = 2.0) -> SetupServices:  # noqa: ANN001
    """The kiosk's real wizard services; only the list of plugged-in ports is given (one USB
    adapter that is not really there) and the simulated camera plays a real photo."""
    adapter = [Candidate("serial", "/dev/ttyUSB7", "CH340", 0x1A86, 0x7523)]
    base = base or {}

    def discover(scene: str | None, direction: str | None) -> list:
        return discover_devices(scene or "canteen", found_ports=lambda: suggest(adapter),
                                cameras=lambda: [], camera_files=[FACE],
                                current=base.get("devices"), direction=direction,
                                data_dir=base.get("data_dir") or str(tmp_path / "data"))

    return SetupServices(
        register=lambda url, code: register(store, url, code), discover=discover,
        models_for=models_for,
        live_test=lambda kind, config: live_test(kind, config, wait_s=wait_s),
        validate=validator(base), save=saver(tmp_path / "terminal.yaml", base),
        doctor=doctor, initial=base)


def enter_pin(qtbot, window, pin: str) -> None:  # noqa: ANN001
    window.admin_button.click()
    for digit in pin:
        qtbot.mouseClick(window.pin.keys[digit], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.pin.keys["ok"], Qt.MouseButton.LeftButton)


def unlock(qtbot, window) -> None:  # noqa: ANN001
    """Open the admin screens with the right PIN and wait for their lists."""
    enter_pin(qtbot, window, PIN)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.admin)
    qtbot.waitUntil(window.bridge.idle)


def showcase_admin(qtbot, tr, size=(800, 480)):  # noqa: ANN001, ANN201 - the KioskWindow
    """A canteen kiosk on the showcase port (fixed data), unlocked into its admin screens."""
    from ui import showcase
    from ui.bridge import CoreBridge
    from ui.kiosk import KioskWindow

    window = show(qtbot, KioskWindow(CoreBridge(showcase.ShowcasePort()), tr, "canteen"), size)
    window.open_admin()
    for key in showcase.ShowcasePort.PIN + "k":
        window.pin.press("ok" if key == "k" else key)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.admin)
    qtbot.waitUntil(window.bridge.idle)
    return window
