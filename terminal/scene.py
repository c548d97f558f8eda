"""The shape both scenes share, and the one place their answers reach the world.

A scene (terminal.canteen_scene.CanteenScene, terminal.parking.ParkingScene) takes device events
and time, and answers with a SceneResult: the view to show, the payment outcome, and the gate
command to send. It commits every payment row or stay BEFORE it names a gate command, so
`SceneOutput.deliver` may open the gate at once:

    result = scene.handle(PlateRead(...))       # decided and durable
    output.deliver(result)                      # gate, then the approval's voice, then the screens
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from terminal.state import PaymentOutcome

log = logging.getLogger("gatepay.terminal")


@dataclass(frozen=True)
class SceneResult:
    view: object                            # CanteenView | ParkingView after the event
    outcome: PaymentOutcome | None = None   # the payment decision the event led to, if any
    open_gate: str | None = None            # gate command id (idempotent); its row is already durable
    changed: bool = True                    # False: the screens already show this view
    announce: bool = False                  # say the outcome aloud (a diner at the canteen gate): the
                                            # approval, or why a payment with an id was declined
    after: Callable[[], object] | None = None   # work that waits for the gate (a lane pushes its events)


class Scene(Protocol):
    """Events and time in, SceneResults out. Calls that do not apply to a scene answer with an
    unchanged view (or, for a keyed amount at a parking lane, ValueError)."""

    def handle(self, event: object) -> SceneResult: ...

    def current_view(self) -> object: ...

    def tick(self) -> SceneResult | None:
        """A change time alone made (a meal period opened); None: nothing to show."""

    def clear_outcome(self) -> SceneResult | None:
        """The outcome was shown long enough: back to idle (None: the view stays)."""

    def key_in_amount(self, amount_fen: int) -> SceneResult: ...

    def key_in_digits(self, digits: str) -> SceneResult: ...

    def cancel_confirm(self) -> SceneResult: ...


class SceneOutput:
    """This lane's gate and the screens. Only here does a gate open, for either scene."""

    def __init__(self, gate: object | None = None, announce: Callable[[PaymentOutcome], None] | None = None):
        self.gate = gate
        self.announce = announce
        self.barrier_commanded_at: float | None = None     # monotonic, for the parking bench
        self._subscribers: list[Callable[[object], None]] = []

    def subscribe(self, callback: Callable[[object], None]) -> None:
        self._subscribers.append(callback)

    def publish(self, view: object) -> None:
        for callback in list(self._subscribers):
            try:
                callback(view)
            except Exception:  # noqa: BLE001 - one broken screen must not stop payments
                log.exception("view subscriber failed")

    def deliver(self, result: SceneResult) -> SceneResult:
        if result.open_gate is not None:
            self.open_gate(result.open_gate)
        if result.announce and result.outcome is not None and self.announce is not None:
            self.announce(result.outcome)
        if result.changed:
            self.publish(result.view)
        if result.after is not None:
            result.after()
        return result

    def open_gate(self, command_id: str) -> None:
        self.barrier_commanded_at = time.monotonic()
        if self.gate is None:
            return
        try:
            opened = self.gate.open_barrier(command_id)      # the same id twice opens once
        except Exception:  # noqa: BLE001 - a stuck gate must not lose the payment
            log.exception("gate %s failed for %s", getattr(self.gate, "name", "?"), command_id)
            return
        if not getattr(opened, "opened", True):
            log.warning("barrier did not confirm for %s: %s", command_id, getattr(opened, "en", ""))
