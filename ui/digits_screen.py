"""The 4-digit check on the kiosk: a close face call asks the diner for the last 4 digits of
their phone (terminal/face_confirm.py decides; this screen only collects the digits).

Digits show as dots (people queue behind the diner); the fourth digit sends them, as on the
face-pay kiosks diners know. A wrong try says so with the tries left; Back ends the check, and
so does nobody touching the keypad for IDLE_MS (the diner walked away: the gate screen returns).
"""
from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QWidget

from terminal.state import ConfirmView
from ui.i18n import Translator
from ui.keypad import KeypadScreen

DIGITS = 4
IDLE_MS = 30_000


class DigitsScreen(KeypadScreen):
    entered = Signal(str)          # exactly 4 digits

    def __init__(self, tr: Translator, parent: QWidget | None = None):
        super().__init__(tr, "clear", "ok", parent)
        self._digits = ""
        self._state: ConfirmView | None = None
        self.hint = self.entry      # reused below the title: the dots
        self.idle = QTimer(self)
        self.idle.setSingleShot(True)
        self.idle.setInterval(IDLE_MS)
        self.idle.timeout.connect(self._cancel)
        self.retranslate()

    def retranslate(self) -> None:
        super().retranslate()
        self.title.setText(self._tr.t("confirm.title"))
        self.keys["clear"].setText(self._tr.t("pin.clear"))
        self.keys["ok"].setText(self._tr.t("pin.ok"))
        self._show_error()

    def show_state(self, state: ConfirmView | None) -> None:
        """A new check (tries_left 3, not wrong) starts empty; a wrong try clears the entry."""
        self._state = state
        self._digits = ""
        self._show_dots()
        self._show_error()
        if state is None:
            self.idle.stop()
        else:
            self.idle.start()

    def reset(self) -> None:
        self._digits = ""
        super().reset()
        self._show_dots()

    def press(self, key: str) -> None:
        self.idle.start()                   # restarts: the diner is still there
        if key == "clear":
            self._digits = ""
        elif key == "ok":
            self._send()
            return
        elif key.isdigit() and len(self._digits) < DIGITS:
            self._digits += key
        self._show_dots()
        if len(self._digits) == DIGITS:
            self._send()

    def _send(self) -> None:
        if len(self._digits) != DIGITS:
            self.error.setText(self._tr.t("confirm.need_four"))
            return
        digits, self._digits = self._digits, ""
        self._show_dots()
        self.entered.emit(digits)

    def _show_dots(self) -> None:
        self.entry.setText(" ".join("●" if i < len(self._digits) else "○" for i in range(DIGITS)))

    def _show_error(self) -> None:
        state = self._state
        if state is not None and state.wrong:
            self.error.setText(self._tr.t("confirm.wrong", left=state.tries_left))
        elif state is not None:
            self.error.setText(self._tr.t("confirm.hint"))
        else:
            self.error.setText("")
