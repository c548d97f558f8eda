"""At both kiosk sizes every text a person should read fits its place (no clipped lines), and the
chosen font has a glyph for every Chinese character the screens use (no tofu boxes)."""
from __future__ import annotations

import pytest
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QLabel

from ui import showcase, theme
from ui.bridge import CoreBridge
from core.reasons import CATALOGUE
from ui.i18n import STRINGS
from ui.kiosk import KioskWindow
from tests.ui.helpers import show, showcase_admin

SIZES = [(800, 480), (1920, 1080)]


def clipped_labels(window) -> list[str]:  # noqa: ANN001
    """Visible labels whose text needs more height than they were given."""
    out = []
    for widget in window.findChildren(QLabel):
        if not widget.isVisibleTo(window) or not widget.text() or widget.width() <= 1:
            continue
        needed = widget.heightForWidth(widget.width()) if widget.wordWrap() else widget.sizeHint().height()
        if needed > widget.height() + 2:
            out.append(f"{widget.text()!r}: needs {needed} px, has {widget.height()}")
    return out


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("scene", ["canteen", "parking"])
def test_every_state_fits(qtbot, tr, scene, size) -> None:  # noqa: ANN001
    views = showcase.canteen_views() if scene == "canteen" else showcase.parking_views()
    port = showcase.ShowcasePort(next(iter(views.values())))
    window = show(qtbot, KioskWindow(CoreBridge(port), tr, scene), size)
    window.bridge.attach()
    qtbot.waitUntil(window.bridge.idle)
    problems = {}
    for language in ("zh_CN", "en"):
        tr.set_language(language)
        for name, view in views.items():
            port.publish(view)
            qtbot.wait(1)
            found = clipped_labels(window)
            if found:
                problems[f"{name} {language}"] = found
    assert problems == {}


def test_the_font_has_every_chinese_character_the_screens_use(qapp) -> None:  # noqa: ANN001
    family = theme.cjk_family()
    assert family == "WenQuanYi Micro Hei"           # installed by the project's set-up
    metrics = QFontMetrics(QApplication.font())
    chinese = {ch for zh, _en in [*STRINGS.values(), *CATALOGUE.values()] for ch in zh if ord(ch) > 0x2E80}
    missing = sorted(ch for ch in chinese if not metrics.inFontUcs4(ord(ch)))
    assert missing == []


@pytest.mark.parametrize("size", SIZES)
def test_admin_tabs_fit(qtbot, tr, size) -> None:  # noqa: ANN001
    window = showcase_admin(qtbot, tr, size)
    window.admin.show_sync(showcase.OFFLINE)
    window.admin.close_shift()
    qtbot.waitUntil(lambda: window.admin.shift_text.text() != "")
    for language in ("zh_CN", "en"):
        tr.set_language(language)
        for index in range(window.admin.tabs.count()):
            window.admin.tabs.setCurrentIndex(index)
            qtbot.wait(1)
            assert clipped_labels(window) == [], (language, index)
