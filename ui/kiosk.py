"""The full-screen kiosk: the scene screen (canteen gate or parking lane), the offline banner, and
behind the PIN the admin screens and the installer wizard.

`run_kiosk(core, config)` is what `gatepay terminal` (without --headless) calls. It is the only
place here that creates the QApplication and starts the event loop.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QMainWindow, QPushButton, QStackedWidget,
                               QVBoxLayout, QWidget)

from terminal.installer.results import SetupServices
from terminal.installer.services import for_running_terminal
from terminal.state import TerminalPort
from ui import theme
from ui.admin import AdminScreen
from ui.amount import AmountPad
from ui.bridge import CoreBridge
from ui.canteen import CanteenScreen
from ui.i18n import Translator
from ui.keyboard import KeyboardHost
from ui.parking import ParkingScreen
from ui.pin import PinGate
from ui.widgets import FramePump, OfflineBanner, follow_language, label
from ui.wizard import InstallerWizard


OUTCOME_SHOW_MS = 4000
OFFER_SHOW_MS = 8000        # a coupon given with the payment: time to read its title and expiry


def _setting(config: Any, name: str, default: Any = None) -> Any:
    """Read a setting from the terminal config model (or a plain dict before it is saved)."""
    if isinstance(config, dict):
        return config.get(name, default)
    return getattr(config, name, default)


class KioskWindow(QMainWindow):
    def __init__(self, bridge: CoreBridge, tr: Translator, scene: str,
                 setup: Callable[[], SetupServices] | None = None, parent: QWidget | None = None,
                 keyboard: bool = False):
        super().__init__(parent)
        self.bridge, self.tr, self.scene = bridge, tr, scene
        self._setup = setup
        self.setWindowTitle("gatepay")
        self.setMinimumSize(*theme.MIN_SIZE)
        self.title = label(role="title", align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.lang_button = QPushButton()
        self.lang_button.setObjectName("small")
        self.lang_button.clicked.connect(tr.toggle)
        self.admin_button = QPushButton()
        self.admin_button.setObjectName("small")
        self.admin_button.clicked.connect(self.open_admin)
        self.amount_button = QPushButton()        # only while a meal is priced at the window
        self.amount_button.setObjectName("small")
        self.amount_button.clicked.connect(self.open_amount)
        self.amount_button.hide()
        self.banner = OfflineBanner(tr)
        self.screen_widget = CanteenScreen(tr) if scene == "canteen" else ParkingScreen(tr)
        self.pin = PinGate(tr, bridge)
        self.amount = AmountPad(tr, bridge)
        self.admin = AdminScreen(tr, bridge)
        self.wizard: InstallerWizard | None = None
        self.stack = QStackedWidget()
        for widget in (self.screen_widget, self.pin, self.amount, self.admin):
            self.stack.addWidget(widget)
        header = QHBoxLayout()
        header.setContentsMargins(12, 6, 12, 0)
        header.addWidget(self.title, 1)
        header.addWidget(self.amount_button)
        header.addWidget(self.lang_button)
        header.addWidget(self.admin_button)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        column.addLayout(header)
        column.addWidget(self.banner)
        column.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        # An outcome stays on screen a few seconds, then the core is asked to go back to idle.
        self.outcome_timer = QTimer(self)
        self.outcome_timer.setSingleShot(True)
        self.outcome_timer.setInterval(OUTCOME_SHOW_MS)
        self.outcome_timer.timeout.connect(self._clear_outcome)
        if scene == "canteen":
            digits = self.screen_widget.digits      # the 4-digit check: the core decides
            digits.entered.connect(lambda d: bridge.call(bridge.core.key_in_digits, d))
            digits.cancelled.connect(lambda: bridge.call(bridge.core.cancel_confirm))
            bridge.canteen.connect(self.screen_widget.render)
            bridge.canteen.connect(self._outcome_shown)
            bridge.canteen.connect(self._offer_amount)
        else:
            bridge.parking.connect(self.screen_widget.render)
        bridge.sync.connect(self.banner.show_status)
        self.pin.accepted.connect(self._admin_unlocked)
        self.pin.cancelled.connect(self.show_scene)
        self.amount.cancelled.connect(self.show_scene)
        self.amount.keyed.connect(lambda _fen: self.show_scene())
        self.admin.leave.connect(self.show_scene)
        self.admin.open_wizard.connect(self.open_wizard)
        self._last_sync = None
        bridge.sync.connect(lambda status: setattr(self, "_last_sync", status))
        follow_language(self, tr, self.retranslate)
        self.retranslate()
        self.keyboard = KeyboardHost(self, tr) if keyboard else None   # a touch kiosk: its text fields

    def _outcome_shown(self, view: Any) -> None:
        outcome = getattr(view, "outcome", None)
        if outcome is not None:
            offer = getattr(outcome, "offer", None) is not None
            self.outcome_timer.setInterval(OFFER_SHOW_MS if offer else OUTCOME_SHOW_MS)
            self.outcome_timer.start()      # restarts for each new outcome

    def _offer_amount(self, view: Any) -> None:
        period = getattr(view, "meal_period", None)
        self.amount_button.setVisible(period is not None and period.price_fen is None
                                      and self.stack.currentWidget() is self.screen_widget)

    def open_amount(self) -> None:
        self.amount.reset()
        self.stack.setCurrentWidget(self.amount)
        self.amount_button.hide()
        self.admin_button.hide()

    def _clear_outcome(self) -> None:
        clear = getattr(self.bridge.core, "clear_outcome", None)   # TerminalCore has it
        if clear is not None:
            self.bridge.call(clear)

    def retranslate(self) -> None:
        self.title.setText(self.tr.t("app.title" if self.scene == "canteen" else "app.parking_title"))
        self.lang_button.setText(self.tr.t("lang.switch"))
        self.admin_button.setText(self.tr.t("admin.open"))
        self.amount_button.setText(self.tr.t("amount.open"))
        self.banner.show_status(self._last_sync)

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().resizeEvent(event)
        theme.apply(self)

    def show_scene(self) -> None:
        self.stack.setCurrentWidget(self.screen_widget)
        self.admin_button.setVisible(True)
        if self.screen_widget.view is not None:
            self._offer_amount(self.screen_widget.view)

    def open_admin(self) -> None:
        self.pin.reset()
        self.stack.setCurrentWidget(self.pin)
        self.admin_button.setVisible(False)
        self.amount_button.hide()

    def _admin_unlocked(self, pin: str) -> None:
        self.admin.enter(pin)
        self.stack.setCurrentWidget(self.admin)

    def open_wizard(self) -> None:
        if self._setup is None:
            return
        if self.wizard is not None:
            self.stack.removeWidget(self.wizard)
            self.wizard.deleteLater()
        self.wizard = InstallerWizard(self.tr, self._setup())
        self.wizard.finished.connect(lambda _config: self.stack.setCurrentWidget(self.admin))
        self.wizard.cancelled.connect(lambda: self.stack.setCurrentWidget(self.admin))
        self.stack.addWidget(self.wizard)
        self.stack.setCurrentWidget(self.wizard)


class SafeModeWindow(QMainWindow):
    """Shown instead of the kiosk when the config cannot be used: what is wrong, what to do, and
    (when the caller can register) the installer wizard, so the screen can always be fixed."""

    def __init__(self, tr: Translator, problem: str, setup: Callable[[], SetupServices] | None = None):
        super().__init__()
        self.keyboard = KeyboardHost(self, tr)       # the wizard's fields, on the kiosk's touch screen
        self.tr, self.problem, self._setup = tr, problem, setup
        self.setMinimumSize(*theme.MIN_SIZE)
        self.title = label(role="title")
        self.detail = label(problem, role="big", align=Qt.AlignmentFlag.AlignLeft)
        self.hint = label(role="muted")
        self.wizard_button = QPushButton()
        self.wizard_button.setVisible(setup is not None)
        self.wizard_button.clicked.connect(self.open_wizard)
        self.lang_button = QPushButton()
        self.lang_button.setObjectName("small")
        self.lang_button.clicked.connect(tr.toggle)
        page = QWidget()
        column = QVBoxLayout(page)
        column.addWidget(self.lang_button, 0, Qt.AlignmentFlag.AlignRight)
        for widget in (self.title, self.detail, self.hint):
            column.addWidget(widget)
        column.addStretch(1)
        column.addWidget(self.wizard_button)
        self.stack = QStackedWidget()
        self.stack.addWidget(page)
        self.wizard: InstallerWizard | None = None
        self.setCentralWidget(self.stack)
        follow_language(self, tr, self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.tr.t("safe.title"))
        self.hint.setText(self.tr.t("safe.hint_wizard" if self._setup else "safe.hint_file"))
        self.wizard_button.setText(self.tr.t("admin.setup"))
        self.lang_button.setText(self.tr.t("lang.switch"))

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().resizeEvent(event)
        theme.apply(self)

    def open_wizard(self) -> None:
        if self._setup is None:
            return
        self.wizard = InstallerWizard(self.tr, self._setup())
        self.wizard.cancelled.connect(lambda: self.stack.setCurrentIndex(0))
        self.wizard.finished.connect(lambda _config: self.close())   # restart with the new config
        self.stack.addWidget(self.wizard)
        self.stack.setCurrentWidget(self.wizard)


def run_safe_mode(problem: str, *, setup: Callable[[], SetupServices] | None = None,
                  language: str = "zh_CN", fullscreen: bool = True) -> int:
    """Show why the terminal cannot start (e.g. a ConfigError naming the field) until closed."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.install_font(app)
    window = SafeModeWindow(Translator(language), problem, setup)  # type: ignore[arg-type]
    if fullscreen:
        window.showFullScreen()
    else:
        window.show()
    return app.exec()


def run_kiosk(core: TerminalPort, config: Any, *, frames: Callable[[], Any] | None = None,
              register: Callable[[str, str], Any] | None = None, config_path: Path | None = None,
              fullscreen: bool = True) -> int:
    """Start the kiosk for the configured scene and run until the window closes.

    `frames` is the face camera's blocking read (a FramePump calls it on its own thread) for the
    live preview; `register` is sync's registration call, for the wizard behind the PIN.
    """
    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.install_font(app)
    tr = Translator(_setting(config, "language", "zh_CN") or "zh_CN",
                    _setting(config, "timezone", "Asia/Shanghai") or "Asia/Shanghai")
    bridge = CoreBridge(core)
    window = KioskWindow(bridge, tr, _setting(config, "scene", "canteen") or "canteen",
                         setup=for_running_terminal(config, register, config_path), keyboard=True)
    pump = None
    if isinstance(window.screen_widget, CanteenScreen):
        window.screen_widget.set_camera(frames is not None)   # no face camera: no face oval
    if frames is not None and isinstance(window.screen_widget, CanteenScreen):
        pump = FramePump(frames)
        pump.frame.connect(window.screen_widget.preview.set_frame)
        pump.start()
    bridge.attach()
    if fullscreen:
        window.showFullScreen()
    else:
        window.resize(1280, 800)
        window.show()
    try:
        return app.exec()
    finally:
        if pump is not None:
            pump.stop()
