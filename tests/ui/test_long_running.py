"""A kiosk renders views all day. PySide6 6.12.0 on Python 3.11 drops a reference to None on every
void call (setText, repaint, processEvents...), so the interpreter aborts ("deallocating None")
after a few hundred payments; requirements.lock pins 6.11.3. This guards against that coming back
the way a diner would notice it: a kiosk process that renders a day's worth of outcomes must still
be running, showing the last one. (It runs in a process of its own: an abort must fail this test,
not end the test session. Counting references to None would prove nothing on Python 3.12+, where
None is immortal.)"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

RENDERS = 3000
ROOT = Path(__file__).resolve().parents[2]

KIOSK_DAY = textwrap.dedent(f"""
    from PySide6.QtWidgets import QApplication
    from ui import showcase
    from ui.canteen import CanteenScreen
    from ui.i18n import Translator

    app = QApplication([])
    screen = CanteenScreen(Translator())
    screen.resize(800, 480)
    screen.show()
    views = showcase.canteen_views()
    cycle = [views["idle"], views["paid_face"], views["declined"], views["already_paid"]]
    for i in range({RENDERS}):
        screen.render(cycle[i % len(cycle)])
        screen.repaint()
        app.processEvents()
    print("SHOWING", screen.visible_text().replace("\\n", " "), flush=True)
""")


def test_thousands_of_renders_leave_the_kiosk_running_and_showing_the_last_outcome() -> None:
    run = subprocess.run([sys.executable, "-c", KIOSK_DAY], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert run.returncode == 0, f"the kiosk process died after rendering: {run.stderr[-2000:]}"
    assert "这一餐已经付过了" in run.stdout                 # the last view (already paid) is on screen
