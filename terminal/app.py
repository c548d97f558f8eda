"""TerminalCore: the terminal.state.TerminalPort the kiosk UI and the headless runner use.

Device events go in (`handle_event`), views come out (`subscribe`). Every approval is committed
to the store inside the Decider before `on_approved` (the gate, the voice) is called. Admin
calls (refund, void, shift close) need the PIN, checked against the configured hash, and each
lands in the audit log.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Callable, get_args

from sync.client import SyncClient, SyncFailure
from terminal.sync_loops import SyncEngine, SyncThread
from sync.status import SyncTracker
from core.wire import (MAX_SHIFT_PAYMENTS, PaymentMethod, RefundRequest, ShiftCloseRequest, ShiftMethodTotal,
                       ShiftPayment)
from terminal.canteen import CanteenScene
from core.clock import Clock, from_iso, to_iso
from terminal.config import TerminalConfig, check_pin
from terminal.decision import Decider, compensating_refund
from terminal.face_confirm import CloseCalls
from terminal.face_loop import FacePrompt
from hardware.events import FaceConfirm
from core.money import format_yuan
from terminal.schema import APPROVED_STATUSES
from terminal.state import (CanteenView, ConfirmView, ParkingView, PaymentOutcome, PaymentRow, ShiftDifferenceRow, ShiftTotals,
                            SyncStatus)
from terminal.store import Store

log = logging.getLogger("gatepay.terminal")

PIN_TRIES = 5
PIN_LOCKOUT = timedelta(minutes=1)
MAX_SHIFT_SPAN = timedelta(days=31)           # the longest shift the backend compares
SHIFT_METHODS = set(get_args(PaymentMethod))


class AdminError(PermissionError):
    """An admin action was refused; zh/en say why and what to do."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


def read_sync_status(store: Store, tracker: SyncTracker) -> SyncStatus:
    """The sync indicators from the store and the tracker; reads only."""
    outbox = store.outbox
    declined = len(outbox.items(statuses=("declined", "rejected"), kind="payment"))
    return tracker.snapshot(queue_depth=outbox.queue_depth(), declined_after_fact=declined)


class TerminalCore:
    def __init__(self, config: TerminalConfig, store: Store, clock: Clock, *, client: SyncClient | None = None,
                 tracker: SyncTracker | None = None, gate: object | None = None):
        self.config = config
        self.store = store
        self.clock = clock
        self.tracker = tracker or SyncTracker()
        self.client = client
        self.decider = Decider(store, clock, self.tracker, client, authorise_timeout_s=config.authorise_timeout_s,
                               timezone=config.timezone)
        self.scene = CanteenScene(store, self.decider, fallback_periods=config.meal_periods,
                                  debounce_s=config.debounce_s, liveness_required=config.liveness_required)
        self.parking = None
        if config.scene == "parking":
            from terminal.parking import ParkingScene   # the lane owns its views, gate and QR orders

            config.require_lane()

            self.parking = ParkingScene(store, self.decider, config.parking, gate=gate, client=client,
                                        pin_check=self.verify_pin)
            self.parking.subscribe(self._publish)
        self.engine = SyncEngine(store, client, self.tracker, clock, batch=config.push_batch) if client else None
        self.sync_thread: SyncThread | None = None
        self.on_approved: Callable[[PaymentOutcome], None] | None = None
        self._subscribers: list[Callable[[object], None]] = []
        self._lock = threading.RLock()
        self._last_outcome: PaymentOutcome | None = None
        self._prompt: str | None = None      # what the diner at the camera should do (FacePrompt)
        self._pin_failures: list[datetime] = []
        self.close_calls = CloseCalls(store, config.face_settings())   # the 4-digit check
        self._pin_lock = threading.Lock()    # the PIN screen and the lane's attendant thread both ask

    # The meal period (code, meal day) the last tick() published; a class default so the first
    # tick always publishes.
    _period_shown: tuple[str, str] | None | str = "not yet"

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
        with self._lock:
            self._subscribers.append(callback)

    def sync_status(self) -> SyncStatus:
        return read_sync_status(self.store, self.tracker)

    def current_view(self) -> CanteenView | ParkingView:
        if self.parking is not None:
            return self.parking.current_view()
        now = self.clock.now()
        found = self.scene.current(now)
        period = found[0] if found else None
        outcome = self._last_outcome
        phase = "closed" if period is None else "idle"
        prompt = None
        if outcome is not None:
            phase = {"approved": "paid", "declined": "declined", "already_paid": "already_paid"}[outcome.status]
        elif period is not None and self._prompt is not None:
            phase, prompt = "recognising", self._prompt   # e.g. "blink" while liveness waits
        confirm = self.close_calls.state
        if confirm is not None and outcome is None:
            phase = "confirm"
        upcoming = self.scene.next_opening(now) if phase == "closed" else None   # "breakfast from 06:30"
        return CanteenView(phase=phase, meal_period=self.scene.period_view(period), sync=self.sync_status(),
                           outcome=outcome, keyed_amount_fen=self.scene.keyed_amount_fen, prompt=prompt,
                           confirm=ConfirmView(confirm.tries_left, confirm.wrong) if confirm and outcome is None
                           else None,
                           next_period=self.scene.period_view(upcoming[0]) if upcoming else None,
                           opens_at=upcoming[1] if upcoming else None)

    def tick(self) -> bool:
        """Publish the view when time alone changed it: a meal period opened or closed (a kiosk
        started before breakfast must not say "closed" all morning). The runner calls this about
        once a second, on the injected clock; returns whether a view was published."""
        if self.parking is not None:
            return False        # a lane's view changes with the next car
        found = self.scene.current(self.clock.now())
        shown = (found[0].code, found[1]) if found else None
        if shown == self._period_shown:
            return False
        self._period_shown = shown
        self._publish(self.current_view())
        return True

    def publish_status(self) -> None:
        """After a sync cycle: screens update the online/queue indicators."""
        self._publish(self.sync_status())

    def _publish(self, view: object) -> None:
        for callback in list(self._subscribers):
            try:
                callback(view)
            except Exception:  # noqa: BLE001 - one broken screen must not stop payments
                log.exception("view subscriber failed")

    def clear_outcome(self) -> None:
        """Back to idle after the outcome was shown (the UI or runner calls this)."""
        if self.parking is not None:
            return   # a lane's view changes with the next car, not on a timer
        with self._lock:
            self._last_outcome = None
        self._publish(self.current_view())

    # --- device events -----------------------------------------------------------------------------

    def handle_event(self, event: object) -> PaymentOutcome | None:
        if isinstance(event, FacePrompt):
            self._prompted(event.code)
            return None
        if self.parking is not None:
            # The lane commits, opens its barrier and publishes its own view (and logs it).
            return self.parking.handle(event).outcome
        if isinstance(event, FaceConfirm):
            with self._lock:
                self._prompt, self._last_outcome = None, None
                refused = self.close_calls.start(event)
            if refused is None:
                self._publish(self.current_view())     # the digits screen
                return None
            event = refused
        with self._lock:
            self._prompt = None                 # a decision (or refusal) replaces any prompt
            try:
                outcome = self.scene.handle(event)
            except sqlite3.Error as exc:   # disk full, I/O error: nothing was committed, so decline
                log.error("payment not recorded, declined: store write failed: %s", exc)
                outcome = self._store_failed(event)
            if outcome is None:
                return None
            self.close_calls.cancel()           # e.g. a card tapped while the digits screen showed
            self._last_outcome = outcome
        # Logged without templates, card hashes or codes: ids, amounts and reasons only.
        log.info("decision payment_id=%s status=%s method=%s amount_fen=%d offline=%s reason=%s",
                 outcome.payment_id or "-", outcome.status, outcome.method, outcome.amount_fen,
                 outcome.offline, outcome.reason or "-")
        if outcome.status == "approved":
            if self.on_approved is not None:
                self.on_approved(outcome)          # the row is already durable: the gate may open
            if self.sync_thread is not None and outcome.offline:
                self.sync_thread.wake()
        self._publish(self.current_view())
        return outcome

    def _prompted(self, code: str | None) -> None:
        """The face camera asks the diner to do something (or stops asking): "recognising"."""
        if self.parking is not None:
            return
        with self._lock:
            if code == self._prompt:
                return
            self._prompt = code
            if code is not None:
                self._last_outcome = None       # a new diner at the camera: the last outcome is done
        self._publish(self.current_view())

    def _store_failed(self, event: object) -> PaymentOutcome:
        method = {"FaceMatched": "face", "CodeScanned": "paycode", "CardTapped": "card"}.get(type(event).__name__,
                                                                                           "face")
        return PaymentOutcome(payment_id="", status="declined", amount_fen=0, method=method, at=self.clock.now(),
                              reason="store_write_failed",
                              message_zh="终端无法保存记录（存储空间已满或存储故障），本次未扣款；请联系管理员",
                              message_en="The terminal cannot save payments (storage full or failing); "
                                         "you were not charged. Call the attendant")

    def key_in_digits(self, digits: str) -> PaymentOutcome | None:
        with self._lock:
            decided = self.close_calls.key_in(digits, self.clock.now())
        if decided is None:
            self._publish(self.current_view())         # wrong: the screen says so, tries left
            return None
        return self.handle_event(decided)

    def cancel_confirm(self) -> None:
        with self._lock:
            self.close_calls.cancel()
        self._publish(self.current_view())

    def key_in_amount(self, amount_fen: int) -> None:
        if self.parking is not None:
            raise ValueError("a parking lane takes no keyed amount: the fee comes from the tariff")
        with self._lock:
            self.scene.key_in_amount(amount_fen)
        self.store.audit.record("cashier", "key_in_amount", amount_fen=amount_fen)
        self._publish(self.current_view())

    # --- admin -------------------------------------------------------------------------------------

    def pin_locked_until(self) -> datetime | None:
        """When the PIN may be tried again after PIN_TRIES wrong tries in a row (None: not locked),
        so the PIN screen can say "locked, try again at 12:31" instead of "wrong PIN"."""
        now = self.clock.now()
        with self._pin_lock:
            recent = [t for t in self._pin_failures if now - t < PIN_LOCKOUT]
        if len(recent) < PIN_TRIES:
            return None
        return recent[-PIN_TRIES] + PIN_LOCKOUT

    def pin_tries_left(self) -> int:
        """How many wrong PINs may still be entered before the screen locks, so the PIN screen
        can warn the cashier before the lock rather than after it."""
        now = self.clock.now()
        with self._pin_lock:
            recent = [t for t in self._pin_failures if now - t < PIN_LOCKOUT]
        return max(0, PIN_TRIES - len(recent))

    def verify_pin(self, pin: str) -> bool:
        # One check at a time, counted before the next starts: tries from two threads at once
        # must not get past PIN_TRIES together.
        with self._pin_lock:
            now = self.clock.now()
            self._pin_failures = [t for t in self._pin_failures if now - t < PIN_LOCKOUT]
            if len(self._pin_failures) >= PIN_TRIES:
                self.store.audit.record("admin", "pin_locked")
                return False
            ok = check_pin(pin, self.config.admin_pin_hash)
            if not ok:
                self._pin_failures.append(now)
                self.store.audit.record("admin", "pin_failed")
            return ok

    def _require_pin(self, pin: str) -> None:
        if not self.verify_pin(pin):
            until = self.pin_locked_until()
            if until is not None:
                at = until.astimezone(self.decider.tz).strftime("%H:%M")
                raise AdminError(f"密码错误次数过多，已锁定，请在 {at} 后重试",
                                 f"Too many wrong PINs: locked, try again at {at}")
            raise AdminError("管理密码错误，请重试（连续错误5次将锁定1分钟）",
                             "Wrong admin PIN: try again (5 wrong tries lock the screen for a minute)")

    def today(self) -> str:
        return self.decider.business_day(self.clock.now())

    def list_payments(self, day: str | None = None, query: str = "") -> list[PaymentRow]:
        items = self.store.outbox.items(kind="payment", day=day or self.today(),
                                        statuses=(*APPROVED_STATUSES, "declined", "rejected"))
        q = query.strip().lower()
        if q:
            items = [i for i in items if q in i.item_id.lower() or q in (i.masked_name or "").lower()
                     or q == (i.method or "")]
        return self.store.outbox.payment_rows(items)

    def refund(self, payment_id: str, amount_fen: int, reason: str, pin: str, *, void: bool = False) -> PaymentOutcome:
        self._require_pin(pin)
        item = self.store.outbox.get(payment_id)
        if item is None or item.kind != "payment" or item.status not in APPROVED_STATUSES:
            raise AdminError("找不到可退款的交易", "No approved payment with this id to refund")
        left = item.amount_fen - item.refunded_fen
        if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or not 0 < amount_fen <= left:
            raise AdminError(f"退款金额应在 0.01 至 {format_yuan(left)} 元之间",
                             f"The refund must be between 0.01 and {format_yuan(left)} yuan")
        now = self.clock.now()
        req = RefundRequest(refund_id=uuid.uuid4(), payment_id=uuid.UUID(payment_id), amount_fen=amount_fen,
                            reason=(reason.strip() or ("void" if void else "refund"))[:200], occurred_at=now)
        self.store.outbox.add_refund(req, void=void)
        self.store.audit.record("cashier", "void" if void else "refund", payment_id=payment_id,
                                refund_id=str(req.refund_id), amount_fen=amount_fen, reason=req.reason)
        if self.sync_thread is not None:
            self.sync_thread.wake()
        y = format_yuan(amount_fen)
        zh, en = (f"已撤销，退回 {y} 元", f"Voided: {y} yuan returned") if void else \
            (f"已退款 {y} 元", f"Refunded {y} yuan")
        self._publish(self.sync_status())
        return PaymentOutcome(payment_id=payment_id, status="approved", amount_fen=amount_fen,
                              method=item.method or "", at=now, masked_name=item.masked_name,
                              message_zh=zh, message_en=en, offline=True)

    def void(self, payment_id: str, reason: str, pin: str) -> PaymentOutcome:
        item = self.store.outbox.get(payment_id)
        left = (item.amount_fen - item.refunded_fen) if item else 0
        return self.refund(payment_id, left, reason or "void", pin, void=True)

    def sync_now(self) -> SyncStatus:
        if self.engine is not None and self.engine.cycle().failure is None:
            self.recheck_pending_shift()
        status = self.sync_status()
        self._publish(status)
        return status

    def offline_queue(self) -> list[PaymentRow]:
        return self.store.outbox.payment_rows(self.store.outbox.items(statuses=("queued",), kind="payment"))

    def declined_after_fact(self) -> list[PaymentRow]:
        return self.store.outbox.payment_rows(self.store.outbox.items(statuses=("declined", "rejected"),
                                                                      kind="payment"))

    def running_shift(self) -> ShiftTotals:
        """The shift so far, not closed and nothing sent: the admin screen shows these totals and
        asks the cashier to confirm before the close."""
        now = self.clock.now()
        return self._local_totals(self._shift_opened_at(now), now)

    def _shift_opened_at(self, now: datetime) -> datetime:
        return from_iso(self.store.get_meta("shift_opened_at")) or from_iso(self.store.get_meta("registered_at")) \
            or datetime.fromtimestamp(0, tz=now.tzinfo)

    def close_shift(self, pin: str) -> ShiftTotals:
        """Close the shift locally, then have the backend compare it (pushing the queue first)."""
        self._require_pin(pin)
        now = self.clock.now()
        opened = self._shift_opened_at(now)
        totals = self._local_totals(opened, now)
        self.store.set_meta(shift_opened_at=to_iso(now), last_shift_opened_at=to_iso(opened),
                            last_shift_closed_at=to_iso(now))
        count, fen = sum(totals.count_by_method.values()), sum(totals.fen_by_method.values())
        self.store.audit.record("cashier", "close_shift", payments=count, fen=fen, refunds=totals.refunds_count)
        self.store.outbox.add_event(str(uuid.uuid4()), {"type": "shift_closed", "at": to_iso(now),
                                                        "payments": count, "fen": fen})
        return self._check_with_backend(totals)

    def recheck_shift(self, pin: str) -> ShiftTotals:
        """Compare the last closed shift with the backend again (it was offline at close)."""
        self._require_pin(pin)
        opened = from_iso(self.store.get_meta("last_shift_opened_at"))
        closed = from_iso(self.store.get_meta("last_shift_closed_at"))
        if opened is None or closed is None:
            raise AdminError("还没有交过班，无需核对", "No shift has been closed yet: nothing to check")
        self.store.audit.record("cashier", "recheck_shift", opened_at=to_iso(opened))
        return self._check_with_backend(self._local_totals(opened, closed))

    def after_sync(self, report) -> None:  # noqa: ANN001 - terminal.sync_loops.CycleReport
        """Called by the background sync after each cycle: new status for the screens, and a shift
        closed offline is compared as soon as the backend answers again."""
        self.publish_status()
        if report.failure is None:
            self.recheck_pending_shift()

    def recheck_pending_shift(self) -> ShiftTotals | None:
        """After a sync that reached the backend: if the last shift closed while it could not be
        compared, compare it now, so the cashier need not remember to press "check again". The
        result is published like any view (the admin screen shows it). None: nothing pending."""
        if self.store.get_meta("shift_check_pending") != "1":
            return None
        opened = from_iso(self.store.get_meta("last_shift_opened_at"))
        closed = from_iso(self.store.get_meta("last_shift_closed_at"))
        if opened is None or closed is None:
            return None
        self.store.audit.record("system", "auto_recheck_shift", opened_at=to_iso(opened))
        return self._check_with_backend(self._local_totals(opened, closed))

    def _local_totals(self, opened: datetime, closed: datetime) -> ShiftTotals:
        payments = self._shift_payments(opened, closed)
        refunds = [i for i in self.store.outbox.items(kind="refund", limit=1_000_000)
                   if opened <= i.occurred_at < closed and i.status not in ("declined", "rejected")]
        counts: dict[str, int] = {}
        fen: dict[str, int] = {}
        for p in payments:
            counts[p.method or ""] = counts.get(p.method or "", 0) + 1
            fen[p.method or ""] = fen.get(p.method or "", 0) + p.amount_fen
        return ShiftTotals(opened_at=opened, closed_at=closed, count_by_method=counts, fen_by_method=fen,
                           refunds_count=len(refunds), refunds_fen=sum(r.amount_fen for r in refunds),
                           queued=self.store.outbox.queue_depth())

    def _shift_payments(self, opened: datetime, closed: datetime) -> list:
        return [i for i in self.store.outbox.items(kind="payment", statuses=APPROVED_STATUSES, limit=1_000_000)
                if opened <= i.occurred_at < closed]

    def _check_with_backend(self, totals: ShiftTotals) -> ShiftTotals:
        """Push the queue, send the shift; if the backend asks for queued payments, push them and
        ask again. Offline: the local totals stand and the words say to check again later."""
        if self.engine is None or self.client is None:
            return totals
        # The backend compares 31 days at most; a clock set back must not make opened > closed.
        opened = min(max(totals.opened_at, totals.closed_at - MAX_SHIFT_SPAN), totals.closed_at)
        pushed_before = self.engine.cycle().pushed
        try:
            result = self.client.close_shift(self.shift_request(opened, totals.closed_at))
            pushed = 0
            if result.push_payment_ids:
                self.engine.cycle()
                asked = [self.store.outbox.get(str(i)) for i in result.push_payment_ids]
                pushed = sum(1 for item in asked if item is not None and item.status != "queued")
                result = self.client.close_shift(self.shift_request(opened, totals.closed_at))
        except (SyncFailure, ValueError) as failure:       # ValueError: the body is invalid (clock out of range)
            log.warning("shift check with the backend failed: %s", getattr(failure, "reason", "bad_request"))
            zh, en = failure.words if isinstance(failure, SyncFailure) else \
                ("终端时间不正确，请先校准时间", "the terminal's clock is wrong: set the time first")
            self.store.set_meta(shift_check_pending="1")    # re-run by itself after the next good sync
            pending = replace(totals, queued=self.store.outbox.queue_depth(),
                              backend_note_zh=f"后台核对未完成（{zh}）。本班已在终端结账；联网后将自动核对，"
                                              f"也可点“重新核对”",
                              backend_note_en=f"Not checked with the backend ({en}). The shift is closed on the "
                                              f"terminal; it is checked by itself once online, or press "
                                              f"\"Check again\"")
            self._publish(pending)
            return pending
        rows = [ShiftDifferenceRow(kind=d.kind, message_zh=d.message_zh, message_en=d.message_en,
                                   payment_id=str(d.payment_id) if d.payment_id else None, method=d.method,
                                   terminal_fen=d.terminal_fen, backend_fen=d.backend_fen)
                for d in result.differences]
        self.store.audit.record("cashier", "shift_checked", shift_id=result.shift_id, status=result.status,
                                differences=len(rows), pushed=pushed + pushed_before)
        self.store.set_meta(shift_check_pending="")
        self._publish(self.sync_status())
        checked = replace(totals, queued=self.store.outbox.queue_depth(), backend_checked=True, differences=rows,
                          pushed_for_check=pushed)
        self._publish(checked)
        return checked

    def shift_request(self, opened: datetime, closed: datetime) -> ShiftCloseRequest:
        """The shift id is the opening time, so checking the same shift again re-compares it."""
        taken = [p for p in self._shift_payments(opened, closed) if p.method in SHIFT_METHODS]
        sums: dict[str, list[int]] = {}
        for p in taken:
            line = sums.setdefault(p.method, [0, 0])
            line[0] += 1
            line[1] += p.amount_fen
        queued = [uuid.UUID(i.item_id) for i in self.store.outbox.items(statuses=("queued",), kind="payment",
                                                                          limit=MAX_SHIFT_PAYMENTS)]
        return ShiftCloseRequest(
            shift_id="shift-" + opened.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ"),
            opened_at=opened, closed_at=closed,
            totals=[ShiftMethodTotal(method=m, count=c, amount_fen=f) for m, (c, f) in sorted(sums.items())],
            # a shift larger than the wire allows is compared by its totals only
            payments=[ShiftPayment(payment_id=uuid.UUID(p.item_id), method=p.method, amount_fen=p.amount_fen)
                      for p in taken] if len(taken) <= MAX_SHIFT_PAYMENTS else [],
            queued_payment_ids=queued)
