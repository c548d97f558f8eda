"""One reader per camera, any number of consumers: the face loop and the camera code scanner.

A camera hands out each frame once (a USB camera's next `read()` is the next frame; the
simulator paces reads to its fps). Two consumers reading the same camera would take turns —
each seeing every other frame — and a slow one (the face encoder) would make the other wait.
So a `FrameHub` owns the camera: its one thread reads every frame and keeps the newest; each
consumer holds a `FrameTap`, a Camera-like reader that returns the newest frame it has not
seen yet (older ones are skipped, as a consumer that falls behind a live camera would).

    hub = FrameHub(camera)
    face_camera, scanner_camera = hub.tap("face"), hub.tap("scanner")
    hub.open()            # starts the reader thread (only the composition root calls this)

A tap's `read()` waits up to `wait_s` for a new frame (the face loop blocks; the code scanner,
polled from the terminal's event loop, passes 0 and never waits).
"""
from __future__ import annotations

import logging
import threading

from hardware.base import CheckResult
from hardware.camera import CameraStatus, Frame

log = logging.getLogger("gatepay.hardware.frames")


class FrameHub:
    def __init__(self, camera, idle_s: float = 0.02):  # noqa: ANN001 - hardware.camera.Camera
        self.camera = camera
        self.name = getattr(camera, "name", "camera")
        self._idle_s = idle_s
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._serial = 0          # frames delivered so far
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames_read = 0

    def tap(self, name: str, wait_s: float = 1.0) -> FrameTap:
        return FrameTap(self, name, wait_s)

    def open(self) -> None:
        """Open the camera and start the one reader thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self.camera.open()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"gatepay-frames-{self.name}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        self.camera.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame = self.camera.read()
            except Exception:  # noqa: BLE001 - a driver error must not end the camera for good
                log.exception("camera %s failed to deliver a frame", self.name)
                self._stop.wait(1.0)
                continue
            if frame is None:
                self._stop.wait(self._idle_s)     # reconnecting or ended: the driver says when it is back
                continue
            self.frames_read += 1
            with self._cond:
                self._latest = frame
                self._serial += 1
                self._cond.notify_all()

    def next_after(self, seen: int, wait_s: float) -> tuple[Frame | None, int]:
        """The newest frame if it is newer than `seen` (waiting up to `wait_s`), and its serial."""
        with self._cond:
            if self._serial == seen and wait_s > 0:
                self._cond.wait_for(lambda: self._serial != seen or self._stop.is_set(), wait_s)
            if self._serial == seen:
                return None, seen
            return self._latest, self._serial

    def status(self) -> CameraStatus:
        return self.camera.status()


class FrameTap:
    """A consumer's view of a shared camera: the Camera protocol (open/read/close/status/self_test)."""

    def __init__(self, hub: FrameHub, name: str, wait_s: float = 1.0):
        self.hub = hub
        self.name = hub.name
        self.consumer = name
        self.wait_s = wait_s
        self._seen = 0
        self.frames = 0

    def open(self) -> None:
        self.hub.open()

    def read(self) -> Frame | None:
        frame, self._seen = self.hub.next_after(self._seen, self.wait_s)
        if frame is not None:
            self.frames += 1
        return frame

    def close(self) -> None:
        return None   # the hub owns the camera; it is closed once, there

    def status(self) -> CameraStatus:
        return self.hub.status()

    def self_test(self) -> CheckResult:
        return self.hub.camera.self_test()


def share_cameras(devices: dict[str, object], face_camera: str | None) -> dict[str, FrameHub]:
    """Give every camera that more than one consumer reads (the face loop's rgb camera, code
    scanners' `camera`) one FrameHub, and point the scanners at taps of it. Returns the hubs by
    camera name; the caller (the runner) opens and closes them, and hands the face loop
    `hubs[name].tap("face")`."""
    readers: dict[str, int] = {}
    if face_camera:
        readers[face_camera] = 1
    scanners = [d for d in devices.values() if hasattr(d, "feed_image") and hasattr(d, "camera")]
    for scanner in scanners:
        cam_name = getattr(scanner.camera, "name", None)
        if cam_name in devices:
            readers[cam_name] = readers.get(cam_name, 0) + 1
    hubs = {name: FrameHub(devices[name]) for name, n in readers.items() if n > 1 and name in devices}
    for scanner in scanners:
        hub = hubs.get(getattr(scanner.camera, "name", None))
        if hub is not None:
            scanner.camera = hub.tap(scanner.name, wait_s=0.0)
    return hubs
