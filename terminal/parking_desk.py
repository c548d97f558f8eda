"""The parking lane's desk behind the admin PIN: the lane's exits of the day, the car waiting at
the barrier, the attendant's actions (terminal.parking_attendant) and the counter renewal
(terminal.parking_renewal).

The exits are read from the lane events this lane wrote, one per exit whatever paid it (QR
order, pay code, contactless, pass, free): a QR exit has no payment in the terminal's outbox,
so the admin screen's payment list alone would miss it. Each action's answer goes through the
lane's SceneOutput, the one place the barrier opens (after the exit is durable).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Callable
from uuid import UUID

from core.members import PassPlan
from core.wire import ParkingOrderState
from sync.client import SyncFailure
from terminal.parking_renewal import RenewalError, plans, start_renewal
from terminal.pin import PinGuard
from terminal.scene import SceneOutput
from terminal.state import ParkingView

if TYPE_CHECKING:
    from terminal.parking import ParkingScene

EXITS_LOOKED_AT = 1000     # the newest exit events read for one day's list (a busy lane: ~600 a day)


@dataclass(frozen=True)
class ExitRow:
    """One car that left through this lane."""
    at: datetime
    plate: str
    fee_fen: int | None
    paid_fen: int
    pay_kind: str | None          # qr | paycode | contactless | member | none | free_by_attendant | fallback
    reason: str | None            # the attendant's words for a free exit
    sent: bool                    # the backend has it


@dataclass(frozen=True)
class WaitingCar:
    plate: str
    fee_fen: int
    no_entry_record: bool         # priced by the car park's fallback fee


class LaneDesk:
    def __init__(self, scene: "ParkingScene", output: SceneOutput, pin: PinGuard,
                 business_day: Callable[[datetime], str]):
        self.scene, self.output, self.pin, self._day_of = scene, output, pin, business_day

    # --- what the attendant reads ----------------------------------------------------------------

    def exits(self, day: str | None = None) -> list[ExitRow]:
        """This lane's exits of `day` (today by default), newest first."""
        day = day or self._day_of(self.scene.decider.clock.now())
        rows = []
        for event, status in self.scene.parking.exit_events(EXITS_LOOKED_AT):
            if self._day_of(event.at) == day:
                rows.append(ExitRow(event.at, event.plate, event.fee_fen, event.paid_fen or 0, event.pay_kind,
                                    event.reason, status != "queued"))
        return rows

    def waiting(self) -> WaitingCar | None:
        pending = self.scene.payments.pending
        if pending is None:
            return None
        return WaitingCar(pending.plate, pending.fee_fen, pending.stay is None)

    # --- the attendant's actions (each checks the PIN) -----------------------------------------

    def correct_plate(self, pin: str, plate: str) -> ParkingView:
        return self.output.deliver(self.scene.attendant.correct_plate(pin, plate)).view

    def open_free(self, pin: str, reason: str) -> ParkingView:
        return self.output.deliver(self.scene.attendant.open_free(pin, reason)).view

    def take_to_review(self, pin: str, reason: str) -> ParkingView:
        return self.output.deliver(self.scene.attendant.take_to_review(pin, reason)).view

    # --- member renewal paid at the counter ------------------------------------------------------

    def renewal_plans(self) -> list[PassPlan]:
        return [p for p in plans(self.scene.store) if p.price_fen > 0]

    def start_renewal(self, pin: str, plate: str, plan_code: str) -> ParkingOrderState:
        self.pin.require(pin)
        return start_renewal(self.scene.store, self.scene.client, plate, plan_code,
                             timeout_s=self.scene.config.order_timeout_s)

    def renewal_state(self, order_id: UUID) -> ParkingOrderState:
        if self.scene.client is None:
            raise RenewalError("网络中断，请稍后再查", "Network down: check again later")
        try:
            return self.scene.client.order(order_id, timeout_s=self.scene.config.order_timeout_s)
        except SyncFailure as failure:
            zh, en = failure.words
            raise RenewalError(zh, en) from None
