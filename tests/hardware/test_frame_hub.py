"""One camera, one reader: the face loop and a camera code scanner get the same frames from a
FrameHub instead of taking turns reading the camera."""
from __future__ import annotations

import io
import threading
from pathlib import Path

import cv2
import numpy as np

from hardware.camera import SimulatedCamera
from hardware.events import CodeScanned
from hardware.frame_hub import FrameHub, FrameTap, share_cameras
from hardware.scanner import CameraScanner, CameraScannerConfig

DATA = Path(__file__).parents[1] / "data"


def qr_frame() -> np.ndarray:
    code = cv2.imread(str(DATA / "codes" / "qrcode-3_01.png"))
    frame = np.full((480, 640, 3), 200, np.uint8)
    h, w = min(code.shape[0], 480), min(code.shape[1], 640)
    frame[:h, :w] = code[:h, :w]
    return frame


def test_two_consumers_see_the_same_frames_from_one_reader():
    camera = SimulatedCamera([qr_frame()], fps=20)
    hub = FrameHub(camera)
    face, codes = hub.tap("face"), hub.tap("codes")
    seen: dict[str, list[int]] = {"face": [], "codes": []}

    def consume(tap: FrameTap, name: str) -> None:
        while len(seen[name]) < 15:
            frame = tap.read()
            if frame is not None:
                seen[name].append(frame.index)

    hub.open()
    try:
        threads = [threading.Thread(target=consume, args=(t, n)) for t, n in ((face, "face"), (codes, "codes"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    finally:
        hub.close()
    # taking turns, the two would never see the same frame; sharing, they see (almost) all of them
    assert len(set(seen["face"]) & set(seen["codes"])) >= 10
    assert all(b > a for a, b in zip(seen["face"], seen["face"][1:]))      # newest first, never twice
    assert hub.frames_read == camera.status().frames                          # one reader: the hub


def test_a_code_scanner_on_the_face_camera_reads_a_tap_and_never_blocks_the_core_loop():
    from core.clock import SystemClock

    camera = SimulatedCamera([qr_frame()], fps=10)
    camera.name = "cam"
    scanner = CameraScanner(CameraScannerConfig(type="camera_scanner", name="codes", camera="cam",
                                                every_nth_frame=1), clock=SystemClock(), camera=camera)
    devices = {"cam": camera, "codes": scanner}
    hubs = share_cameras(devices, face_camera="cam")
    assert set(hubs) == {"cam"} and isinstance(scanner.camera, FrameTap)
    face = hubs["cam"].tap("face")
    assert scanner.poll() == []                      # no frame yet: the poll returns at once
    scanner.open()                                   # opens the hub (the camera's one reader)
    try:
        events = []
        for _ in range(40):
            events += scanner.poll()
            if face.read() is not None and events:
                break
        assert [type(e) for e in events] == [CodeScanned] and face.frames >= 1
    finally:
        hubs["cam"].close()


def test_a_camera_nobody_shares_is_left_alone():
    camera = SimulatedCamera([qr_frame()], fps=10)
    assert share_cameras({"cam": camera}, face_camera="cam") == {}


def test_the_runner_gives_the_face_loop_and_the_scanner_one_frame_source(tmp_path):
    from core.clock import SystemClock
    from terminal.runner import Runner
    from terminal.store import Store, load_data_key
    from tests.sync.rig import ALL_DAY
    from tests.terminal.helpers import make_config

    data_dir = tmp_path / "data"
    Store.open(data_dir / "terminal.db", load_data_key(data_dir), SystemClock()).close()
    photo = str(Path(__file__).parents[1] / "data" / "faces" / "Jackie_Chan_0002.jpg")
    devices = [{"type": "simulated_camera", "name": "camera", "role": "rgb", "files": [photo], "fps": 10},
               {"type": "camera_scanner", "name": "codes", "camera": "camera"}]
    runner = Runner(make_config(data_dir, meal_periods=ALL_DAY, devices=devices), out=io.StringIO())
    try:
        hub = runner.hubs["camera"]
        assert isinstance(runner.face.camera, FrameTap) and runner.face.camera.hub is hub
        assert isinstance(runner.devices["codes"].camera, FrameTap) and runner.devices["codes"].camera.hub is hub
    finally:
        runner.store.close()
