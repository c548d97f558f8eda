"""The one place the UI meets the terminal core.

The core calls `subscribe` callbacks from its worker thread; Qt widgets may only be touched on the
UI thread. The bridge re-emits each view as a Qt signal (queued onto the UI thread), and runs the
blocking TerminalPort calls (refund, void, sync now, lists, shift close) on a thread pool, handing
the answer back through a signal. Screens never call the core directly.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from terminal.state import CanteenView, ParkingView, ShiftTotals, SyncStatus, TerminalPort


class _Call(QRunnable):
    """One blocking core call; its answer goes back through the bridge's `_answer` signal."""

    def __init__(self, call_id: int, fn: Callable[..., Any], args: tuple, answer: Signal):
        super().__init__()
        self._call_id, self._fn, self._args, self._answer = call_id, fn, args, answer

    def run(self) -> None:
        try:
            answer = (True, self._fn(*self._args))
        except Exception as exc:  # noqa: BLE001 - handed to the screen, which says what to do
            answer = (False, exc)
        try:
            self._answer.emit(self._call_id, *answer)
        except RuntimeError:
            pass   # the screen that asked was closed meanwhile: nobody is left to tell


class BackgroundCalls(QObject):
    """Runs blocking calls on a thread pool; their answers come back on the UI thread."""

    _answer = Signal(int, bool, object)   # from the pool's threads; queued to ours

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._pending: dict[int, tuple[Callable | None, Callable | None]] = {}
        self._next_id = 0
        self._answer.connect(self._on_answer)

    def call(self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None] | None = None,
             failed: Callable[[Exception], None] | None = None) -> None:
        """Run `fn(*args)` off the UI thread; `done(result)`/`failed(exc)` run on the UI thread."""
        self._next_id += 1
        self._pending[self._next_id] = (done, failed)
        self._pool.start(_Call(self._next_id, fn, args, self._answer))

    @Slot(int, bool, object)
    def _on_answer(self, call_id: int, ok: bool, result: object) -> None:
        done, failed = self._pending.pop(call_id, (None, None))
        if ok and done:
            done(result)
        elif not ok and failed:
            failed(result)

    def idle(self) -> bool:
        """True when no call is in flight (tests wait on this)."""
        return not self._pending


class CoreBridge(QObject):
    canteen = Signal(object)     # CanteenView
    parking = Signal(object)     # ParkingView
    sync = Signal(object)        # SyncStatus (also sent inside every scene view)
    shift = Signal(object)       # ShiftTotals: a shift close or its check with the backend (also automatic)
    _incoming = Signal(object)   # from the core's thread; queued to ours

    def __init__(self, core: TerminalPort, pool: QThreadPool | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.core = core
        self.calls = BackgroundCalls(pool, self)
        self._incoming.connect(self._dispatch)
        self._attached = False

    def attach(self) -> None:
        """Subscribe to the core and publish its current view (once; later calls do nothing)."""
        if self._attached:
            return
        self._attached = True
        self.core.subscribe(self._from_core)
        self.call(self.core.current_view, done=self._dispatch)

    def _from_core(self, view: object) -> None:
        # Any thread: emitting a signal is thread-safe; the slot runs on the UI thread.
        self._incoming.emit(view)

    @Slot(object)
    def _dispatch(self, view: object) -> None:
        if isinstance(view, CanteenView):
            self.canteen.emit(view)
            self.sync.emit(view.sync)
        elif isinstance(view, ParkingView):
            self.parking.emit(view)
            self.sync.emit(view.sync)
        elif isinstance(view, SyncStatus):
            self.sync.emit(view)
        elif isinstance(view, ShiftTotals):
            self.shift.emit(view)

    def call(self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None] | None = None,
             failed: Callable[[Exception], None] | None = None) -> None:
        """Run a blocking core call off the UI thread; `done`/`failed` run on the UI thread."""
        self.calls.call(fn, *args, done=done, failed=failed)

    def idle(self) -> bool:
        return self.calls.idle()
