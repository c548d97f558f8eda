"""The on-screen keyboard of a touch kiosk: every text field of the admin screens (refund reason,
the lane's plate and reason, renewal plate) and of the installer wizard types through it.

    KeyboardHost(window, tr)      # shows the keyboard whenever a text field of `window` gets focus

No pinyin: digits, letters (upper or lower case), space, and for a plate field (a QLineEdit with
the property keyboard="plate") the provinces' characters that begin a Chinese plate. Its own
line shows what the field holds (masked for a password), since the keyboard may cover the field.
The keys never take the focus, so the field keeps it; OK presses the field's Enter and closes.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QGridLayout, QHBoxLayout, QLineEdit, QPushButton,
                               QSizePolicy, QVBoxLayout, QWidget)

from ui import theme
from ui.i18n import Translator
from ui.widgets import follow_language, label

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_ENDINGS = "警学港澳挂领"
LETTER_ROWS = ("1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")
# Many keys on an 800x480 screen; an opaque panel: it lies over the screen's own widgets.
KEYS_STYLE = f"QWidget#keyboard {{ background: {theme.PANEL}; border-top: 2px solid {theme.ACCENT}; }} " \
             "QPushButton { min-height: 0px; min-width: 0px; padding: 0px; }"


class OnScreenKeyboard(QWidget):
    def __init__(self, tr: Translator, parent: QWidget | None = None):
        super().__init__(parent)
        self._tr = tr
        self.target: QLineEdit | None = None
        self._lower = False
        self.setObjectName("keyboard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(KEYS_STYLE)
        self.echo = label(role="big", wrap=False, align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.echo.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Maximum)   # the keys get the room
        self.keys: dict[str, QPushButton] = {}
        self.province_keys = QWidget()
        grid = QGridLayout(self.province_keys)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(3)
        for index, char in enumerate(PROVINCES + PLATE_ENDINGS):
            grid.addWidget(self._key(char), index // 19, index % 19)
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 6, 6, 6)
        column.setSpacing(3)
        column.addWidget(self.echo)
        column.addWidget(self.province_keys)
        for chars in LETTER_ROWS:
            row = QHBoxLayout()
            row.setSpacing(3)
            for char in chars:
                row.addWidget(self._key(char))
            column.addLayout(row, 1)
        controls = QHBoxLayout()
        for name, stretch in (("case", 1), ("space", 3), ("back", 1), ("hide", 1), ("ok", 1)):
            controls.addWidget(self._key(name), stretch)
        column.addLayout(controls, 1)
        self.keys["ok"].setObjectName("ok")
        follow_language(self, tr, self.retranslate)
        self.retranslate()
        self.hide()

    def _key(self, name: str) -> QPushButton:
        button = QPushButton(name)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)      # the field keeps the focus
        button.clicked.connect(lambda _=False, key=name: self.press(key))
        self.keys[name] = button
        return button

    def retranslate(self) -> None:
        for name in ("space", "back", "hide", "ok"):
            self.keys[name].setText(self._tr.t(f"keyboard.{name}"))
        self.keys["case"].setText("abc" if not self._lower else "ABC")
        for chars in LETTER_ROWS[1:]:
            for char in chars:
                self.keys[char].setText(char.lower() if self._lower else char)
        self._show_text()

    def attach(self, field: QLineEdit) -> None:
        """Type into `field` from now on; a plate field gets the provinces' keys and capitals."""
        if self.target is not None and self.target is not field:
            self.target.textChanged.disconnect(self._show_text)
        if self.target is not field:
            field.textChanged.connect(self._show_text)
        self.target = field
        plate = field.property("keyboard") == "plate"
        self.province_keys.setVisible(plate)
        if plate and self._lower:
            self.press("case")
        self._show_text()

    def detach(self) -> None:
        if self.target is not None:
            self.target.textChanged.disconnect(self._show_text)
        self.target = None
        self.hide()

    def press(self, key: str) -> None:
        field = self.target
        if key == "case":
            self._lower = not self._lower
            self.retranslate()
            return
        if key == "hide" or field is None:
            self.hide()
            return
        if key == "ok":
            self.hide()
            field.returnPressed.emit()
            field.editingFinished.emit()
        elif key == "back":
            field.backspace()
        elif key == "space":
            field.insert(" ")
        else:
            field.insert(key.lower() if self._lower and key.isascii() and key.isalpha() else key)

    def _show_text(self, *_: object) -> None:
        field = self.target
        if field is None:
            self.echo.setText("")
            return
        text = field.text()
        if field.echoMode() != QLineEdit.EchoMode.Normal:
            text = "•" * len(text)
        self.echo.setText(text or field.placeholderText())


class KeyboardHost(QObject):
    """Shows `window`'s keyboard, across the bottom of it, whenever one of its text fields gets
    the focus, and hides it when the focus goes to something that is not a text field."""

    SHARE_OF_HEIGHT = 0.5
    PLATE_SHARE_OF_HEIGHT = 0.62       # two more rows: the provinces

    def __init__(self, window: QWidget, tr: Translator):
        super().__init__(window)
        self.window = window
        self.keyboard = OnScreenKeyboard(tr, window)
        QApplication.instance().focusChanged.connect(self._focus_changed)   # gone with this object
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.window and event.type() == QEvent.Type.Resize and self.keyboard.isVisible():
            self.show()                  # still across the bottom after a rotation or a resize
        return False

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if isinstance(new, QLineEdit) and not new.isReadOnly() and self.window.isAncestorOf(new) \
                and not isinstance(new.parent(), QAbstractSpinBox):   # a spin box has its own arrows
            self.keyboard.attach(new)
            self.show()
        elif new is not None and self.window.isAncestorOf(new) and not self.keyboard.isAncestorOf(new):
            self.keyboard.detach()

    def show(self) -> None:
        plate = self.keyboard.province_keys.isVisibleTo(self.keyboard)
        height = int(self.window.height() * (self.PLATE_SHARE_OF_HEIGHT if plate else self.SHARE_OF_HEIGHT))
        self.keyboard.setGeometry(0, self.window.height() - height, self.window.width(), height)
        self.keyboard.show()
        self.keyboard.raise_()
