"""The installer wizard: scene -> backend and one-time code -> find devices -> one page per device
(configure, test live) -> save -> doctor. Reachable later from the admin screens (behind the PIN).

Everything that touches the network, a device or a file is a function in `SetupServices`, given
to the constructor: the real ones are composed in terminal/installer/services.py by the entry
points, so tests pass the real registration call against a real backend, and simulators for the
devices. The wizard only presents.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QFrame, QHBoxLayout, QLineEdit, QPushButton, QRadioButton, QScrollArea,
                               QStackedWidget, QVBoxLayout, QWidget)

from terminal.installer.config import plain_data
from terminal.installer.devices import kind_of_type
from terminal.installer.results import DoctorLine, FieldError, SetupServices
from ui import theme
from ui.bridge import BackgroundCalls
from ui.i18n import Translator
from ui.widgets import follow_language, label
from ui.wizard_device import DevicePage
from ui.wizard_pages import BackendPage, DiscoverPage, Page, ScenePage


class SavePage(Page):
    """A summary, this lane's barrier (which gate a payment opens, when there are several; for a
    parking lane, whether our gate or the plate camera lifts it), the admin PIN (twice), and
    Save: the whole config is checked field by field."""

    title_key = "wiz.save"
    BARRIERS = ("gate", "camera")           # terminal.parking_config.ParkingConfig.barrier_via

    def __init__(self, tr: Translator, calls: BackgroundCalls, services: SetupServices,
                 gather: Callable[[], dict[str, Any]]):
        super().__init__(tr)
        self._calls, self._services, self._gather = calls, services, gather
        self.summary = label(role="big", align=Qt.AlignmentFlag.AlignLeft)
        self.gate_title = label(align=Qt.AlignmentFlag.AlignLeft)
        self.gate_buttons: dict[str, QRadioButton] = {}
        self._gate_group = QButtonGroup(self)
        self._gate_list = QVBoxLayout()
        self._gate_picked: str | None = services.initial.get("gate")
        self.barrier_title = label(align=Qt.AlignmentFlag.AlignLeft)
        self.barrier_buttons = {key: QRadioButton() for key in self.BARRIERS}
        self._barrier_group = QButtonGroup(self)
        for button in self.barrier_buttons.values():
            self._barrier_group.addButton(button)
            button.toggled.connect(self._barrier_picked)
        self._barrier_start = (services.initial.get("parking") or {}).get("barrier_via")
        self._barrier_by_installer = False      # until then it follows the devices set up
        self._suggesting = False
        self.pin_title = label(align=Qt.AlignmentFlag.AlignLeft)
        self.pin_again_title = label(align=Qt.AlignmentFlag.AlignLeft)
        self.pin, self.pin_again = QLineEdit(), QLineEdit()
        self.inputs = {"pin": self.pin, "pin_again": self.pin_again}
        for edit in (self.pin, self.pin_again):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
        self.status = label(role="ok_text")
        self.saved_path: str | None = None
        column = QVBoxLayout(self)
        column.addWidget(self.summary, 1)
        column.addWidget(self.gate_title)
        column.addLayout(self._gate_list)
        column.addWidget(self._error_label("gate"))
        column.addWidget(self.barrier_title)
        for button in self.barrier_buttons.values():
            column.addWidget(button)
        column.addWidget(self._error_label("barrier_via"))
        for widget in (self.pin_title, self.pin, self._error_label("pin"), self.pin_again_title,
                       self.pin_again, self._error_label("pin_again"), self._error_label(""), self.status):
            column.addWidget(widget)
        self.show_choices()

    def showEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().showEvent(event)
        self.show_choices()
        self.retranslate()

    def show_choices(self) -> None:
        """The gates now configured (the device pages may have changed since the last visit); the
        choice is kept by name. Shown only when there is something to choose."""
        config = self._gather()
        devices = config.get("devices", [])
        gates = [d for d in devices if kind_of_type(str(d.get("type", ""))) == "gate"]
        self._gate_picked = self.gate() or self._gate_picked
        for button in self.gate_buttons.values():
            self._gate_group.removeButton(button)
            button.hide()
            button.deleteLater()
        self.gate_buttons = {}
        for device in gates:
            name = str(device.get("name"))
            where = device.get("port") or device.get("device") or ("模拟器 / simulator" if device.get("simulated") else "")
            button = QRadioButton(f"{name} · {where}" if where else name)
            button.setChecked(name == self._gate_picked)
            self._gate_group.addButton(button)
            self._gate_list.addWidget(button)
            self.gate_buttons[name] = button
        several = len(gates) > 1
        self.gate_title.setVisible(several)
        for button in self.gate_buttons.values():
            button.setVisible(several)
        parking = config.get("scene") == "parking"
        self.barrier_title.setVisible(parking)
        for button in self.barrier_buttons.values():
            button.setVisible(parking)
        if parking and not self._barrier_by_installer:
            plate_camera = any(kind_of_type(str(d.get("type", ""))) == "plate_camera" for d in devices)
            start = self._barrier_start or ("camera" if plate_camera and not gates else "gate")
            self._suggesting = True
            self.barrier_buttons[start].setChecked(True)
            self._suggesting = False

    def _barrier_picked(self, checked: bool) -> None:
        if checked and not self._suggesting:
            self._barrier_by_installer = True

    def gate(self) -> str | None:
        """The gate a payment opens, when there are several to choose from (else None: the only one)."""
        if len(self.gate_buttons) < 2:
            return None
        return next((name for name, button in self.gate_buttons.items() if button.isChecked()), None)

    def barrier_via(self) -> str | None:
        return next((key for key, button in self.barrier_buttons.items() if button.isChecked()), None)

    def retranslate(self) -> None:
        t = self._tr
        config = self._gather()
        lines = [f"{t.t('wiz.scene')}: {t.t('wiz.scene_' + str(config.get('scene')))}",
                 f"{t.t('wiz.url')}: {config.get('backend_url', '')}"]
        for device in config.get("devices", []):
            lines.append(f"· {device.get('name')} ({device.get('type')})")
        self.summary.setText("\n".join(lines))
        self.gate_title.setText(t.t("wiz.lane_gate"))
        self.barrier_title.setText(t.t("wiz.barrier_via"))
        for key, button in self.barrier_buttons.items():
            button.setText(t.t("wiz.barrier_via." + key))
        keep = self._services.initial.get("admin_pin_hash")
        self.pin_title.setText(t.t("wiz.pin") + (f"  ({t.t('wiz.pin_keep')})" if keep else ""))
        self.pin_again_title.setText(t.t("wiz.pin_again"))
        if self.saved_path:
            self.status.setText(t.t("wiz.saved", path=self.saved_path))
        super().retranslate()

    def pins(self) -> dict[str, str]:
        return {"admin_pin": self.pin.text().strip(), "admin_pin_again": self.pin_again.text().strip()}

    def submit(self, go_on: Callable[[], None]) -> None:
        config = self._gather()
        errors = self._services.validate(config)
        shown = {k: e for k, e in errors.items() if k in ("pin", "pin_again", "gate", "barrier_via")}
        others = [e for k, e in errors.items() if k not in shown]
        self.show_errors({**shown, **({"": others[0]} if others else {})})
        if errors:
            return

        def saved(path: str) -> None:
            self.saved_path = str(path)
            self.pin.clear()
            self.pin_again.clear()
            self.retranslate()
            go_on()

        self._calls.call(self._services.save, config, done=saved,
                         failed=lambda exc: self.show_errors({"": FieldError("err.save_failed", {"error": str(exc)})}))


class DoctorPage(Page):
    title_key = "wiz.doctor"

    def __init__(self, tr: Translator, calls: BackgroundCalls, services: SetupServices,
                 gather: Callable[[], dict[str, Any]]):
        super().__init__(tr)
        self._calls, self._services, self._gather = calls, services, gather
        self.lines: list[DoctorLine] | None = None
        self.run_button = QPushButton()
        self.run_button.clicked.connect(self.run)
        self.verdict = label(role="title")
        self.report = label(role="big", align=Qt.AlignmentFlag.AlignLeft)
        column = QVBoxLayout(self)
        column.addWidget(self.verdict)
        column.addWidget(self.report, 1)
        column.addWidget(self.run_button)
        self.retranslate()

    def run(self) -> None:
        self.run_button.setEnabled(False)
        self.verdict.setText(self._tr.t("admin.working"))
        self._calls.call(self._services.doctor, self._gather(), done=self.show_lines,
                         failed=lambda exc: self.show_lines([DoctorLine("doctor", False, str(exc), str(exc))]))

    def show_lines(self, lines: list[DoctorLine]) -> None:
        self.run_button.setEnabled(True)
        self.lines = list(lines)
        self.retranslate()

    def retranslate(self) -> None:
        t = self._tr
        self.run_button.setText(t.t("wiz.doctor_run"))
        if self.lines is None:
            return
        bad = [line for line in self.lines if not line.ok]
        sims = [line for line in self.lines if line.ok and line.simulator]
        if bad:
            self.verdict.setText(t.t("wiz.doctor_bad", n=len(bad)))
        elif sims:      # a simulator passing is no reason to send the terminal into service
            self.verdict.setText(t.t("wiz.doctor_simulators", n=len(sims)))
        else:
            self.verdict.setText(t.t("wiz.doctor_ok"))
        rows = []
        for line in self.lines:
            mark = "✘" if not line.ok else "◇" if line.simulator else "✔"
            text = f"{mark} {line.name}: {t.pick(line.zh, line.en)}"
            if line.ok and line.simulator:
                text += t.t("wiz.doctor_simulator_note")
            fix = t.pick(line.fix_zh, line.fix_en)
            rows.append(f"{text}\n    → {fix}" if fix and not line.ok else text)
        self.report.setText("\n".join(rows))


class InstallerWizard(QWidget):
    """A stacked flow of pages with Back/Next; `finished(config)` after the last step."""

    finished = Signal(dict)
    cancelled = Signal()

    def __init__(self, tr: Translator, services: SetupServices, parent: QWidget | None = None):
        super().__init__(parent)
        self._tr, self.services = tr, services
        self.calls = BackgroundCalls(parent=self)
        initial = services.initial
        self.scene_page = ScenePage(tr, initial.get("scene"), (initial.get("parking") or {}).get("direction"))
        self.backend_page = BackendPage(tr, self.calls, services.register, initial.get("backend_url", ""),
                                        already_registered=bool(initial.get("admin_pin_hash")))
        self.device_pages: list[DevicePage] = []
        self.discover_page = DiscoverPage(tr, self.calls, services.discover,
                                          lambda: (self.scene_page.scene(), self.scene_page.direction()))
        self.save_page = SavePage(tr, self.calls, services, self.config)
        self.doctor_page = DoctorPage(tr, self.calls, services, self.config)
        self.stack = QStackedWidget()
        self.pages: list[Page] = []
        self._scrolls: dict[Page, QScrollArea] = {}
        self.heading = label(role="title", align=Qt.AlignmentFlag.AlignLeft)
        self.step = label(role="muted", align=Qt.AlignmentFlag.AlignRight)
        self.back_button, self.next_button = QPushButton(), QPushButton()
        self.lang_button = QPushButton()           # the installer's language; the saved config keeps it
        self.lang_button.setObjectName("small")
        self.lang_button.clicked.connect(tr.toggle)
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)
        self.backend_page.busy.connect(lambda busy: self.next_button.setEnabled(not busy))
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.step)
        top.addWidget(self.lang_button)
        nav = QHBoxLayout()
        nav.addWidget(self.back_button)
        nav.addStretch(1)
        nav.addWidget(self.next_button)
        column = QVBoxLayout(self)
        column.addLayout(top)
        column.addWidget(self.stack, 1)
        column.addLayout(nav)
        self._set_pages([self.scene_page, self.backend_page, self.discover_page, self.save_page,
                         self.doctor_page])
        follow_language(self, tr, self.retranslate)
        self.retranslate()

    def _set_pages(self, pages: list[Page]) -> None:
        """Each page sits in a scroll area, so long device forms still fit 800×480."""
        for page in pages:
            if page not in self._scrolls:
                scroll = QScrollArea()
                scroll.setWidgetResizable(True)
                scroll.setFrameShape(QFrame.Shape.NoFrame)
                scroll.setWidget(page)
                self._scrolls[page] = scroll
                self.stack.addWidget(scroll)
        self.pages = pages

    def current(self) -> Page:
        scroll = self.stack.currentWidget()
        return next(page for page, holder in self._scrolls.items() if holder is scroll)

    def retranslate(self) -> None:
        t = self._tr
        for page in self.pages:
            page.retranslate()
        index = self.pages.index(self.current())
        self.heading.setText(self.current().title())
        self.step.setText(t.t("wiz.step", i=index + 1, n=len(self.pages)))
        self.lang_button.setText(t.t("lang.switch"))
        self.back_button.setText(t.t("wiz.back") if index else t.t("pin.back"))
        self.next_button.setText(t.t("wiz.finish") if self.current() is self.doctor_page else t.t("wiz.next"))

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        super().resizeEvent(event)
        if self.parentWidget() is None:
            theme.apply(self)

    def go_to(self, page: Page) -> None:
        self.stack.setCurrentWidget(self._scrolls[page])
        self.retranslate()

    def back(self) -> None:
        index = self.pages.index(self.current())
        if index == 0:
            self.cancelled.emit()
        else:
            self.go_to(self.pages[index - 1])

    def next(self) -> None:
        page = self.current()
        page.submit(lambda: self._advance(page))

    def _advance(self, page: Page) -> None:
        if page is self.discover_page:
            self._make_device_pages()
        if page is self.doctor_page:
            self.finished.emit(self.config())
            return
        self.go_to(self.pages[self.pages.index(page) + 1])

    def _make_device_pages(self) -> None:
        """One page per chosen device; pages for devices still chosen keep what was entered."""
        keep = {(p.found.label, p.found.kind, p.found.config.get("name")): p for p in self.device_pages}
        pages = []
        for found in self.discover_page.chosen():
            page = keep.get((found.label, found.kind, found.config.get("name")))
            if page is None:
                page = DevicePage(self._tr, self.calls, found, self.services.models_for(found.kind),
                                  self.services.live_test)
                page.other_names = lambda page=page: {p.name() for p in self.device_pages if p is not page}
                page.busy.connect(lambda busy: self.next_button.setEnabled(not busy))
            pages.append(page)
        self.device_pages = pages
        self._set_pages([self.scene_page, self.backend_page, self.discover_page, *pages,
                         self.save_page, self.doctor_page])

    def config(self) -> dict[str, Any]:
        """What the wizard made so far, as the terminal config's plain data."""
        config: dict[str, Any] = {"scene": self.scene_page.scene(), "lane_direction": self.scene_page.direction(),
                                  "backend_url": self.backend_page.url.text().strip(),
                                  "language": self._tr.language}
        registration = self.backend_page.registration
        if registration is not None:
            config["registration"] = registration
        config["devices"] = [plain_data(page.passed_config)
                             for page in self.device_pages if page.passed_config is not None]
        if hasattr(self, "save_page"):      # (the save page itself asks while it is being built)
            config.update(self.save_page.pins(), gate=self.save_page.gate())
            if config["scene"] == "parking":
                config["barrier_via"] = self.save_page.barrier_via()
        return config
