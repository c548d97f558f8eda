"""The background work of a parking lane, for the composition root (terminal/runner.py).

    lane = ParkingLane(scene)          # nothing runs yet
    lane.start()                       # one daemon thread: poll the waiting car's QR order
    ...                                #   every second, push queued lane events every few seconds
    lane.stop()

`tick()` is one round of that work, so tests drive it without a thread or a sleep.
"""
from __future__ import annotations

import logging
import threading

from terminal.parking import ParkingScene

log = logging.getLogger("gatepay.parking")


class ParkingLane:
    def __init__(self, scene: ParkingScene, *, poll_interval_s: float = 1.0, push_every: int = 5):
        self.scene = scene
        self.poll_interval_s = poll_interval_s
        self.push_every = max(1, push_every)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._round = 0

    def tick(self) -> None:
        """Poll a pending QR order (the barrier opens when it is paid); push lane events now and then."""
        self._round += 1
        if self.scene.pending is not None and self.scene.pending.order_id is not None:
            self.scene.poll_payment()
        if self._round % self.push_every == 0 and self.scene.parking.queue_depth():
            self.scene.flush_events()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_interval_s):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the lane loop must survive one bad round
                log.exception("parking lane round failed")

    def start(self) -> "ParkingLane":
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="parking-lane", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
