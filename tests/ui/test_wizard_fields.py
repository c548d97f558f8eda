"""Every field of every device form the wizard builds is labelled in Chinese (English when the
installer switches), and every time says its unit. Built from the real config models."""
from __future__ import annotations

import re

import pytest

from hardware.registry import specs
from tests.ui.helpers import show
from ui.device_form import BlockList, DeviceForm
from ui.i18n import Translator

CJK = re.compile(r"[\u4e00-\u9fff]")


def _labels(form: DeviceForm) -> dict[str, str]:
    out = {name: title.text() for name, title in form._titles.items()}   # noqa: SLF001
    for name, widget in form.inputs.items():
        if isinstance(widget, BlockList):
            widget.add({})
            out.update({f"{name}.{k}": v for k, v in _labels(widget.rows[0][1]).items()})
    return out


@pytest.mark.parametrize("model", [spec.config for spec in specs()], ids=lambda m: m.__name__)   # every driver
def test_every_field_has_a_chinese_label_and_times_have_units(qtbot, model) -> None:  # noqa: ANN001
    zh = _labels(show(qtbot, DeviceForm(Translator(), model, {})))
    en = _labels(show(qtbot, DeviceForm(Translator("en"), model, {})))
    assert zh, model
    english_only = {name: text for name, text in zh.items() if not CJK.search(text)}
    assert english_only == {}
    for name, text in zh.items():
        field = name.rsplit(".", 1)[-1]
        if field.endswith("_ms"):
            assert "毫秒" in text and "(ms)" in en[name], (name, text, en[name])
        elif field.endswith("_s"):
            assert "秒" in text and "(s)" in en[name], (name, text, en[name])
    assert not any(CJK.search(text) for text in en.values()), en


def _wheel(widget, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, -120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_mouse_wheel_does_not_change_a_dropdown_it_scrolls_past(qtbot) -> None:  # noqa: ANN001
    from hardware.card_reader import CardReaderConfig

    form = show(qtbot, DeviceForm(Translator(), CardReaderConfig, {}))
    mode = form.inputs["mode"]
    before = mode.currentIndex()
    _wheel(mode, qtbot)                               # scrolling the form past it
    assert mode.currentIndex() == before
    mode.setFocus()
    qtbot.waitUntil(mode.hasFocus)
    _wheel(mode, qtbot)                               # chosen on purpose: the wheel works
    assert mode.currentIndex() != before
