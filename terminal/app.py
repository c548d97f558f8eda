"""TerminalCore: the terminal.state.TerminalPort the kiosk UI and the headless runner use.

A thin facade over parts with one job each:

    scene    terminal.canteen_scene.CanteenScene or terminal.parking.ParkingScene (terminal.scene.Scene):
             device events in, views, outcomes and gate commands out
    output   terminal.scene.SceneOutput: this lane's gate, then the approval's voice, then the screens
    admin    terminal.admin.AdminService: payments, refunds, the queue, the shift (PIN: terminal.pin)
    shifts   terminal.shift.ShiftReconciler: a shift's totals compared with the backend

Every approval is committed to the store inside the Decider before the scene names its gate
command. Crash recovery (`recover_interrupted`) is run once by terminal.runner.Runner, never here.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Callable

from core.clock import Clock
from core.wire import ShiftCloseRequest
from sync.client import SyncClient
from sync.status import SyncTracker
from terminal.admin import AdminService, read_sync_status
from terminal.canteen import MealRules
from terminal.canteen_scene import CanteenScene
from terminal.config import TerminalConfig
from terminal.decision import Decider, compensating_refund
from terminal.face_confirm import CloseCalls
from terminal.pin import PinGuard
from terminal.scene import Scene, SceneOutput, SceneResult
from terminal.shift import ShiftReconciler
from terminal.state import CanteenView, ParkingView, PaymentOutcome, PaymentRow, ShiftTotals, SyncStatus
from terminal.store import Store
from terminal.sync_loops import CycleReport, SyncEngine, SyncThread

log = logging.getLogger("gatepay.terminal")


def build_scene(config: TerminalConfig, store: Store, decider: Decider, client: SyncClient | None,
                pin: PinGuard, sync_status: Callable[[], SyncStatus]) -> Scene:
    if config.scene == "parking":
        from terminal.parking import ParkingScene   # the lane's parts load only on a parking terminal

        config.require_lane()
        lane = config.parking
        identity = store.identity()      # a config written before registration named the lane: its name
        if lane.lane_name is None and identity is not None and identity.lane_id == lane.lane_id:
            lane = lane.model_copy(update={"lane_name": identity.lane_name})
        return ParkingScene(store, decider, lane, client=client, pin_check=pin.verify)
    rules = MealRules(store, decider, fallback_periods=config.meal_periods, debounce_s=config.debounce_s,
                      liveness_required=config.liveness_required)
    return CanteenScene(rules, CloseCalls(store, config.face_settings()), sync_status)


def build_desk(config: TerminalConfig, scene: Scene, output: SceneOutput, pin: PinGuard,
               business_day: Callable) -> object | None:
    """A parking lane's desk for the admin screen (terminal.parking_desk: exits, attendant actions,
    counter renewals); a canteen has none."""
    if config.scene != "parking":
        return None
    from terminal.parking_desk import LaneDesk

    return LaneDesk(scene, output, pin, business_day)  # type: ignore[arg-type]


class TerminalCore:
    def __init__(self, config: TerminalConfig, store: Store, clock: Clock, *, client: SyncClient | None = None,
                 tracker: SyncTracker | None = None, gate: object | None = None):
        self.config, self.store, self.clock, self.client = config, store, clock, client
        self.tracker = tracker or SyncTracker()
        self.decider = Decider(store, clock, self.tracker, client, authorise_timeout_s=config.authorise_timeout_s,
                               timezone=config.timezone)
        self.engine = SyncEngine(store, client, self.tracker, clock, batch=config.push_batch) if client else None
        self.sync_thread: SyncThread | None = None            # set by the runner once it runs
        self.on_outcome: Callable[[PaymentOutcome], None] | None = None   # the runner: voice, APPROVED line
        self.output = SceneOutput(gate, announce=self._announce)
        self.pin = PinGuard(config.admin_pin_hash, store.audit, clock, self.decider.tz)
        self.scene = build_scene(config, store, self.decider, client, self.pin, self.sync_status)
        self.shifts = ShiftReconciler(store, clock, self.engine, client, self.output.publish, self.sync_status)
        self.admin = AdminService(store, clock, self.pin, self.shifts, self.engine,
                                  business_day=self.today, sync_status=self.sync_status,
                                  publish=self.output.publish, wake_sync=self._wake_sync)
        self._lock = threading.RLock()     # device events, the kiosk and its timers come from several threads
        self.desk = build_desk(config, self.scene, self.output, self.pin, self.decider.business_day)

    def recover_interrupted(self) -> int:
        """Once, at the start of the process that owns the store (terminal.runner.Runner): payments
        left 'authorising' by a crash are refused, with a compensating refund queued. Never from
        another process while a terminal runs: its payment being authorised would be refused."""
        store, clock = self.store, self.clock
        recovered = store.outbox.recover_in_flight(
            lambda item: compensating_refund(item.item_id, item.amount_fen, clock.now()))
        if recovered:
            store.audit.record("core", "recovered_in_flight", count=recovered)
            log.warning("recovered %d payment(s) interrupted before an answer; compensating refunds queued", recovered)
        return recovered

    # --- views -----------------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[object], None]) -> None:
        self.output.subscribe(callback)

    def sync_status(self) -> SyncStatus:
        return read_sync_status(self.store, self.tracker)

    def current_view(self) -> CanteenView | ParkingView:
        return self.scene.current_view()

    def tick(self) -> bool:
        """Publish the view when time alone changed it (a meal period opened or closed). The
        runner calls this about once a second, on the injected clock; returns whether a view was
        published."""
        with self._lock:
            result = self.scene.tick()
        if result is None:
            return False
        self.output.deliver(result)
        return True

    def publish_status(self) -> None:
        """After a sync cycle: screens update the online/queue indicators."""
        self.output.publish(self.sync_status())

    def after_sync(self, report: CycleReport) -> None:
        """Called by the background sync after each cycle: new status for the screens, and a shift
        closed offline is compared as soon as the backend answers again."""
        self.publish_status()
        if report.failure is None:
            self.shifts.recheck_pending()

    def clear_outcome(self) -> None:
        """Back to idle after the outcome was shown (the UI or runner calls this)."""
        self._deliver(self.scene.clear_outcome)

    # --- device events and keyed input ------------------------------------------------------------

    def handle_event(self, event: object) -> PaymentOutcome | None:
        return self._deliver(lambda: self.scene.handle(event))

    def key_in_digits(self, digits: str) -> PaymentOutcome | None:
        return self._deliver(lambda: self.scene.key_in_digits(digits))

    def cancel_confirm(self) -> None:
        self._deliver(self.scene.cancel_confirm)

    def key_in_amount(self, amount_fen: int) -> None:
        self._deliver(lambda: self.scene.key_in_amount(amount_fen))

    def _deliver(self, step: Callable[[], SceneResult | None]) -> PaymentOutcome | None:
        with self._lock:
            result = step()
        if result is None:
            return None
        self.output.deliver(result)                 # the gate (the row is durable), voice, screens
        return result.outcome

    def _announce(self, outcome: PaymentOutcome) -> None:
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        if outcome.status == "approved" and outcome.offline:
            self._wake_sync()                       # push the offline approval soon

    def _wake_sync(self) -> None:
        if self.sync_thread is not None:
            self.sync_thread.wake()

    # --- admin (terminal.admin.AdminService) --------------------------------------------------------

    def pin_locked_until(self) -> datetime | None:
        return self.pin.locked_until()

    def pin_tries_left(self) -> int:
        return self.pin.tries_left()

    def verify_pin(self, pin: str) -> bool:
        return self.pin.verify(pin)

    def today(self) -> str:
        return self.decider.business_day(self.clock.now())

    def list_payments(self, day: str | None = None, query: str = "") -> list[PaymentRow]:
        return self.admin.list_payments(day, query)

    def refund(self, payment_id: str, amount_fen: int, reason: str, pin: str, *, void: bool = False) -> PaymentOutcome:
        return self.admin.refund(payment_id, amount_fen, reason, pin, void=void)

    def void(self, payment_id: str, reason: str, pin: str) -> PaymentOutcome:
        return self.admin.void(payment_id, reason, pin)

    def sync_now(self) -> SyncStatus:
        return self.admin.sync_now()

    def offline_queue(self) -> list[PaymentRow]:
        return self.admin.offline_queue()

    def declined_after_fact(self) -> list[PaymentRow]:
        return self.admin.declined_after_fact()

    def running_shift(self) -> ShiftTotals:
        return self.admin.running_shift()

    def close_shift(self, pin: str) -> ShiftTotals:
        return self.admin.close_shift(pin)

    def recheck_shift(self, pin: str) -> ShiftTotals:
        return self.admin.recheck_shift(pin)

    def recheck_pending_shift(self) -> ShiftTotals | None:
        return self.shifts.recheck_pending()

    def shift_request(self, opened: datetime, closed: datetime) -> ShiftCloseRequest:
        return self.shifts.request(opened, closed)
