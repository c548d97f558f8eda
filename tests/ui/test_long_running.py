"""A kiosk renders views all day. PySide6 6.12.0 on Python 3.11 drops a reference to None on every
void call (setText, repaint, processEvents...), so the interpreter aborts ("deallocating None")
after a few hundred payments; requirements.lock pins 6.11.3. This guards against that coming back."""
from __future__ import annotations

import sys

from ui import showcase
from ui.canteen import CanteenScreen
from ui.i18n import Translator

RENDERS = 3000


def test_thousands_of_renders_keep_the_interpreter_healthy(qtbot) -> None:  # noqa: ANN001
    screen = CanteenScreen(Translator())
    qtbot.addWidget(screen)
    screen.resize(800, 480)
    views = showcase.canteen_views()
    cycle = [views["idle"], views["paid_face"], views["declined"], views["already_paid"]]
    before = sys.getrefcount(None)
    for i in range(RENDERS):
        screen.render(cycle[i % len(cycle)])
        screen.repaint()
    lost = before - sys.getrefcount(None)
    assert lost < RENDERS // 10, f"{lost} references to None lost in {RENDERS} renders"
    assert "这一餐已经付过了" in screen.visible_text()      # the last view is on screen
