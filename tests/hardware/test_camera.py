"""Cameras: the simulator's timing, the real OpenCV driver on real video files, reconnecting
after the source vanishes, and config validation."""
from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from core.clock import ManualClock
from hardware.camera import (
    CameraState, OpenCVCamera, OpenCVCameraConfig, SimulatedCamera,
    SimulatedCameraConfig, build_camera, load_frames,
)

DATA = Path(__file__).parents[1] / "data" / "faces"


def write_video(path: Path, frames: int, size=(64, 48)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, size)
    for i in range(frames):
        img = np.full((size[1], size[0], 3), 20 * i % 255, np.uint8)
        writer.write(img)
    writer.release()


def test_simulator_delivers_frames_at_the_set_rate_on_the_injected_clock():
    clock = ManualClock()
    t0 = clock.monotonic()
    images = [np.full((48, 64, 3), v, np.uint8) for v in (0, 1, 2, 3, 4, 5, 6)]
    cam = SimulatedCamera(images, fps=10, loop=False, clock=clock)
    times = []
    for _ in range(3):
        frame = cam.read()
        times.append(round(frame.monotonic - t0, 6))
    assert times == [0.0, 0.1, 0.2]
    # A caller that falls behind gets the frame due now, not a backlog of old ones.
    clock.advance(0.35)
    late = cam.read()
    assert int(late.image[0, 0, 0]) == 5 and late.index == 3
    assert cam.read().image[0, 0, 0] == 6
    assert cam.read() is None and cam.status().state is CameraState.ENDED


def test_simulator_loops_and_plays_image_files_from_config():
    clock = ManualClock()
    t0 = clock.monotonic()
    cfg = SimulatedCameraConfig(name="face_cam", files=[str(DATA / "image_T1.jpg"), str(DATA / "image_F1.jpg")], fps=5)
    cam = build_camera(cfg, clock)
    shapes = [cam.read().image.shape for _ in range(5)]
    assert shapes == [(640, 480, 3)] * 5
    assert clock.monotonic() - t0 == pytest.approx(0.8)


def test_simulator_plays_a_video_file():
    frames = load_frames([DATA / "short_hamilton_clip.mp4"])
    assert len(frames) > 10 and frames[0].ndim == 3


def test_real_driver_reads_a_real_video_file():
    cam = OpenCVCamera(OpenCVCameraConfig(source=str(DATA / "short_hamilton_clip.mp4")), ManualClock())
    cam.open()
    frame = cam.read()
    assert frame is not None and frame.image.dtype == np.uint8 and frame.image.shape[2] == 3
    assert cam.status().state is CameraState.STREAMING


def test_real_driver_reconnects_with_backoff_after_the_source_vanishes(tmp_path):
    video = tmp_path / "cam.avi"
    write_video(video, 4)
    clock = ManualClock()
    t0 = clock.monotonic()
    cam = OpenCVCamera(OpenCVCameraConfig(source=str(video), failures_before_reconnect=1,
                                          reconnect_initial_s=0.5, reconnect_max_s=4), clock)
    cam.open()
    assert [cam.read() is not None for _ in range(4)] == [True] * 4
    assert cam.read() is None                       # end of stream = the camera dropped
    assert cam.status().state is CameraState.RECONNECTING
    video.unlink()
    assert cam.read() is None                       # retried after 0.5 s: still gone
    assert clock.monotonic() - t0 == pytest.approx(0.5)
    assert "not found" in cam.status().last_error
    assert cam.read() is None                       # next retry waits twice as long
    assert clock.monotonic() - t0 == pytest.approx(1.5)
    write_video(video, 4)
    frame = cam.read()                              # back after 2 s more
    assert frame is not None and clock.monotonic() - t0 == pytest.approx(3.5)
    status = cam.status()
    assert status.state is CameraState.STREAMING and status.reconnects == 1 and status.frames == 5


def test_real_driver_on_a_missing_usb_camera_keeps_retrying_without_raising():
    clock = ManualClock()
    t0 = clock.monotonic()
    cam = OpenCVCamera(OpenCVCameraConfig(source="63", reconnect_initial_s=1, reconnect_max_s=2), clock)
    cam.open()
    assert [cam.read() for _ in range(3)] == [None, None, None]
    assert cam.status().state is CameraState.RECONNECTING
    assert "cannot open" in cam.status().last_error
    assert clock.monotonic() - t0 == pytest.approx(1 + 2 + 2)   # backoff capped at reconnect_max_s


def test_camera_configs_refuse_typos_and_out_of_range_values():
    with pytest.raises(ValidationError, match="extra"):
        OpenCVCameraConfig(source="0", fps=30)
    with pytest.raises(ValidationError):
        OpenCVCameraConfig(source="0", reconnect_max_s=0)
    with pytest.raises(ValidationError):
        SimulatedCameraConfig(files=[])
    with pytest.raises(ValidationError):
        SimulatedCameraConfig(files=["a.jpg"], fps=0)
    schema = OpenCVCameraConfig.model_json_schema()
    assert all("title" in p for p in schema["properties"].values())


def test_simulator_refuses_unreadable_files(tmp_path):
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(ValueError, match="cannot read image"):
        load_frames([bad])


def test_registry_builds_cameras_and_doctor_gets_plain_words():
    from hardware.registry import build_device, parse_devices

    clock = ManualClock()
    sim, gone = parse_devices([
        {"type": "simulated_camera", "name": "face_cam", "files": [str(DATA / "image_T1.jpg")]},
        {"type": "opencv_camera", "name": "ir_cam", "role": "infrared", "source": "63"},
    ])
    ok = build_device(sim, clock=clock).self_test()
    assert ok.ok and "480x640" in ok.en
    bad = build_device(gone, clock=clock).self_test()   # no /dev/video63: said at once, by name
    assert not bad.ok and "找不到摄像头 ir_cam" in bad.zh and "/dev/video63" in bad.en and "USB cable" in bad.fix_en
    with pytest.raises(ValueError):
        parse_devices([{"type": "opencv_camera", "name": "x", "source": "0", "fps": 30}])


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def _serve(folder: Path, port: int = 0) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(_QuietFiles, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_real_driver_reads_a_network_stream_and_comes_back_after_the_server_does(tmp_path):
    write_video(tmp_path / "cam.avi", 3)
    server = _serve(tmp_path)
    port = server.server_address[1]
    clock = ManualClock()
    cam = OpenCVCamera(OpenCVCameraConfig(source=f"http://127.0.0.1:{port}/cam.avi", timeout_ms=1000,
                                          failures_before_reconnect=1), clock)
    try:
        cam.open()
        assert [cam.read() is not None for _ in range(3)] == [True] * 3
        server.shutdown()
        server.server_close()
        assert cam.read() is None and cam.read() is None      # stream ended, server gone
        assert cam.status().state is CameraState.RECONNECTING
        assert "cannot open http://127.0.0.1" in cam.status().last_error
        server = _serve(tmp_path, port)
        assert cam.read() is not None and cam.status().reconnects == 1
    finally:
        cam.close()
        server.shutdown()
        server.server_close()
