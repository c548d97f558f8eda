"""The parking scene: entry and exit lanes on the terminal core (store, decision, sync).

    scene = ParkingScene(store, decider, ParkingConfig(direction="exit", lane_id=2), gate=gate,
                         client=ParkingClient(url, auth), pin_check=core.verify_pin)
    PlatePushServer(config, scene.decide)        # the LPR camera's pushes -> LaneAnswer

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
import time
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Callable
from uuid import UUID

from hardware.events import CodeScanned, PlateRead
from hardware.plates.push import LaneAnswer
from sync.client import SyncFailure
from core.wire import Credential, ParkingEvent, ParkingTariffData
from terminal.decision import Decider, PaymentIntent
from core.members import MemberPass, charge_for_stay
from core.money import format_yuan
from terminal.parking_config import ParkingConfig
from terminal.parking_attendant import AttendantActions, AttendantError  # noqa: F401 - re-exported
from terminal.parking_link import ParkingClient
from terminal.parking_payment import ExitPayments, PendingExit
from terminal.parking_store import ParkingStore, Stay
from core.plates import PlateError, normalise_plate
from terminal.state import ParkingView, PaymentOutcome
from terminal.store import Store
from core.tariff import SiteTariffs

PRUNE_EVERY = timedelta(hours=1)   # finished stays and answered events (ParkingStore.prune)

log = logging.getLogger("gatepay.parking")


class ParkingScene(ExitPayments, AttendantActions):
    def __init__(self, store: Store, decider: Decider, config: ParkingConfig, *, gate=None,  # noqa: ANN001
                 client: ParkingClient | None = None, pin_check: Callable[[str], bool] | None = None):
        self.store, self.decider, self.config, self.gate, self.client = store, decider, config, gate, client
        self.parking = ParkingStore(store)
        self.pin_check = pin_check
        self.pending: PendingExit | None = None
        self.barrier_commanded_at: float | None = None    # monotonic, for the bench
        self._pruned_at: datetime | None = None
        self._recent: dict[str, tuple[float, ParkingView, str | None]] = {}
        self._lock = threading.RLock()
        self._subscribers: list[Callable[[object], None]] = []
        self._view = self._blank()

    # --- views -----------------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[object], None]) -> None:
        self._subscribers.append(callback)

    def current_view(self) -> ParkingView:
        return self._view

    def _blank(self) -> ParkingView:
        return ParkingView(phase="idle", lane_id=self.config.lane_id, direction=self.config.direction,
                           sync=self._sync())

    def _sync(self):  # noqa: ANN202
        return self.decider.tracker.snapshot(queue_depth=self.store.outbox.queue_depth() + self.parking.queue_depth())

    def _show(self, phase: str, zh: str, en: str, **fields: object) -> ParkingView:
        view = ParkingView(phase=phase, lane_id=self.config.lane_id, direction=self.config.direction,
                           sync=self._sync(), message_zh=zh, message_en=en, **fields)  # type: ignore[arg-type]
        self._view = view
        if phase != "idle":   # one line per lane decision: plate, amounts, kinds; never a pay code
            log.info("parking lane=%s phase=%s plate=%s fee_fen=%s pay_kind=%s", self.config.lane_id, phase,
                     fields.get("plate"), fields.get("fee_fen"), fields.get("pay_kind"))
        for callback in list(self._subscribers):
            try:
                callback(view)
            except Exception:  # noqa: BLE001 - a broken screen must not stop the lane
                log.exception("parking view subscriber failed")
        return view

    # --- the camera's callback -------------------------------------------------------------------

    def decide(self, read: PlateRead) -> LaneAnswer:
        """PlatePushServer's callback: the view for this car, spoken as a LaneAnswer."""
        view = self.handle(read)
        opened = view.phase in ("entry_open", "exit_paid", "exit_free")
        lines = tuple(x for x in (view.plate, view.message_zh) if x)
        return LaneAnswer(open_barrier=opened and self.config.barrier_via == "camera", display=lines,
                          voice=view.message_zh or None)

    def handle(self, event: object) -> ParkingView:
        with self._lock:
            if isinstance(event, CodeScanned):
                return self._pay_with_code(event)
            if not isinstance(event, PlateRead):
                return self._view
            try:
                plate = normalise_plate(event.plate, event.colour)
            except PlateError as exc:
                return self._show("exit_refused" if self.config.direction == "exit" else "entry_refused",
                                  f"车牌无法识别：{exc.zh} 请联系管理员", f"Plate not readable: {exc.en} Call the attendant")
            read = replace(event, plate=plate.text, colour=plate.colour or event.colour or "blue")
            if read.replayed:
                return self._replayed(read)
            seen = self._recent.get(read.plate)
            if seen and self.decider.clock.monotonic() - seen[0] < self.config.repeat_window_s:
                if seen[2]:
                    self._open(seen[2])    # same command id: the gate does not open twice
                return self._view if self.pending and self.pending.plate == read.plate else seen[1]
            if not read.confidence >= self.config.min_confidence:    # NaN from a bad push too
                return self._show("exit_refused" if self.config.direction == "exit" else "entry_refused",
                                  "车牌识别不清，请联系管理员", "Plate not read clearly: call the attendant",
                                  plate=read.plate, plate_colour=read.colour, image_ref=read.image_ref)
            view = self._entry(read) if self.config.direction == "entry" else self._exit(read)
        self.flush_events()
        return view

    def _remember(self, plate: str, view: ParkingView, command_id: str | None) -> ParkingView:
        now = self.decider.clock.monotonic()
        self._recent[plate] = (now, view, command_id)
        if len(self._recent) > 500:
            cutoff = now - self.config.repeat_window_s
            self._recent = {k: v for k, v in self._recent.items() if v[0] >= cutoff}
        return view

    def _open(self, command_id: str) -> None:
        self.barrier_commanded_at = time.monotonic()
        if self.gate is not None and self.config.barrier_via == "gate":
            result = self.gate.open_barrier(command_id)
            if not result.opened:
                log.warning("barrier did not confirm for %s: %s", command_id, result.en)

    # --- rules from the backend ------------------------------------------------------------------

    def _site_id(self) -> int:
        identity = self.store.identity()
        return identity.site_id if identity else 0

    def rules(self) -> tuple[SiteTariffs, int, str]:
        """(tariffs, fee for a car with no entry record, repeat-entry rule) — the backend's, else config."""
        raw = self.store.cache.item("tariff", str(self._site_id()))
        policy = self.config.repeat_entry
        if raw is None:
            return self.config.fallback_tariffs, self.config.fallback_no_entry_fee_fen, policy or "replace"
        data = ParkingTariffData.model_validate(raw)
        return SiteTariffs.model_validate(data.tariffs), data.no_entry_fee_fen, policy or data.repeat_entry

    def _member(self, plate: str) -> MemberPass | None:
        raw = self.store.cache.item("member", f"{self._site_id()}:{plate}")
        if raw is None:
            return None
        return MemberPass(raw["site_id"], raw["plate"], raw["plan"], date.fromisoformat(raw["valid_from"]),
                          date.fromisoformat(raw["valid_to"]), raw.get("status", "active"))

    def _blacklisted(self, plate: str) -> str | None:
        raw = self.store.cache.item("parking_blacklist", f"{self._site_id()}:{plate}")
        return raw.get("reason", "") if raw else None

    def _event(self, kind: str, session_id: str, read_plate: str, colour: str, at: datetime, **kw: object) -> ParkingEvent:
        return ParkingEvent(event_id=uuid.uuid4(), kind=kind, session_id=UUID(session_id), lane_id=self.config.lane_id,
                            plate=read_plate, plate_colour=colour, at=at, **kw)  # type: ignore[arg-type]

    # --- entry -----------------------------------------------------------------------------------

    def _entry(self, read: PlateRead) -> ParkingView:
        shown = dict(plate=read.plate, plate_colour=read.colour, image_ref=read.image_ref)
        reason = self._blacklisted(read.plate)
        if reason is not None:
            self.store.audit.record("lane", "entry_refused_blacklist", plate=read.plate)
            return self._remember(read.plate, self._show("entry_refused", "此车辆禁止入场，请联系管理员",
                                                         "This vehicle may not enter: call the attendant", **shown), None)
        _, _, policy = self.rules()
        older = self.parking.find_inside(read.plate)
        if older is not None and policy == "refuse":
            return self._remember(read.plate, self._show("entry_refused", "该车已在场内，请联系管理员",
                                                         "This car is already inside: call the attendant", **shown), None)
        if older is not None and self.parking.local(older.session_id) is not None:
            self.parking.save_stay_and_event(replace(older, status="replaced", flagged=True,
                                                     flag_reason="entered again without an exit"), None)
        stay = Stay(str(uuid.uuid4()), read.plate, read.colour, read.at, self.config.lane_id, read.image_ref, "inside")
        event = self._event("entry", stay.session_id, read.plate, read.colour, read.at, image_ref=read.image_ref)
        self.parking.save_stay_and_event(stay, event)          # durable before the barrier
        command = f"entry:{stay.session_id}"
        self._open(command)
        view = self._show("entry_open", "欢迎光临", "Welcome", entered_at=read.at, **shown)
        return self._remember(read.plate, view, command)

    def _replayed(self, read: PlateRead) -> ParkingView:
        """A record the camera kept while it was offline: on the record, never a late barrier."""
        if self.config.direction == "entry" and self.parking.find_inside(read.plate) is None:
            stay = Stay(str(uuid.uuid4()), read.plate, read.colour, read.at, self.config.lane_id, read.image_ref,
                        "inside")
            self.parking.save_stay_and_event(stay, self._event("entry", stay.session_id, read.plate, read.colour,
                                                               read.at, image_ref=read.image_ref, offline=True))
        elif self.config.direction == "exit":
            stay = self.parking.find_inside(read.plate)
            if stay is not None:
                self.parking.queue_event(self._event("flag", stay.session_id, read.plate, read.colour, read.at,
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

    def quote(self, plate: str, colour: str, at: datetime, stay: Stay | None) -> tuple[int, str]:
        """(fee, pay kind if nothing to pay / fallback) for a car leaving at `at`."""
        tariffs, no_entry_fee, _ = self.rules()
        if stay is None or stay.entered_at is None:
            return no_entry_fee, "fallback"
        entered = min(stay.entered_at, at)   # a lane clock slightly behind another must not fail the exit
        charge = charge_for_stay(self._member(plate), tariffs.pick(colour), entered, at)
        if charge.covered:
            return 0, "member"
        return charge.fee_fen, "none"

    def _exit(self, read: PlateRead) -> ParkingView:
        if self.pending is not None and self.pending.plate == read.plate:
            return self._view               # the same car waiting to pay: same order, same QR code
        stay = self._find_stay(read.plate)
        fee, kind = self.quote(read.plate, read.colour, read.at, stay)
        pending = PendingExit(read.plate, read.colour, read.at, read.image_ref, stay, fee)
        self.pending = pending
        if fee == 0:
            return self._finish(kind, 0)
        signing = self.store.cache.plate_signing(read.plate, read.colour)
        declined: PaymentOutcome | None = None
        if signing is not None and signing.status == "active":
            outcome = self.decider.decide(PaymentIntent(
                Credential(kind="plate", plate=read.plate, plate_colour=read.colour), fee,
                parking_session_id=UUID(stay.session_id) if stay else None))
            if outcome.status == "approved":
                return self._finish("contactless", fee, outcome=outcome, payment_id=UUID(outcome.payment_id),
                                    fallback=kind == "fallback")
            declined = outcome
        return self._ask_to_pay(pending, kind == "fallback", declined)

    def _finish(self, pay_kind: str, paid_fen: int, *, outcome: PaymentOutcome | None = None,
                payment_id: UUID | None = None, order_id: UUID | None = None, fallback: bool = False,
                reason: str | None = None, operator: str | None = None) -> ParkingView:
        """Close the stay, commit it with its lane event, THEN lift the barrier."""
        p = self.pending
        assert p is not None
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
        event = self._event("exit", session_id, p.plate, p.colour, p.at, image_ref=p.image_ref, fee_fen=p.fee_fen,
                            paid_fen=paid_fen, pay_kind=kind_on_record, payment_id=payment_id, order_id=order_id,
                            entered_at=base.entered_at, reason=reason, operator=operator,
                            offline=bool(outcome and outcome.offline))
        self.parking.save_stay_and_event(stay, event)          # durable before the barrier
        command = f"exit:{session_id}"
        self._open(command)
        self.pending = None
        y = format_yuan(paid_fen)
        words = {"member": ("月卡车，一路顺风", "Pass holder: have a good trip"),
                 "none": ("免费时段，一路顺风", "No charge: have a good trip"),
                 "free_by_attendant": ("管理员放行，一路顺风", "Let out by the attendant: have a good trip")}
        zh, en = words.get(pay_kind, (f"已缴费 {y} 元，一路顺风", f"Paid {y} yuan: have a good trip"))
        if outcome is not None and outcome.offline:
            zh, en = f"{zh}（离线记账）", f"{en} (offline, booked later)"
        phase = "exit_paid" if paid_fen > 0 else "exit_free"
        view = self._show(phase, zh, en, plate=p.plate, plate_colour=p.colour, image_ref=p.image_ref,
                          entered_at=base.entered_at, duration_s=self._duration(p), fee_fen=p.fee_fen,
                          pay_kind=pay_kind if pay_kind != "none" else None, outcome=outcome)
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
