"""A big numeric keypad screen (back button, title, what was typed, an error line, 4×3 keys),
shared by the PIN gate and the cashier's amount entry."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from ui.i18n import Translator
from ui.widgets import follow_language, label


class KeypadScreen(QWidget):
    """Subclasses implement `press(key)` and `retranslate()`; `cancelled` when Back is pressed."""

    cancelled = Signal()

    def __init__(self, tr: Translator, left_key: str, right_key: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._tr = tr
        self.title = label(role="title")
        self.entry = label(role="headline")
        self.error = label(role="bad_text")
        self.keys: dict[str, QPushButton] = {}
        grid = QGridLayout()
        for index, key in enumerate("123456789"):
            grid.addWidget(self._key(key), index // 3, index % 3)
        grid.addWidget(self._key(left_key), 3, 0)
        grid.addWidget(self._key("0"), 3, 1)
        grid.addWidget(self._key(right_key), 3, 2)
        self.back = QPushButton()
        self.back.setObjectName("small")
        self.back.clicked.connect(self._cancel)
        top = QHBoxLayout()
        top.addWidget(self.back)
        top.addWidget(self.title, 1)
        self.column = QVBoxLayout(self)
        self.column.addLayout(top)
        self.column.addWidget(self.entry)
        self.column.addWidget(self.error)
        self.column.addLayout(grid, 1)
        follow_language(self, tr, self.retranslate)

    def _key(self, key: str) -> QPushButton:
        button = QPushButton(key)
        button.clicked.connect(lambda _checked=False, k=key: self.press(k))
        self.keys[key] = button
        return button

    def press(self, key: str) -> None:  # pragma: no cover - every subclass defines it
        raise TypeError(f"{type(self).__name__} does not handle key {key!r}")

    def retranslate(self) -> None:
        self.back.setText(self._tr.t("pin.back"))

    def reset(self) -> None:
        self.entry.setText("")
        self.error.setText("")

    def _cancel(self) -> None:
        self.reset()
        self.cancelled.emit()
