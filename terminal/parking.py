"""The parking scene: entry and exit lanes on the terminal core (store, decision, sync).

    scene = ParkingScene(store, decider, ParkingConfig(direction="exit", lane_id=2),
                         client=ParkingClient(url, auth), pin_check=pin_guard.verify)
    output.deliver(scene.handle(read))           # terminal.scene: barrier (if ours), then the screens
    PlatePushServer(config, ParkingLane(scene, output).decide)   # the LPR camera's pushes -> LaneAnswer

The scene is built from parts with one job each: ParkingRules (tariffs, passes, blacklist),
ExitPayments (the car waiting to pay: QR order, pay code) and AttendantActions (PIN-protected
corrections). It names the barrier command in its SceneResult; it never drives a gate itself.

Entry: a PlateRead opens a stay (plate, colour, camera time, lane, image) and lifts the barrier;
a blacklisted plate is refused. A car the terminal believes is already inside is handled by the
site's `repeat_entry` rule: "replace" (default) opens a new stay and closes the old one unpaid
and flagged for review — a missed exit read must not trap a car outside; "refuse" keeps the
barrier down and calls the attendant. The same car pushed again within `repeat_window_s` is the
same car: same answer, no second stay, and the same gate command id (the gate never opens twice).

Exit: find the stay (this lane's, synced from another lane, or asked online), compute the fee
(core.tariff, core.members), then: covered by a pass or free -> open; signed plate ->
contactless deduction through the core's Decider (online, or offline within its limits);
otherwise show the fee and the QR code of an exit order on the lane display, and take a scanned
pay code too. No stay found -> the site's fallback fee, flagged for review. In every case the
stay and its lane event are committed to the store BEFORE the barrier command.

Records the camera replays from its offline cache never lift a barrier: an entry replay is
stored (the car is inside), an exit replay only goes to review.
"""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Callable
from uuid import UUID

from core.money import format_yuan
from core.plates import PlateError, normalise_plate
from core.wire import Credential, ParkingEvent
from hardware.events import CodeScanned, PlateRead
from sync.client import SyncFailure
from terminal.decision import Decider, PaymentIntent
from terminal.offline import resolve_signing
from terminal.parking_attendant import AttendantActions
from terminal.parking_config import ParkingConfig
from terminal.parking_link import ParkingClient
from terminal.parking_payment import ExitPayments, PendingExit, fee_reason
from terminal.parking_rules import ParkingRules
from terminal.parking_store import ParkingStore, Stay
from terminal.scene import SceneResult
from terminal.state import ParkingView, PaymentOutcome
from terminal.store import Store

PRUNE_EVERY = timedelta(hours=1)   # finished stays and answered events (ParkingStore.prune)

log = logging.getLogger("gatepay.parking")


class ParkingScene:
    def __init__(self, store: Store, decider: Decider, config: ParkingConfig, *,
                 client: ParkingClient | None = None, pin_check: Callable[[str], bool] | None = None):
        self.store, self.decider, self.config, self.client = store, decider, config, client
        self.parking = ParkingStore(store)
        self.rules = ParkingRules(store, config)
        self.payments = ExitPayments(self, client, config, decider.tracker, decider.clock)
        self.attendant = AttendantActions(self, self.payments, self.parking, store.audit, decider.clock, pin_check)
        self.lock = threading.RLock()
        self._pruned_at: datetime | None = None
        self._recent: dict[str, tuple[float, ParkingView, str | None]] = {}
        self._view = self._blank()
        # What the running step did, for its SceneResult (set under the lock).
        self._gate_command: str | None = None
        self._changed = False
        self._push_after = False

    # --- views -----------------------------------------------------------------------------------

    def current_view(self) -> ParkingView:
        return self._view

    def _blank(self) -> ParkingView:
        return ParkingView(phase="idle", lane_id=self.config.lane_id, direction=self.config.direction,
                           lane_name=self.config.lane_name,
                           sync=self._sync())

    def _sync(self):  # noqa: ANN202
        return self.decider.tracker.snapshot(queue_depth=self.store.outbox.queue_depth() + self.parking.queue_depth())

    def show(self, phase: str, zh: str, en: str, **fields: object) -> ParkingView:
        """The lane's new view (published by terminal.scene.SceneOutput with the step's result)."""
        view = ParkingView(phase=phase, lane_id=self.config.lane_id, direction=self.config.direction,
                           lane_name=self.config.lane_name,
                           sync=self._sync(), message_zh=zh, message_en=en, **fields)  # type: ignore[arg-type]
        self._view, self._changed = view, True
        if phase != "idle":   # one line per lane decision: plate, amounts, kinds; never a pay code
            log.info("parking lane=%s phase=%s plate=%s fee_fen=%s pay_kind=%s", self.config.lane_id, phase,
                     fields.get("plate"), fields.get("fee_fen"), fields.get("pay_kind"))
        return view

    def run(self, step: Callable[[], ParkingView]) -> SceneResult:
        """One step of the lane under its lock (a camera push, the QR poll, an attendant action):
        the view it leaves, the barrier command it committed, and the lane events to push after."""
        with self.lock:
            self._gate_command, self._changed, self._push_after = None, False, False
            view = step()
            return SceneResult(view, outcome=view.outcome, open_gate=self._gate_command, changed=self._changed,
                               after=self.flush_events if self._push_after else None)

    # --- the Scene calls a lane has no use for -----------------------------------------------------

    def tick(self) -> None:
        return None          # a lane's view changes with the next car (ParkingLane polls QR orders)

    def clear_outcome(self) -> None:
        return None          # a lane's view changes with the next car, not on a timer

    def key_in_amount(self, amount_fen: int) -> SceneResult:
        raise ValueError("a parking lane takes no keyed amount: the fee comes from the tariff")

    def key_in_digits(self, digits: str) -> SceneResult:
        return SceneResult(self._view, changed=False)

    def cancel_confirm(self) -> SceneResult:
        return SceneResult(self._view, changed=False)

    # --- the camera's reads ----------------------------------------------------------------------

    def handle(self, event: object) -> SceneResult:
        return self.run(lambda: self._decide(event))

    def _decide(self, event: object) -> ParkingView:
        if isinstance(event, CodeScanned):
            return self.payments.pay_with_code(event)
        if not isinstance(event, PlateRead):
            return self._view
        try:
            plate = normalise_plate(event.plate, event.colour)
        except PlateError as exc:
            return self.show("exit_refused" if self.config.direction == "exit" else "entry_refused",
                             f"车牌无法识别：{exc.zh} 请联系管理员", f"Plate not readable: {exc.en} Call the attendant")
        read = replace(event, plate=plate.text, colour=plate.colour or event.colour or "blue")
        if read.replayed:
            return self._replayed(read)
        seen = self._recent.get(read.plate)
        if seen and self.decider.clock.monotonic() - seen[0] < self.config.repeat_window_s:
            if seen[2]:
                self._open(seen[2])    # same command id: the gate does not open twice
            pending = self.payments.pending
            return self._view if pending and pending.plate == read.plate else seen[1]
        if not read.confidence >= self.config.min_confidence:    # NaN from a bad push too
            return self.show("exit_refused" if self.config.direction == "exit" else "entry_refused",
                             "车牌识别不清，请联系管理员", "Plate not read clearly: call the attendant",
                             plate=read.plate, plate_colour=read.colour, image_ref=read.image_ref)
        self._push_after = True
        return self._entry(read) if self.config.direction == "entry" else self.price_exit(read)

    def _remember(self, plate: str, view: ParkingView, command_id: str | None) -> ParkingView:
        now = self.decider.clock.monotonic()
        self._recent[plate] = (now, view, command_id)
        if len(self._recent) > 500:
            cutoff = now - self.config.repeat_window_s
            self._recent = {k: v for k, v in self._recent.items() if v[0] >= cutoff}
        return view

    def forget(self, plate: str) -> None:
        """The next read of this plate is a new car (the attendant corrected it)."""
        self._recent.pop(plate, None)

    def _open(self, command_id: str) -> None:
        """Name the barrier command of this step (its stay is already durable). A camera that
        drives its own barrier is answered through the LaneAnswer instead (ParkingLane.decide)."""
        if self.config.barrier_via == "gate":
            self._gate_command = command_id

    def lane_event(self, kind: str, session_id: str, read_plate: str, colour: str, at: datetime,
                   **kw: object) -> ParkingEvent:
        return ParkingEvent(event_id=uuid.uuid4(), kind=kind, session_id=UUID(session_id), lane_id=self.config.lane_id,
                            plate=read_plate, plate_colour=colour, at=at, **kw)  # type: ignore[arg-type]

    # --- entry -----------------------------------------------------------------------------------

    def _entry(self, read: PlateRead) -> ParkingView:
        shown = dict(plate=read.plate, plate_colour=read.colour, image_ref=read.image_ref)
        reason = self.rules.blacklisted(read.plate)
        if reason is not None:
            self.store.audit.record("lane", "entry_refused_blacklist", plate=read.plate)
            return self._remember(read.plate, self.show("entry_refused", "此车辆禁止入场，请联系管理员",
                                                        "This vehicle may not enter: call the attendant", **shown), None)
        _, _, policy = self.rules.rules()
        older = self.parking.find_inside(read.plate)
        if older is not None and policy == "refuse":
            return self._remember(read.plate, self.show("entry_refused", "该车已在场内，请联系管理员",
                                                        "This car is already inside: call the attendant", **shown), None)
        if older is not None and self.parking.local(older.session_id) is not None:
            self.parking.save_stay_and_event(replace(older, status="replaced", flagged=True,
                                                     flag_reason="entered again without an exit"), None)
        stay = Stay(str(uuid.uuid4()), read.plate, read.colour, read.at, self.config.lane_id, read.image_ref, "inside")
        event = self.lane_event("entry", stay.session_id, read.plate, read.colour, read.at, image_ref=read.image_ref)
        self.parking.save_stay_and_event(stay, event)          # durable before the barrier
        command = f"entry:{stay.session_id}"
        self._open(command)
        view = self.show("entry_open", "欢迎光临", "Welcome", entered_at=read.at, **shown)
        return self._remember(read.plate, view, command)

    def _replayed(self, read: PlateRead) -> ParkingView:
        """A record the camera kept while it was offline: on the record, never a late barrier."""
        if self.config.direction == "entry" and self.parking.find_inside(read.plate) is None:
            stay = Stay(str(uuid.uuid4()), read.plate, read.colour, read.at, self.config.lane_id, read.image_ref,
                        "inside")
            self.parking.save_stay_and_event(stay, self.lane_event("entry", stay.session_id, read.plate, read.colour,
                                                                   read.at, image_ref=read.image_ref, offline=True))
        elif self.config.direction == "exit":
            stay = self.parking.find_inside(read.plate)
            if stay is not None:
                self.parking.queue_event(self.lane_event("flag", stay.session_id, read.plate, read.colour, read.at,
                                                         reason="exit seen only in the camera's offline records"))
        self.store.audit.record("lane", "replayed_plate", plate=read.plate, direction=self.config.direction)
        return self._view

    # --- exit ------------------------------------------------------------------------------------

    def _find_stay(self, plate: str) -> Stay | None:
        stay = self.parking.find_inside(plate)
        now = self.decider.clock.now()
        if stay is None and self.client is not None and self.decider.tracker.should_try_online(now):
            try:
                found = self.client.session_inside(plate, timeout_s=self.config.lookup_timeout_s)
                self.decider.tracker.note_success(now)
                stay = self.parking.from_wire(found) if found else None
            except SyncFailure as failure:
                self.decider.tracker.note_failure(failure, now)
        return stay

    def price_exit(self, read: PlateRead) -> ParkingView:
        """A car at the exit: free or covered -> open; signed plate -> contactless; else ask to pay."""
        self._push_after = True
        waiting = self.payments.pending
        if waiting is not None and waiting.plate == read.plate:
            return self._view               # the same car waiting to pay: same order, same QR code
        stay = self._find_stay(read.plate)
        fee, kind = self.rules.quote(read.plate, read.colour, read.at, stay)
        pending = PendingExit(read.plate, read.colour, read.at, read.image_ref, stay, fee)
        self.payments.pending = pending
        if fee == 0:
            return self.finish(kind, 0)
        plate = Credential(kind="plate", plate=read.plate, plate_colour=read.colour)
        signing = resolve_signing(self.store, plate)      # once: it decides contactless, then the payment
        declined: PaymentOutcome | None = None
        if signing is not None and signing.status == "active":
            outcome = self.decider.decide_for(PaymentIntent(
                plate, fee, parking_session_id=UUID(stay.session_id) if stay else None), signing)
            if outcome.status == "approved":
                return self.finish("contactless", fee, outcome=outcome, payment_id=UUID(outcome.payment_id),
                                   fallback=kind == "fallback")
            declined = outcome
        return self.payments.ask_to_pay(pending, kind == "fallback", declined)

    def finish(self, pay_kind: str, paid_fen: int, *, outcome: PaymentOutcome | None = None,
               payment_id: UUID | None = None, order_id: UUID | None = None, fallback: bool = False,
               reason: str | None = None, operator: str | None = None) -> ParkingView:
        """Close the waiting car's stay, commit it with its lane event, THEN name the barrier."""
        p = self.payments.pending
        assert p is not None
        self._push_after = True
        session_id = p.stay.session_id if p.stay else str(uuid.uuid4())
        if fallback and pay_kind in ("qr", "paycode", "contactless"):
            kind_on_record = "fallback"
        else:
            kind_on_record = pay_kind
        base = p.stay or Stay(session_id, p.plate, p.colour, None, None, None, "inside")
        flag = "no entry record" if p.stay is None else (f"opened free: {reason}" if reason else None)
        stay = replace(base, status="exited", exited_at=p.at, fee_fen=p.fee_fen, paid_fen=paid_fen,
                       pay_kind=kind_on_record, flagged=base.flagged or flag is not None,
                       flag_reason=flag or base.flag_reason)
        event = self.lane_event("exit", session_id, p.plate, p.colour, p.at, image_ref=p.image_ref, fee_fen=p.fee_fen,
                                paid_fen=paid_fen, pay_kind=kind_on_record, payment_id=payment_id, order_id=order_id,
                                entered_at=base.entered_at, reason=reason, operator=operator,
                                offline=bool(outcome and outcome.offline))
        self.parking.save_stay_and_event(stay, event)          # durable before the barrier
        command = f"exit:{session_id}"
        self._open(command)
        self.payments.pending = None
        # the driver hears and reads what they paid; the record keeps the fee (a campaign pays the rest)
        discount = outcome.discount_fen if outcome is not None else 0
        y = format_yuan(paid_fen - discount)
        words = {"member": ("月卡车，一路顺风", "Pass holder: have a good trip"),
                 "none": ("免费时段，一路顺风", "No charge: have a good trip"),
                 "free_by_attendant": ("管理员放行，一路顺风", "Let out by the attendant: have a good trip")}
        zh, en = words.get(pay_kind, (f"已缴费 {y} 元，一路顺风", f"Paid {y} yuan: have a good trip"))
        if discount and pay_kind not in words:
            off = format_yuan(discount)
            zh, en = f"已缴费 {y} 元（优惠 {off} 元），一路顺风", f"Paid {y} yuan ({off} yuan off): have a good trip"
        if outcome is not None and outcome.offline:
            zh, en = f"{zh}（离线记账）", f"{en} (offline, booked later)"
        phase = "exit_paid" if paid_fen > 0 else "exit_free"
        view = self.show(phase, zh, en, plate=p.plate, plate_colour=p.colour, image_ref=p.image_ref,
                         entered_at=base.entered_at, duration_s=ExitPayments.duration(p), fee_fen=p.fee_fen,
                         pay_kind=pay_kind if pay_kind != "none" else None, outcome=outcome,
                         fee_reason=fee_reason(p))
        return self._remember(p.plate, view, command)

    # --- lane events to the backend --------------------------------------------------------------

    def flush_events(self) -> int:
        """Send queued lane events (best effort; the queue keeps them until the backend answers)."""
        now = self.decider.clock.now()
        if self._pruned_at is None or now - self._pruned_at > PRUNE_EVERY:
            self._pruned_at = now
            self.parking.prune(now)
        if self.client is None:
            return 0
        if not self.decider.tracker.should_try_online(now):
            return 0
        sent = 0
        while batch := self.parking.queued_events():
            try:
                answer = self.client.push_events(batch, timeout_s=self.config.push_timeout_s)
            except SyncFailure as failure:
                self.decider.tracker.note_failure(failure, now)
                return sent
            self.decider.tracker.note_success(now)
            self.parking.apply_results(batch, answer.results)
            sent += len(batch)
            if len(answer.results) < len(batch):
                return sent
        return sent
