"""A barrier arm (or turnstile) as the gate simulators see it: a relay pulse starts it rising,
it stays up for the hold time, then falls. Timed by the injected clock's monotonic()."""
from __future__ import annotations

from typing import Literal

from hardware.base import Clock

BarrierState = Literal["closed", "opening", "open", "closing"]


class BarrierSim:
    def __init__(self, clock: Clock, travel_s: float, hold_s: float):
        self._clock = clock
        self.travel_s = travel_s
        self.hold_s = hold_s
        self._rise_start: float | None = None
        self._fall_start = 0.0
        self.triggers = 0   # relay pulses received (what a test counts to see "opened once")

    def state(self) -> BarrierState:
        if self._rise_start is None:
            return "closed"
        now = self._clock.monotonic()
        if now < self._rise_start + self.travel_s:
            return "opening"
        if now < self._fall_start:
            return "open"
        if now < self._fall_start + self.travel_s:
            return "closing"
        return "closed"

    def trigger(self) -> None:
        """The open input saw a pulse."""
        self.triggers += 1
        now = self._clock.monotonic()
        state = self.state()
        if state == "open":
            self._fall_start = now + self.hold_s   # a new pulse keeps it up longer
            return
        if state == "opening":
            return
        if state == "closing":
            # reverses from where it is: rising the distance it has fallen
            fallen = now - self._fall_start
            self._rise_start = now - (self.travel_s - fallen)
        else:
            self._rise_start = now
        self._fall_start = self._rise_start + self.travel_s + self.hold_s

    @property
    def is_open(self) -> bool:
        """What the 'fully open' limit switch reports."""
        return self.state() == "open"
