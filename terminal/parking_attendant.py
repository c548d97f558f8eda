"""The attendant's actions at a parking lane (PIN-protected, each in the audit log): correct a
misread plate, let the waiting car out free with a reason, take the exception to review.

One part of terminal.parking.ParkingScene; each action is one step of the lane (ParkingScene.run)
and answers with its SceneResult.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Callable

from core.clock import Clock
from core.plates import PlateError, normalise_plate
from hardware.events import PlateRead
from terminal.audit import AuditLog
from terminal.parking_store import ParkingStore
from terminal.scene import SceneResult
from terminal.state import ParkingView

if TYPE_CHECKING:
    from terminal.parking import ParkingScene
    from terminal.parking_payment import ExitPayments, PendingExit


class AttendantError(PermissionError):
    """An attendant action was refused; zh/en say why and what to do."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


class AttendantActions:
    def __init__(self, lane: "ParkingScene", payments: "ExitPayments", parking: ParkingStore, audit: AuditLog,
                 clock: Clock, pin_check: Callable[[str], bool] | None):
        self.lane, self.payments, self.parking, self.audit, self.clock = lane, payments, parking, audit, clock
        self.pin_check = pin_check

    def _require_pin(self, pin: str) -> None:
        if self.pin_check is None or not self.pin_check(pin):
            raise AttendantError("管理密码错误，请重试", "Wrong attendant PIN: try again")

    def _require_car(self) -> PendingExit:
        if self.payments.pending is None:
            raise AttendantError("出口没有待处理的车辆", "No car is waiting at this exit")
        return self.payments.pending

    def correct_plate(self, pin: str, plate: str, colour: str | None = None,
                      entry_plate: str | None = None) -> SceneResult:
        """The camera misread the car waiting at the exit (or its entry was recorded as
        `entry_plate`): price the stay of the plate the attendant read off the car."""
        self._require_pin(pin)
        return self.lane.run(lambda: self._correct(plate, colour, entry_plate))

    def _correct(self, plate: str, colour: str | None, entry_plate: str | None) -> ParkingView:
        p = self._require_car()
        try:
            fixed = normalise_plate(plate, colour or p.colour)
            misread_entry = normalise_plate(entry_plate).text if entry_plate else None
        except PlateError as exc:
            raise AttendantError(exc.zh, exc.en) from None
        fixed_colour = fixed.colour or p.colour
        paid = self.payments.settle_or_close_order()     # the misread plate's QR order must not stay payable
        if paid is not None:
            return paid
        self.audit.record("attendant", "correct_plate", read=p.plate, corrected=fixed.text, entry_plate=entry_plate)
        if misread_entry:
            old = self.parking.find_inside(misread_entry)
            if old is not None:
                event = self.lane.lane_event("correct_plate", old.session_id, fixed.text, fixed_colour,
                                             self.clock.now(), old_plate=old.plate, operator="attendant")
                self.parking.save_stay_and_event(replace(old, plate=fixed.text, plate_colour=fixed_colour,
                                                         flagged=True, flag_reason=f"plate corrected from {old.plate}"),
                                                 event)
        self.payments.pending = None
        self.lane.forget(p.plate)
        return self.lane.price_exit(PlateRead(fixed.text, fixed_colour, 1.0, "out", p.at, "attendant", p.image_ref))

    def open_free(self, pin: str, reason: str, operator: str = "attendant") -> SceneResult:
        """Let the waiting car out without payment; the reason is audited and the stay flagged."""
        self._require_pin(pin)
        if not reason.strip():
            raise AttendantError("请填写免费放行的原因", "Give the reason for letting the car out free")

        def let_out() -> ParkingView:
            p = self._require_car()
            self.audit.record("attendant", "open_free", plate=p.plate, fee_fen=p.fee_fen,
                              reason=reason.strip()[:200], operator=operator)
            return self.lane.finish("free_by_attendant", 0, reason=reason.strip()[:200], operator=operator)
        return self.lane.run(let_out)

    def take_to_review(self, pin: str, reason: str) -> SceneResult:
        """Flag the waiting car's stay for the office to look at later (the car keeps waiting)."""
        self._require_pin(pin)

        def flag() -> ParkingView:
            p = self._require_car()
            self.audit.record("attendant", "take_to_review", plate=p.plate, reason=reason[:200])
            if p.stay is not None:
                self.parking.queue_event(self.lane.lane_event("flag", p.stay.session_id, p.plate, p.colour,
                                                              self.clock.now(), reason=reason[:200] or "review"))
            return self.lane.current_view()
        return self.lane.run(flag)
