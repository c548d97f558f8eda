"""The installer wizard's pages. Each page checks its own fields (`check()` -> errors per field)
and may do slow work (registration, discovery, live tests, doctor) through BackgroundCalls, so
the screen never freezes while a device or the network answers.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from pydantic import BaseModel
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QHBoxLayout, QLineEdit, QPushButton,
                               QRadioButton, QVBoxLayout, QWidget)

from ui.bridge import BackgroundCalls
from ui.device_form import DeviceForm, error_text, mark_invalid
from ui.i18n import STRINGS, Translator
from ui.setup_flow import (Errors, FieldError, FoundDevice, LiveTestResult, check_backend, check_scene,
                           device_name, registration_error, validate_model)
from ui.widgets import CameraPreview, ScrollSafeComboBox, label, set_role

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


class DevicePage(Page):
    """One device: pick its driver, fill its fields, test it live. Next needs a passed test of
    exactly the settings on screen (change a field and it must be tested again)."""

    title_key = "wiz.device"
    busy = Signal(bool)

    def __init__(self, tr: Translator, calls: BackgroundCalls, found: FoundDevice,
                 models: list[type[BaseModel]], live_test: Callable[[str, BaseModel], LiveTestResult],
                 other_names: Callable[[], set[str]] = set):
        super().__init__(tr)
        self._calls, self.found, self._live_test = calls, found, live_test
        self.other_names = other_names        # the names of the wizard's other devices
        self.models = {m.model_fields["type"].annotation.__args__[0]: m for m in models}
        self.driver = ScrollSafeComboBox()
        for key in self.models:
            self.driver.addItem(key, key)
        start = found.config.get("type")
        if start in self.models:
            self.driver.setCurrentIndex(self.driver.findData(start))
        self.driver.currentIndexChanged.connect(self._driver_changed)
        self.form_holder = QVBoxLayout()
        self.form: DeviceForm | None = None
        self.test_button = QPushButton()
        self.test_button.clicked.connect(self.run_test)
        self.hint = label(role="muted")
        self.result = label(role="big")
        self.preview = CameraPreview()
        self.preview.setVisible(found.kind in ("camera", "plate_camera"))
        self.preview.face_guide = found.kind == "camera"
        self.passed_config: BaseModel | None = None
        left = QVBoxLayout()
        left.addWidget(self.driver)
        left.addWidget(self._error_label(""))   # above the fields: visible without scrolling
        left.addLayout(self.form_holder)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.hint)
        right.addWidget(self.test_button)
        right.addWidget(self.result)
        right.addWidget(self.preview, 1)
        if found.kind not in ("camera", "plate_camera"):
            right.addStretch(1)
        row = QHBoxLayout(self)
        row.addLayout(left, 3)
        row.addLayout(right, 2)
        self._driver_changed()

    def title(self) -> str:
        return self._tr.t("wiz.device", name=self._tr.t("kind." + self.found.kind))

    def _driver_changed(self) -> None:
        if self.form is not None:
            self.form.deleteLater()
        model = self.models[self.driver.currentData()]
        self.form = DeviceForm(self._tr, model, self.found.config)
        self.form_holder.addWidget(self.form)
        for edit in self.form.findChildren(QLineEdit):      # the hint follows what is typed
            edit.textChanged.connect(self.show_hint)
        for box in self.form.findChildren(QCheckBox):
            box.toggled.connect(self.show_hint)
        for button in self.form.findChildren(QPushButton):  # a camera added to / removed from the list
            button.clicked.connect(lambda *_: QTimer.singleShot(0, self.show_hint))
        self.show_hint()
        self.passed_config = None
        self.result.setText("")

    def retranslate(self) -> None:
        for index in range(self.driver.count()):     # the driver in words, not its config id
            key = f"driver.{self.driver.itemData(index)}"
            self.driver.setItemText(index, self._tr.t(key) if key in STRINGS else str(self.driver.itemData(index)))
        self.test_button.setText(self._tr.t("wiz.test"))
        self.show_hint()
        if self.form is not None:
            self.form.retranslate()
        super().retranslate()

    def show_hint(self) -> None:
        """What to do before the live test. For a plate camera, what is still missing, next to
        the button: the push address to type into the camera (from this form), and the camera
        serial numbers when the allow-list is empty."""
        t = self._tr
        if self.found.kind != "plate_camera" or self.form is None:
            self.hint.setText(t.t("wiz.test_hint." + self.found.kind))
            return
        values = self.form.values()
        if values.get("simulated"):
            self.hint.setText(t.t("wiz.plate_hint_simulated"))
            return
        secret = str(values.get("secret") or "")
        url = f"http://{t.t('wiz.this_ip')}:{values.get('port') or '?'}{values.get('path') or ''}"
        lines = [t.t("wiz.plate_hint_url", url=url + (f"?key={secret}" if secret else ""))]
        if not values.get("cameras"):
            lines.append(t.t("wiz.plate_hint_no_cameras"))
        self.hint.setText("\n".join(lines))

    def name(self) -> str:
        return str(self.form.values().get("name", "")) if self.form is not None else ""

    def config(self) -> tuple[BaseModel | None, Errors]:
        assert self.form is not None
        config, errors = validate_model(self.form.model, self.form.values())
        if self.name() in self.other_names():
            config, errors = None, {**errors, "name": FieldError("err.name_taken", {"name": self.name()})}
        self.form.show_errors(errors)
        # errors of the whole model (e.g. "port needed unless simulated") go under the form
        self.show_errors({"": errors[""]} if "" in errors else {})
        return config, errors

    def run_test(self) -> None:
        config, errors = self.config()
        if errors or config is None:
            return
        self.test_button.setEnabled(False)
        self.result.setText(self._tr.t("wiz.test_running"))
        self.busy.emit(True)
        self._calls.call(self._live_test, self.found.kind, config,
                         done=lambda result: self._tested(config, result),
                         failed=lambda exc: self._tested(config, LiveTestResult(False, str(exc), str(exc))))

    def _tested(self, config: BaseModel, result: LiveTestResult) -> None:
        self.busy.emit(False)
        self.test_button.setEnabled(True)
        detail = self._tr.pick(result.zh, result.en)
        self.result.setText(self._tr.t("wiz.test_ok" if result.ok else "wiz.test_failed", detail=detail))
        set_role(self.result, "ok_text" if result.ok else "bad_text")
        if result.frame is not None:
            self.preview.set_frame(result.frame)
            self.preview.set_face_boxes(result.boxes)
        if result.learned and self.form is not None:
            self.form.learn(result.learned)      # e.g. the camera heard pushing: test it again
        self.passed_config = config if result.ok else None

    def submit(self, go_on: Done) -> None:
        config, errors = self.config()
        if errors:
            return
        if self.passed_config is None or self.passed_config != config:
            name = self._tr.t("kind." + self.found.kind)
            self.show_errors({"": FieldError("wiz.untested", {"name": name})})
            return
        self.show_errors({})
        go_on()
