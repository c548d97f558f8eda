"""The cashier keys in the amount of the next canteen payment (meal periods priced at the window).

The amount is typed in yuan and parsed exactly (core.money.parse_yuan, never a float); the
core gets integer fen through TerminalPort.key_in_amount, off the UI thread.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPushButton, QWidget

from core.wire import MAX_AMOUNT_FEN
from core.money import parse_yuan
from ui.bridge import CoreBridge
from ui.i18n import Translator
from ui.keypad import KeypadScreen


class AmountPad(KeypadScreen):
    keyed = Signal(int)

    def __init__(self, tr: Translator, bridge: CoreBridge, parent: QWidget | None = None):
        super().__init__(tr, ".", "clear", parent)
        self._bridge = bridge
        self._text = ""
        self.confirm = QPushButton()
        self.confirm.clicked.connect(self.submit)
        self.column.addWidget(self.confirm)
        self.retranslate()

    def retranslate(self) -> None:
        super().retranslate()
        self.title.setText(self._tr.t("amount.title"))
        self.keys["clear"].setText(self._tr.t("pin.clear"))
        self.confirm.setText(self._tr.t("pin.ok"))
        self._show()

    def reset(self) -> None:
        self._text = ""
        super().reset()
        self._show()

    def _show(self) -> None:
        self.entry.setText(f"¥{self._text}" if self._text else self._tr.t("amount.hint"))

    def press(self, key: str) -> None:
        if key == "clear":
            self._text = ""
        elif key == "." and "." not in self._text:
            self._text = (self._text or "0") + "."
        elif key.isdigit():
            whole, dot, cents = self._text.partition(".")
            if (dot and len(cents) < 2) or (not dot and len(whole) < 7):
                self._text += key
        self.error.setText("")
        self._show()

    def submit(self) -> None:
        try:
            fen = parse_yuan(self._text) if self._text else 0
        except ValueError:
            fen = 0
        if not 0 < fen <= MAX_AMOUNT_FEN:
            self.error.setText(self._tr.t("amount.bad", max=self._tr.money(MAX_AMOUNT_FEN)))
            return
        self.confirm.setEnabled(False)

        def done(_result: object) -> None:
            self.confirm.setEnabled(True)
            self.reset()
            self.keyed.emit(fen)

        def failed(exc: Exception) -> None:
            self.confirm.setEnabled(True)
            self.error.setText(self._tr.t("admin.failed", error=str(exc)))

        self._bridge.call(self._bridge.core.key_in_amount, fen, done=done, failed=failed)
