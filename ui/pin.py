"""The PIN gate in front of the admin screens: a big numeric keypad, digits shown as dots.

The PIN is checked by the core (TerminalPort.verify_pin) off the UI thread; a wrong PIN clears
the entry and says how many tries are left before the screen locks — or, after too many wrong tries, when the PIN may be tried again (the
core's `pin_locked_until`; "wrong PIN" then would send the cashier guessing on). On success `accepted(pin)` carries the PIN, which the admin screens pass
on with refunds, voids and shift close (the core checks it again and audits the action).
"""
from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from ui.bridge import CoreBridge
from ui.i18n import Translator
from ui.keypad import KeypadScreen

MAX_PIN_DIGITS = 12


class PinGate(KeypadScreen):
    accepted = Signal(str)

    def __init__(self, tr: Translator, bridge: CoreBridge, parent: QWidget | None = None):
        super().__init__(tr, "clear", "ok", parent)
        self._bridge = bridge
        self._digits = ""
        self._checking = False
        self._locked_until: datetime | None = None
        self._tries_left: int | None = None
        self.dots = self.entry
        self.retranslate()

    def retranslate(self) -> None:
        super().retranslate()
        self.title.setText(self._tr.t("pin.title"))
        self.keys["clear"].setText(self._tr.t("pin.clear"))
        self.keys["ok"].setText(self._tr.t("pin.ok"))
        if self.error.text():
            self._say_refused()

    def reset(self) -> None:
        self._digits = ""
        super().reset()

    def press(self, key: str) -> None:
        if self._checking:
            return
        if key == "clear":
            self._digits = ""
        elif key == "ok":
            self._submit()
            return
        elif key.isdigit() and len(self._digits) < MAX_PIN_DIGITS:
            self._digits += key
            self.error.setText("")
        self.dots.setText("●" * len(self._digits))

    def _submit(self) -> None:
        if not self._digits:
            self.error.setText(self._tr.t("pin.wrong"))
            return
        self._checking = True
        pin = self._digits
        self._bridge.call(self._check, pin,
                          done=lambda answer: self._checked(pin, *answer),
                          failed=lambda _exc: self._checked(pin, False, None, None))

    def _check(self, pin: str) -> tuple[bool, datetime | None, int | None]:
        """On the pool: the core's verdict, and if refused, whether the PIN is now locked and
        how many tries are left before it locks."""
        core = self._bridge.core
        ok = bool(core.verify_pin(pin))
        if ok:
            return True, None, None
        locked = getattr(core, "pin_locked_until", None)   # TerminalCore has both
        tries_left = getattr(core, "pin_tries_left", None)
        return (False, locked() if locked is not None else None,
                tries_left() if tries_left is not None else None)

    def _checked(self, pin: str, ok: bool, locked_until: datetime | None, tries_left: int | None = None) -> None:
        self._checking = False
        self._digits = ""
        self.dots.setText("")
        self._locked_until = locked_until
        self._tries_left = tries_left
        if ok:
            self.error.setText("")
            self.accepted.emit(pin)
        else:
            self._say_refused()

    def _say_refused(self) -> None:
        if self._locked_until is not None:
            self.error.setText(self._tr.t("pin.locked", time=self._tr.time(self._locked_until, seconds=False)))
        elif self._tries_left:
            key = "pin.wrong_last_try" if self._tries_left == 1 else "pin.wrong_tries_left"
            self.error.setText(self._tr.t(key, left=self._tries_left))
        else:
            self.error.setText(self._tr.t("pin.wrong"))
