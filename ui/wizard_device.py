"""The installer wizard's device page: one chosen device's driver, its fields (a DeviceForm) and
its live test, which must pass on exactly the settings on screen before Next.
"""
from __future__ import annotations

from typing import Callable

from pydantic import BaseModel
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout

from terminal.installer.checks import validate_model
from terminal.installer.results import Errors, FieldError, FoundDevice, LiveTestResult
from ui.bridge import BackgroundCalls
from ui.device_form import DeviceForm
from ui.i18n import STRINGS, Translator
from ui.widgets import CameraPreview, ScrollSafeComboBox, label, set_role
from ui.wizard_pages import Done, Page


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
