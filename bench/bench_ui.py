"""How quickly the kiosk follows the terminal core, offscreen.

    .venv/bin/python -m bench.bench_ui [ROUNDS]

1. core -> screen: a view published on a worker thread (as TerminalCore does after a decision)
   until the canteen screen has rendered it on the UI thread (CoreBridge's queued signal);
2. render + paint of one paid view at 800x480 and 1920x1080 (render(), then a full repaint);
3. a blocking TerminalPort call through the bridge's thread pool: request to answer on the UI
   thread (the call itself returns at once, so this is the pool's and the signal's overhead).
Prints medians and p95 in milliseconds.
"""
from __future__ import annotations

import os
import statistics
import sys
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from ui import showcase, theme  # noqa: E402
from ui.bridge import CoreBridge  # noqa: E402
from ui.i18n import Translator  # noqa: E402
from ui.kiosk import KioskWindow  # noqa: E402


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _line(name: str, values: list[float]) -> str:
    return f"{name:<44} median {statistics.median(values):7.2f} ms   p95 {_p95(values):7.2f} ms   (n={len(values)})"


def _wait(app: QApplication, done: threading.Event) -> None:
    while not done.is_set():
        app.processEvents()


def core_to_screen(app: QApplication, window: KioskWindow, port: showcase.ShowcasePort, rounds: int) -> list[float]:
    views = [showcase.canteen_views()["paid_face"], showcase.canteen_views()["idle"]]
    rendered = threading.Event()
    window.bridge.canteen.connect(lambda _view: rendered.set())
    times = []
    for i in range(rounds):
        rendered.clear()
        start = time.perf_counter()
        worker = threading.Thread(target=port.publish, args=(views[i % 2],))
        worker.start()
        _wait(app, rendered)
        times.append((time.perf_counter() - start) * 1000)
        worker.join()
    return times


def render_paint(app: QApplication, window: KioskWindow, size: tuple[int, int], rounds: int) -> list[float]:
    window.resize(*size)
    app.processEvents()
    views = [showcase.canteen_views()["paid_face"], showcase.canteen_views()["declined"]]
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        window.screen_widget.render(views[i % 2])
        window.repaint()
        times.append((time.perf_counter() - start) * 1000)
    return times


def pool_call(app: QApplication, bridge: CoreBridge, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        done = threading.Event()
        start = time.perf_counter()
        bridge.call(bridge.core.sync_now, done=lambda _status, d=done: d.set())
        _wait(app, done)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main(argv: list[str]) -> int:
    rounds = int(argv[1]) if len(argv) > 1 else 200
    app = QApplication.instance() or QApplication(argv[:1])
    theme.install_font(app)
    port = showcase.ShowcasePort()
    window = KioskWindow(CoreBridge(port), Translator(), "canteen")
    window.resize(800, 480)
    window.show()
    window.bridge.attach()
    app.processEvents()
    print(_line("core thread -> canteen screen rendered", core_to_screen(app, window, port, rounds)))
    for size in ((800, 480), (1920, 1080)):
        print(_line(f"render + repaint, paid/declined, {size[0]}x{size[1]}", render_paint(app, window, size, rounds)))
    print(_line("blocking call via thread pool -> UI thread", pool_call(app, window.bridge, rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
