"""A form built from a device's pydantic config model (Frigate's idea: title and description are
enough to ask for a field), with an error line under each field in the person's language.

A list of small blocks (the plate cameras a push endpoint allows) is a list of sub-forms, one
per block, built the same way, with Add and Remove. Fields the installer does not need to touch
on site (nested rule sets, other lists) keep their defaults and are not shown.
"""
from __future__ import annotations

import ipaddress
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, IPvAnyAddress, SecretStr
from pydantic.fields import FieldInfo
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from terminal.installer.results import Errors, FieldError
from ui.i18n import STRINGS, Translator
from ui.widgets import ScrollSafeComboBox, label

HIDDEN = {"type"}
# typed in as text: an address is checked by the model, a secret is typed into the camera too
TEXT_TYPES = (bool, int, float, str, Path, SecretStr, IPvAnyAddress, ipaddress.IPv4Address, ipaddress.IPv6Address)


def _plain(annotation: Any) -> tuple[Any, bool]:
    """(the type without Optional, whether None is allowed)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), len(args) < len(typing.get_args(annotation))
    return annotation, False


def _editable(annotation: Any) -> bool:
    kind, _ = _plain(annotation)
    if typing.get_origin(kind) is Literal or kind in TEXT_TYPES:
        return True
    return typing.get_origin(kind) is list and (typing.get_args(kind) == (str,) or _block_of(kind) is not None)


def _block_of(kind: Any) -> type[BaseModel] | None:
    """The block model of a `list[Block]` whose fields are all simple inputs, else None."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) is not list or len(args) != 1:
        return None
    block = args[0]
    if not (isinstance(block, type) and issubclass(block, BaseModel)):
        return None
    simple = all(_editable(f.annotation) and typing.get_origin(_plain(f.annotation)[0]) is not list
                 for f in block.model_fields.values())
    return block if simple else None


def field_text(tr: Translator, info: FieldInfo, name: str) -> str:
    """Titles are written "English / 中文": show the person's language first. A time says its
    unit, from the field's name (`pulse_ms` is in milliseconds) when its title does not."""
    title = info.title or name
    en, zh = title.split(" / ", 1) if " / " in title else (title, title)
    if name.endswith("_ms"):
        en, zh = (en if "(ms)" in en else f"{en} (ms)"), (zh if "毫秒" in zh else f"{zh}（毫秒）")
    elif name.endswith("_s"):
        en, zh = (en if "(s)" in en else f"{en} (s)"), (zh if "秒" in zh else f"{zh}（秒）")
    return zh if tr.language == "zh_CN" else en


def mark_invalid(widget: QWidget, invalid: bool) -> None:
    """A red frame around an input whose value is wrong (theme: [invalid="true"])."""
    if widget.property("invalid") != invalid:
        widget.setProperty("invalid", invalid)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


def error_text(tr: Translator, error: FieldError) -> str:
    if error.zh or error.en:
        return tr.pick(error.zh, error.en)
    return tr.t(error.key, **error.values)


def choice_text(tr: Translator, name: str, value: Any) -> str:
    """A list choice in words where the table has them ("choice.direction.out" -> 出口), else as is."""
    key = f"choice.{name}.{value}"
    return tr.t(key) if key in STRINGS else str(value)


class DeviceForm(QWidget):
    """Inputs for one config model; `values()` gives the dict to validate with it."""

    def __init__(self, tr: Translator, model: type[BaseModel], initial: dict[str, Any],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._tr, self.model = tr, model
        self.inputs: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self._titles: dict[str, QLabel] = {}
        form = QFormLayout()
        for name, info in model.model_fields.items():
            if name in HIDDEN or not _editable(info.annotation):
                continue
            block = _block_of(_plain(info.annotation)[0])
            value = initial.get(name, self._default(info))
            widget = BlockList(tr, block, value or []) if block else self._input(info, value)
            widget.setToolTip(info.description or "")
            self.inputs[name] = widget
            title = QLabel()
            self._titles[name] = title
            error = label(role="error", align=QLabel().alignment())
            error.hide()
            self.errors[name] = error
            cell = QWidget()
            column = QVBoxLayout(cell)
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(widget)
            column.addWidget(error)
            form.addRow(title, cell)
        QVBoxLayout(self).addLayout(form)
        self.retranslate()

    @staticmethod
    def _default(info: FieldInfo) -> Any:
        return None if info.is_required() else info.get_default(call_default_factory=True)

    def _input(self, info: FieldInfo, value: Any) -> QWidget:
        kind, _ = _plain(info.annotation)
        if kind is bool:
            box = QCheckBox()
            box.setChecked(bool(value))
            return box
        if typing.get_origin(kind) is Literal:
            combo = ScrollSafeComboBox()
            for choice in typing.get_args(kind):
                combo.addItem(str(choice), choice)
            if value is not None:
                combo.setCurrentIndex(max(0, combo.findData(value)))
            return combo
        edit = QLineEdit()
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, list):
            edit.setText("; ".join(str(v) for v in value))
        elif value is not None:
            edit.setText(str(value))
        return edit

    def retranslate(self) -> None:
        for name, title in self._titles.items():
            title.setText(field_text(self._tr, self.model.model_fields[name], name))
        for name, widget in self.inputs.items():
            if isinstance(widget, QComboBox):
                for index in range(widget.count()):
                    widget.setItemText(index, choice_text(self._tr, name, widget.itemData(index)))
            elif isinstance(widget, BlockList):
                widget.retranslate()

    def values(self) -> dict[str, Any]:
        """What was entered, as pydantic input: empty optional fields are None, empty required
        fields are left out (so the error says "required" at that field)."""
        out: dict[str, Any] = {}
        if "type" in self.model.model_fields:   # the driver picked above the form
            out["type"] = typing.get_args(self.model.model_fields["type"].annotation)[0]
        for name, widget in self.inputs.items():
            info = self.model.model_fields[name]
            kind, optional = _plain(info.annotation)
            if isinstance(widget, QCheckBox):
                out[name] = widget.isChecked()
            elif isinstance(widget, QComboBox):
                out[name] = widget.currentData()
            elif isinstance(widget, BlockList):
                out[name] = widget.values()
            else:
                text = widget.text().strip()
                if typing.get_origin(kind) is list:
                    out[name] = [part.strip() for part in text.split(";") if part.strip()]
                elif text:
                    out[name] = text
                elif optional:
                    out[name] = None
        return out

    def show_errors(self, errors: Errors) -> None:
        """Errors by field name; "cameras.1.address" is shown at that row of the list."""
        for name, error_label in self.errors.items():
            error = errors.get(name)
            widget = self.inputs[name]
            if isinstance(widget, BlockList):
                prefix = name + "."
                rows = {k[len(prefix):]: e for k, e in errors.items() if k.startswith(prefix)}
                widget.show_errors(rows)
                error = None if rows else error     # the row says it where it is wrong
            else:
                mark_invalid(widget, error is not None)
            error_label.setText(error_text(self._tr, error) if error else "")
            error_label.setVisible(error is not None)

    def error_of(self, name: str) -> str:
        """The error shown at a field, or at a row's field: "cameras.0.address"."""
        head, _, rest = name.partition(".")
        widget = self.inputs.get(head)
        if rest and isinstance(widget, BlockList):
            return widget.error_of(rest)
        error_label = self.errors.get(name)
        return error_label.text() if error_label is not None and error_label.isVisibleTo(self) else ""

    def learn(self, found: dict[str, tuple[dict[str, Any], ...]]) -> None:
        """Fill in rows a live test found (a camera heard pushing that is not listed yet)."""
        for name, rows in found.items():
            widget = self.inputs.get(name)
            if isinstance(widget, BlockList):
                for row in rows:
                    widget.learn(row)


class BlockList(QWidget):
    """A list of blocks of one small model, each a DeviceForm in a panel with a Remove button."""

    def __init__(self, tr: Translator, model: type[BaseModel], initial: list[Any],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._tr, self.model = tr, model
        self.rows: list[tuple[QFrame, DeviceForm, QPushButton]] = []
        self._column = QVBoxLayout()
        self._column.setContentsMargins(0, 0, 0, 0)
        self.add_button = QPushButton()
        self.add_button.clicked.connect(lambda: self.add({}))
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(self._column)
        outer.addWidget(self.add_button)
        for item in initial:
            self.add(item.model_dump(mode="json") if isinstance(item, BaseModel) else dict(item))
        self.retranslate()

    def add(self, values: dict[str, Any]) -> DeviceForm:
        panel = QFrame()
        panel.setObjectName("panel")
        form = DeviceForm(self._tr, self.model, values)
        remove = QPushButton(self._tr.t("form.remove"))
        remove.clicked.connect(lambda: self.remove(panel))
        column = QVBoxLayout(panel)
        column.addWidget(form)
        line = QHBoxLayout()
        line.addStretch(1)
        line.addWidget(remove)
        column.addLayout(line)
        self.rows.append((panel, form, remove))
        self._column.addWidget(panel)
        return form

    def remove(self, panel: QFrame) -> None:
        self.rows = [row for row in self.rows if row[0] is not panel]
        panel.deleteLater()

    def retranslate(self) -> None:
        self.add_button.setText(self._tr.t("form.add"))
        for _panel, form, remove in self.rows:
            remove.setText(self._tr.t("form.remove"))
            form.retranslate()

    def values(self) -> list[dict[str, Any]]:
        return [form.values() for _panel, form, _remove in self.rows]

    def show_errors(self, errors: Errors) -> None:
        """Errors keyed "index.field" ("0.address")."""
        for index, (_panel, form, _remove) in enumerate(self.rows):
            prefix = f"{index}."
            form.show_errors({k[len(prefix):]: e for k, e in errors.items() if k.startswith(prefix)})

    def error_of(self, name: str) -> str:
        index, _, field = name.partition(".")
        return self.rows[int(index)][1].error_of(field)

    def learn(self, found: dict[str, Any]) -> None:
        """Put what a test found into the row it belongs to: the row with the same value in one
        of its fields (the serial number is right, the address was mistyped), else an empty row,
        else a new row."""
        def matches(form: DeviceForm) -> bool:
            values = form.values()
            return any(values.get(k) not in (None, "") and str(values.get(k)) == str(v) for k, v in found.items())

        def blank(form: DeviceForm) -> bool:
            return all(form.values().get(k) in (None, "") for k in found)

        forms = [form for _panel, form, _remove in self.rows]
        form = next((f for f in forms if matches(f)), None) or next((f for f in forms if blank(f)), None)
        if form is None:
            form = self.add({})
        for key, value in found.items():
            widget = form.inputs.get(key)
            if isinstance(widget, QLineEdit):
                widget.setText(str(value))
