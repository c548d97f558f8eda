"""The installer wizard's pages. Each page checks its own fields (`check()` -> errors per field)
and may do slow work (registration, discovery, live tests, doctor) through BackgroundCalls, so
the screen never freezes while a device or the network answers. The device page is in
ui/wizard_device.py.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QHBoxLayout, QLineEdit, QPushButton,
                               QRadioButton, QVBoxLayout, QWidget)

from terminal.installer.backend import registration_error
from terminal.installer.checks import check_backend, check_scene, device_name
from terminal.installer.results import Errors, FoundDevice
from ui.bridge import BackgroundCalls
from ui.device_form import error_text, mark_invalid
from ui.i18n import Translator
from ui.widgets import ScrollSafeComboBox, label

Done = Callable[[], None]


class Page(QWidget):
    """A wizard step. `submit(go_on)` checks the fields and calls go_on() when the step is done."""

    title_key = ""

    def __init__(self, tr: Translator):
        super().__init__()
        self._tr = tr
        self.error_labels: dict[str, Any] = {}
        self.inputs: dict[str, QWidget] = {}     # field name -> its input, framed red on error
        self.errors: Errors = {}

    def _error_label(self, name: str):  # noqa: ANN202
        error = label(role="error", align=Qt.AlignmentFlag.AlignLeft)
        error.hide()
        self.error_labels[name] = error
        return error

    def show_errors(self, errors: Errors) -> None:
        self.errors = errors
        for name, widget in self.error_labels.items():
            error = errors.get(name)
            widget.setText(error_text(self._tr, error) if error else "")
            widget.setVisible(error is not None)
            if name in self.inputs:
                mark_invalid(self.inputs[name], error is not None)

    def error_of(self, name: str) -> str:
        widget = self.error_labels.get(name)
        return widget.text() if widget is not None and widget.isVisibleTo(self) else ""

    def title(self) -> str:
        return self._tr.t(self.title_key)

    def retranslate(self) -> None:
        self.show_errors(self.errors)

    def submit(self, go_on: Done) -> None:
        go_on()


class ScenePage(Page):
    """Canteen gate or parking lane; a parking lane also says whether it is an entry or an exit."""

    title_key = "wiz.scene"

    def __init__(self, tr: Translator, scene: str | None = None, direction: str | None = None):
        super().__init__(tr)
        self.buttons = {"canteen": QRadioButton(), "parking": QRadioButton()}
        self.directions = {"entry": QRadioButton(), "exit": QRadioButton()}
        self.direction_title = label(align=Qt.AlignmentFlag.AlignLeft)
        column = QVBoxLayout(self)
        for choices, chosen, title in ((self.buttons, scene, None), (self.directions, direction, self.direction_title)):
            group = QButtonGroup(self)
            if title is not None:
                column.addWidget(title)
            for key, button in choices.items():
                group.addButton(button)
                button.setChecked(key == chosen)
                column.addWidget(button)
            column.addWidget(self._error_label("scene" if title is None else "direction"))
        column.addStretch(1)
        self.buttons["parking"].toggled.connect(self._show_directions)
        self._show_directions()
        self.retranslate()

    def _show_directions(self) -> None:
        parking = self.buttons["parking"].isChecked()
        for widget in (self.direction_title, *self.directions.values()):
            widget.setVisible(parking)

    def retranslate(self) -> None:
        t = self._tr
        self.buttons["canteen"].setText(t.t("wiz.scene_canteen"))
        self.buttons["parking"].setText(t.t("wiz.scene_parking"))
        self.direction_title.setText(t.t("wiz.direction"))
        self.directions["entry"].setText(t.t("wiz.direction_entry"))
        self.directions["exit"].setText(t.t("wiz.direction_exit"))
        super().retranslate()

    def scene(self) -> str | None:
        return next((key for key, button in self.buttons.items() if button.isChecked()), None)

    def direction(self) -> str | None:
        return next((key for key, button in self.directions.items() if button.isChecked()), None)

    def submit(self, go_on: Done) -> None:
        errors = check_scene(self.scene(), self.direction())
        self.show_errors(errors)
        if not errors:
            go_on()


class BackendPage(Page):
    """Backend address and one-time code; Next registers the terminal (off the UI thread)."""

    title_key = "wiz.backend"
    busy = Signal(bool)

    def __init__(self, tr: Translator, calls: BackgroundCalls, register: Callable[[str, str], Any],
                 url: str = "", already_registered: bool = False):
        super().__init__(tr)
        self._calls, self._register = calls, register
        self.already_registered = already_registered
        self.registration: Any = None
        self.url_title, self.code_title = label(align=Qt.AlignmentFlag.AlignLeft), label(align=Qt.AlignmentFlag.AlignLeft)
        self.url = QLineEdit(url)
        self.code = QLineEdit()
        self.inputs = {"url": self.url, "code": self.code}
        self.status = label(role="ok_text")
        column = QVBoxLayout(self)
        for widget in (self.url_title, self.url, self._error_label("url"), self.code_title, self.code,
                       self._error_label("code"), self._error_label(""), self.status):
            column.addWidget(widget)
        column.addStretch(1)
        self.retranslate()

    def retranslate(self) -> None:
        self.url_title.setText(self._tr.t("wiz.url"))
        self.code_title.setText(self._tr.t("wiz.code"))
        self.url.setPlaceholderText("https://pay.example.cn")
        if self.registration is not None:
            self._show_registered()
        super().retranslate()

    def _show_registered(self) -> None:
        reg = self.registration
        self.status.setText(self._tr.t("wiz.registered", id=getattr(reg, "terminal_id", "?"),
                                       name=getattr(reg, "name", "")))

    def submit(self, go_on: Done) -> None:
        url, code = self.url.text().strip(), self.code.text().strip()
        errors = check_backend(url, code)
        if not code and (self.registration is not None or self.already_registered):
            errors.pop("code", None)
            self.show_errors(errors)
            if not errors:
                go_on()   # registered before (this visit or an earlier set-up): no new code needed
            return
        self.show_errors(errors)
        if errors:
            return
        self.status.setText(self._tr.t("admin.working"))
        self.busy.emit(True)

        def registered(result: Any) -> None:
            self.busy.emit(False)
            self.registration = result
            self.code.clear()   # a one-time code is spent; never keep it on screen
            self._show_registered()
            self.show_errors({})
            go_on()

        def failed(exc: Exception) -> None:
            self.busy.emit(False)
            self.status.setText("")
            self.show_errors(registration_error(exc))

        self._calls.call(self._register, url, code, done=registered, failed=failed)


class DiscoverPage(Page):
    """Serial ports, cameras and simulators found; the installer ticks the ones to set up and
    says what is on each serial port (a port cannot tell a scanner from a gate). What is offered
    follows the scene and lane direction chosen on the first page (a parking lane: plate camera)."""

    title_key = "wiz.discover"

    def __init__(self, tr: Translator, calls: BackgroundCalls,
                 discover: Callable[[str | None, str | None], list[FoundDevice]],
                 lane: Callable[[], tuple[str | None, str | None]] = lambda: (None, None)):
        super().__init__(tr)
        self._calls, self._discover, self._lane = calls, discover, lane
        self._scanned_for: tuple[str | None, str | None] | None = None
        self.found: list[FoundDevice] = []
        self.rows: list[tuple[QCheckBox, QComboBox | None, QWidget]] = []
        self.summary = label(role="big")
        self.rescan = QPushButton()
        self.rescan.clicked.connect(self.scan)
        self.list = QVBoxLayout()
        column = QVBoxLayout(self)
        column.addWidget(self.summary)
        column.addLayout(self.list)
        column.addWidget(self._error_label(""))
        column.addStretch(1)
        column.addWidget(self.rescan)
        self._scanned = False
        self.retranslate()

    def retranslate(self) -> None:
        self.rescan.setText(self._tr.t("wiz.rescan"))
        self._show_summary()
        for (check, combo, _row), found in zip(self.rows, self.found):
            check.setText(found.label if combo else f"{self._tr.t('kind.' + found.kind)} · {found.label}")
            if combo is not None:
                for index in range(combo.count()):
                    combo.setItemText(index, self._tr.t("kind." + str(combo.itemData(index))))
        super().retranslate()

    def _show_summary(self) -> None:
        if not self._scanned:
            self.summary.setText(self._tr.t("admin.working"))
        elif self.found:
            self.summary.setText(self._tr.t("wiz.found", n=len(self.found)))
        else:
            self.summary.setText(self._tr.t("wiz.found_none"))

    def showEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override: scan when first shown
        super().showEvent(event)
        if not self._scanned or self._scanned_for != self._lane():
            self.scan()          # first visit, or the installer went back and changed the scene

    def scan(self) -> None:
        self.rescan.setEnabled(False)
        self._scanned_for = self._lane()
        self._calls.call(self._discover, *self._scanned_for, done=self.show_found,
                         failed=lambda exc: self.show_found([]))

    def show_found(self, found: list[FoundDevice]) -> None:
        self._scanned = True
        self.rescan.setEnabled(True)
        for _check, _combo, row in self.rows:
            row.deleteLater()
        self.found, self.rows = list(found), []
        for item in self.found:
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            check = QCheckBox()
            check.setChecked(item.checked)
            line.addWidget(check, 1)
            combo = None
            if item.kinds:
                combo = ScrollSafeComboBox()
                for kind in item.kinds:
                    combo.addItem(kind, kind)
                combo.setCurrentIndex(max(0, combo.findData(item.kind)))
                line.addWidget(combo)
            self.rows.append((check, combo, row))
            self.list.addWidget(row)
        self.retranslate()

    def chosen(self) -> list[FoundDevice]:
        """The ticked devices, each with its kind and a unique device name."""
        taken: set[str] = set()
        chosen = []
        for found, (check, combo, _row) in zip(self.found, self.rows):
            if not check.isChecked():
                continue
            kind = combo.currentData() if combo is not None else found.kind
            name = found.config.get("name")      # the current config's name stays (a gate choice names it)
            if not name or name in taken:
                name = device_name(kind, taken)
            taken.add(name)
            chosen.append(replace(found, kind=kind, config={**found.config, "name": name}))
        return chosen

