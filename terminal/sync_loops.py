"""Push and pull: the terminal's sync with the backend.

    engine = SyncEngine(store, client, tracker, clock)
    engine.cycle()        # push every queued item (batches), pull every change, check the clock
    SyncThread(engine).start()   # the runner's background loop; wake() after a payment or refund

Push marks an item only by the backend's answer for that item; anything else (a timeout, a 500,
an item missing from the answer) leaves it queued, and it goes again with the same ids (the
backend is idempotent). The outbox itself is the resume point after a crash. Pull applies each
page with its cursor in one transaction. Failures back off exponentially with full jitter.
"""
from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from typing import Callable

from sync.client import SyncClient, SyncFailure
from sync.status import SyncTracker
from core.wire import MAX_PULL_LIMIT, PushRequest
from terminal.cache import BadChange
from core.clock import Clock
from terminal.store import Store

log = logging.getLogger("gatepay.sync")


class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog): delay in [0, min(cap, base*2^n)]."""

    def __init__(self, base_s: float = 1.0, cap_s: float = 300.0, rng: random.Random | None = None):
        self.base_s, self.cap_s = base_s, cap_s
        self.failures = 0
        self._rng = rng or random.Random()

    def success(self) -> None:
        self.failures = 0

    def failure(self) -> float:
        self.failures += 1
        ceiling = min(self.cap_s, self.base_s * 2 ** min(self.failures, 30))
        return self._rng.uniform(ceiling / 2, ceiling)  # half-jitter: never hammer at ~0 s


@dataclass
class CycleReport:
    pushed: int = 0
    booked: int = 0
    duplicate: int = 0
    declined: int = 0
    rejected: int = 0
    pulled: int = 0
    failure: SyncFailure | None = None
    bad_change: str | None = None


class SyncEngine:
    def __init__(self, store: Store, client: SyncClient, tracker: SyncTracker, clock: Clock, *,
                 batch: int = 200, pull_limit: int = 500, push_timeout_s: float = 30.0):
        self.store, self.client, self.tracker, self.clock = store, client, tracker, clock
        self.batch = batch
        self.pull_limit = min(pull_limit, MAX_PULL_LIMIT)
        self.push_timeout_s = push_timeout_s
        self._busy = threading.Lock()   # one cycle at a time (loop thread vs "sync now" button)

    def push_all(self, report: CycleReport, max_batches: int | None = None) -> None:
        batches = 0
        while max_batches is None or batches < max_batches:
            items = self.store.outbox.pending(self.batch)
            if not items:
                return
            batches += 1
            try:
                answer = self.client.push(PushRequest(items=items), timeout_s=self.push_timeout_s)
            except SyncFailure as failure:
                self.store.outbox.note_push_error([i.seq for i in items], failure.reason)
                raise
            outcome = self.store.outbox.apply_push_results(items, answer.results)
            report.pushed += len(items) - outcome.unanswered
            report.booked += outcome.booked
            report.duplicate += outcome.duplicate
            report.declined += outcome.declined
            report.rejected += outcome.rejected
            self.tracker.note_push(self.clock.now())
            if outcome.unanswered == len(items):
                return  # the backend answered for none of them: do not spin, try next cycle

    def pull_all(self, report: CycleReport) -> None:
        while True:
            page = self.client.pull(self.store.pull_cursor(), self.pull_limit)
            now = self.clock.now()
            if page.changes or page.cursor != self.store.pull_cursor():
                report.pulled += self.store.cache.apply_changes(list(page.changes), page.cursor, now,
                                                                self.clock.monotonic())
            else:
                self.store.cache.mark_pulled(now, self.clock.monotonic())
            self.tracker.note_pull(now)
            if not page.more or not page.changes:
                return

    def check_clock(self) -> None:
        sample = self.client.server_time(self.clock.now)
        self.tracker.note_skew(sample.skew_s)

    def cycle(self, max_batches: int | None = None) -> CycleReport:
        """One full sync: push, pull, clock. Never raises for network or data problems."""
        report = CycleReport()
        with self._busy:
            try:
                try:
                    self.push_all(report, max_batches)
                except SyncFailure as failure:
                    if failure.reason in ("unreachable", "timeout"):
                        raise
                    # The backend is there but push failed: still pull, so a revocation is not
                    # held back by a queue the backend will not take right now.
                    report.failure = failure
                self.pull_all(report)
                self.check_clock()
                if report.failure is not None:
                    raise report.failure
            except SyncFailure as failure:
                report.failure = failure
                self.tracker.note_failure(failure, self.clock.now())
                log.warning("sync failed: %s", failure.reason)
            except BadChange as exc:
                report.bad_change = str(exc)
                self.tracker.note_error(f"后台数据无法识别，已保留旧数据 / the backend sent data the terminal "
                                        f"cannot read; the old data is kept: {exc}")
                self.store.audit.record("sync", "pull_refused", detail=str(exc)[:300])
                log.warning("pull refused: %s", exc)
        if report.declined or report.rejected:
            log.warning("backend declined %d offline item(s) after the fact", report.declined + report.rejected)
        return report


class SyncThread:
    """Runs SyncEngine.cycle() in the background: every interval, at once after wake(), and
    with backoff after a failure. stop() returns after the current request ends."""

    def __init__(self, engine: SyncEngine, interval_s: float = 5.0, backoff: Backoff | None = None,
                 on_cycle: Callable[[CycleReport], None] | None = None):
        self.engine = engine
        self.on_cycle = on_cycle          # e.g. publish the new SyncStatus to the screens
        self.interval_s = interval_s
        self.backoff = backoff or Backoff()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gatepay-sync", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            report = self.engine.cycle()
            if self.on_cycle is not None:
                try:
                    self.on_cycle(report)
                except Exception:  # noqa: BLE001 - a broken listener must not stop the sync
                    log.exception("sync listener failed")
            if report.failure is not None:
                # Backing off: a new payment's wake() does not cut the wait short, so a dead
                # link is not hammered at the pace of the queue.
                self._stop.wait(self.backoff.failure())
                continue
            self.backoff.success()
            self._wake.wait(self.interval_s)
            self._wake.clear()
