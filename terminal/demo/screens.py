"""Screens of the day as PNG: the kiosk window (ui.kiosk.KioskWindow through ui.bridge.CoreBridge)
rendering the very views the terminals published. Offscreen without $DISPLAY; with a display the
windows are shown on screen while they are drawn."""
from __future__ import annotations

import os
from pathlib import Path


def save_screens(shots: list[tuple[str, str, object, str | None]], out: Path,
                 size: tuple[int, int] = (800, 480)) -> list[Path]:
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from terminal.demo.faces import camera_frame

    from ui.bridge import CoreBridge
    from ui.i18n import Translator
    from ui.kiosk import KioskWindow
    from ui.screenshots import _save, _settle
    from ui.showcase import ShowcasePort

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    written = []
    tr = Translator("zh_CN")
    for name, scene, view, photo in shots:
        port = ShowcasePort(view)          # answers admin calls; the screen shows the real view
        window = KioskWindow(CoreBridge(port), tr, scene, setup=None)
        window.resize(*size)
        window.show()
        if photo:       # the camera preview shows the frame the gate camera saw
            window.screen_widget.preview.set_frame(camera_frame(photo))
        window.screen_widget.render(view)
        window.banner.show_status(view.sync)
        _settle(app)
        path = out / f"{name}.png"
        _save(window, path)
        written.append(path)
        window.close()
    return written
