"""Kiosk windows that follow the day live (when there is a display): one canteen window and one
parking window (ui.kiosk.KioskWindow through ui.bridge.CoreBridge), fed with every view the
terminals publish. Qt owns the main thread; the day runs on another and hands its views over
through the bridge's queued signals."""
from __future__ import annotations

import threading
from typing import Callable


def run_with_windows(body: Callable[[Callable[[str, object], None]], dict]) -> dict:
    """Run `body(on_view)` on a worker thread while two kiosk windows show its views."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ui.bridge import CoreBridge
    from ui.i18n import Translator
    from ui.kiosk import KioskWindow
    from ui.showcase import ShowcasePort, canteen_views, parking_views

    app = QApplication.instance() or QApplication([])
    tr = Translator("zh_CN")
    ports = {"canteen": ShowcasePort(canteen_views()["idle"]), "parking": ShowcasePort(parking_views()["idle"])}
    windows = []
    for scene, title in (("canteen", "gatepay demo — 食堂 canteen"), ("parking", "gatepay demo — 停车 car park")):
        window = KioskWindow(CoreBridge(ports[scene]), tr, scene, setup=None)
        window.setWindowTitle(title)
        window.resize(800, 480)
        window.show()
        windows.append(window)
    result: dict = {}
    failure: list[BaseException] = []

    def work() -> None:
        try:
            result.update(body(lambda scene, view: ports[scene].publish(view)))
        except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread below
            failure.append(exc)

    worker = threading.Thread(target=work, name="gatepay-demo-day", daemon=True)
    worker.start()
    timer = QTimer()
    timer.timeout.connect(lambda: None if worker.is_alive() else app.quit())
    timer.start(200)
    app.exec()
    timer.stop()
    for window in windows:
        window.close()
    if failure:
        raise failure[0]
    return result
