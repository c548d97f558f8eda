"""The attendant's actions at a parking lane (PIN-protected, each in the audit log).

Mixed into terminal.parking.ParkingScene: correct a misread plate, let the waiting car out free
with a reason, take the exception to review.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from hardware.events import PlateRead
from core.plates import PlateError, normalise_plate
from terminal.state import ParkingView

if TYPE_CHECKING:
    from terminal.parking_payment import PendingExit


class AttendantError(PermissionError):
    """An attendant action was refused; zh/en say why and what to do."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


class AttendantActions:
    """Needs from the scene: pin_check, pending, parking, store, decider, _lock, _recent, _exit,
    _finish, _event, _view, flush_events."""

    def _require_pin(self, pin: str) -> None:
        if self.pin_check is None or not self.pin_check(pin):
            raise AttendantError("管理密码错误，请重试", "Wrong attendant PIN: try again")

    def _require_car(self) -> PendingExit:
        if self.pending is None:
            raise AttendantError("出口没有待处理的车辆", "No car is waiting at this exit")
        return self.pending

    def correct_plate(self, pin: str, plate: str, colour: str | None = None,
                      entry_plate: str | None = None) -> ParkingView:
        """The camera misread the car waiting at the exit (or its entry was recorded as
        `entry_plate`): price the stay of the plate the attendant read off the car."""
        self._require_pin(pin)
        with self._lock:
            p = self._require_car()
            try:
                fixed = normalise_plate(plate, colour or p.colour)
                misread_entry = normalise_plate(entry_plate).text if entry_plate else None
            except PlateError as exc:
                raise AttendantError(exc.zh, exc.en) from None
            fixed_colour = fixed.colour or p.colour
            paid = self.settle_or_close_order()     # the misread plate's QR order must not stay payable
            if paid is not None:
                return paid
            self.store.audit.record("attendant", "correct_plate", read=p.plate, corrected=fixed.text,
                                    entry_plate=entry_plate)
            if misread_entry:
                old = self.parking.find_inside(misread_entry)
                if old is not None:
                    event = self._event("correct_plate", old.session_id, fixed.text, fixed_colour,
                                        self.decider.clock.now(), old_plate=old.plate, operator="attendant")
                    self.parking.save_stay_and_event(replace(old, plate=fixed.text, plate_colour=fixed_colour,
                                                             flagged=True, flag_reason=f"plate corrected from {old.plate}"),
                                                     event)
            self.pending = None
            self._recent.pop(p.plate, None)
            view = self._exit(PlateRead(fixed.text, fixed_colour, 1.0, "out", p.at, "attendant", p.image_ref))
        self.flush_events()
        return view

    def open_free(self, pin: str, reason: str, operator: str = "attendant") -> ParkingView:
        """Let the waiting car out without payment; the reason is audited and the stay flagged."""
        self._require_pin(pin)
        if not reason.strip():
            raise AttendantError("请填写免费放行的原因", "Give the reason for letting the car out free")
        with self._lock:
            p = self._require_car()
            self.store.audit.record("attendant", "open_free", plate=p.plate, fee_fen=p.fee_fen,
                                    reason=reason.strip()[:200], operator=operator)
            view = self._finish("free_by_attendant", 0, reason=reason.strip()[:200], operator=operator)
        self.flush_events()
        return view

    def take_to_review(self, pin: str, reason: str) -> ParkingView:
        """Flag the waiting car's stay for the office to look at later (the car keeps waiting)."""
        self._require_pin(pin)
        with self._lock:
            p = self._require_car()
            self.store.audit.record("attendant", "take_to_review", plate=p.plate, reason=reason[:200])
            if p.stay is not None:
                self.parking.queue_event(self._event("flag", p.stay.session_id, p.plate, p.colour,
                                                     self.decider.clock.now(), reason=reason[:200] or "review"))
            return self._view
