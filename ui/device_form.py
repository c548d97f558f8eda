"""A form built from a device's pydantic config model (Frigate's idea: title and description are
enough to ask for a field), with an error line under each field in the person's language.

Fields the installer does not need to touch on site (nested rule sets, lists other than file
lists) keep their defaults and are not shown.
"""
from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from ui.i18n import Translator
from ui.setup_flow import Errors, FieldError
from ui.widgets import label

HIDDEN = {"type"}


def _plain(annotation: Any) -> tuple[Any, bool]:
    """(the type without Optional, whether None is allowed)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), len(args) < len(typing.get_args(annotation))
    return annotation, False


def _editable(annotation: Any) -> bool:
    kind, _ = _plain(annotation)
    if typing.get_origin(kind) is Literal or kind in (bool, int, float, str, Path):
        return True
    return typing.get_origin(kind) is list and typing.get_args(kind) == (str,)


def field_text(tr: Translator, info: FieldInfo, name: str) -> str:
    """Titles are written "English / 中文": show the person's language first."""
    title = info.title or name
    if " / " in title:
        en, zh = title.split(" / ", 1)
        return zh if tr.language == "zh_CN" else en
    return title


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
            widget = self._input(info, initial.get(name, self._default(info)))
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
            combo = QComboBox()
            for choice in typing.get_args(kind):
                combo.addItem(str(choice), choice)
            if value is not None:
                combo.setCurrentIndex(max(0, combo.findData(value)))
            return combo
        edit = QLineEdit()
        if isinstance(value, list):
            edit.setText("; ".join(str(v) for v in value))
        elif value is not None:
            edit.setText(str(value))
        return edit

    def retranslate(self) -> None:
        for name, title in self._titles.items():
            title.setText(field_text(self._tr, self.model.model_fields[name], name))

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
        for name, error_label in self.errors.items():
            error = errors.get(name)
            error_label.setText(error_text(self._tr, error) if error else "")
            error_label.setVisible(error is not None)
            mark_invalid(self.inputs[name], error is not None)

    def error_of(self, name: str) -> str:
        error_label = self.errors.get(name)
        return error_label.text() if error_label is not None and error_label.isVisibleTo(self) else ""
