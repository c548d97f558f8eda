"""A parking lane at work, for the composition root (terminal/runner.py): the camera's pushes
answered, and the background rounds.

    lane = ParkingLane(scene, output)  # nothing runs yet
    camera.on_plate(lane.decide)       # a push -> the scene's answer -> the barrier, the screens
    lane.start()                       # one daemon thread: poll the waiting car's QR order
    ...                                #   every second, push queued lane events every few seconds
    lane.stop()

Every answer goes through terminal.scene.SceneOutput, the one place a barrier opens. `tick()` is
one round of the background work, so tests drive it without a thread or a sleep.
"""
from __future__ import annotations

import logging
import threading

from hardware.events import PlateRead
from hardware.plates.push import LaneAnswer
from terminal.parking import ParkingScene
from terminal.scene import SceneOutput

log = logging.getLogger("gatepay.parking")

OPEN_PHASES = ("entry_open", "exit_paid", "exit_free")


class ParkingLane:
    def __init__(self, scene: ParkingScene, output: SceneOutput, *, poll_interval_s: float = 1.0,
                 push_every: int = 5):
        self.scene, self.output = scene, output
        self.poll_interval_s = poll_interval_s
        self.push_every = max(1, push_every)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._round = 0

    def decide(self, read: PlateRead) -> LaneAnswer:
        """PlatePushServer's callback: the view for this car, spoken as a LaneAnswer. With
        barrier_via "camera" the camera's own output lifts the barrier on this answer."""
        view = self.output.deliver(self.scene.handle(read)).view
        lines = tuple(x for x in (view.plate, view.message_zh) if x)
        return LaneAnswer(open_barrier=view.phase in OPEN_PHASES and self.scene.config.barrier_via == "camera",
                          display=lines, voice=view.message_zh or None)

    def tick(self) -> None:
        """Poll a pending QR order (the barrier opens when it is paid); push lane events now and then."""
        self._round += 1
        if self.scene.payments.waiting_for_order():
            self.output.deliver(self.scene.payments.poll_payment())
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
