"""Cameras: the `Camera` protocol, the real OpenCV driver and a simulator, with their configs.

A camera hands out `Frame`s (BGR uint8 image + when it was taken). `read()` blocks until the
next frame is due, like a real capture does, and returns None when no frame could be had (the
camera dropped and is reconnecting, or a simulator ran out of frames); the caller just calls
again. Time comes from an injected `Clock`, so tests play a 15 fps video in zero wall time.

The real driver opens a USB index ("0"), an RTSP/HTTP URL or a video file. When reads fail
it closes the capture and reopens it with exponential backoff, reporting its state — a camera
unplugged for a minute comes back on its own. Opening a camera happens in `open()`/`read()`,
never on import or construction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import Field, field_validator

from core.clock import Clock, SystemClock
from hardware.base import NAME_PATTERN, CheckResult, DeviceConfigBase, DeviceError, FrameSource
from hardware.spec import DeviceKind, DriverSpec

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v"}


@dataclass(frozen=True)
class Frame:
    image: np.ndarray = field(repr=False)   # BGR uint8 (H, W, 3), as OpenCV delivers it
    at: datetime                            # wall time the frame was taken
    monotonic: float                        # clock.monotonic() at capture, for intervals
    index: int                              # 0, 1, 2... per camera since it was built


class CameraState(str, Enum):
    CLOSED = "closed"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"   # dropped or never opened; retrying with backoff
    ENDED = "ended"                 # a simulator that has played all its frames


@dataclass(frozen=True)
class CameraStatus:
    state: CameraState
    frames: int
    reconnects: int
    last_error: str | None


@runtime_checkable
class Camera(Protocol):
    name: str

    def open(self) -> None: ...
    def read(self) -> Frame | None: ...
    def close(self) -> None: ...
    def status(self) -> CameraStatus: ...


# ---------------------------------------------------------------- configs

class OpenCVCameraConfig(DeviceConfigBase):
    """A real camera read through OpenCV. `simulated: true` plays a grey test picture instead."""

    type: Literal["opencv_camera"] = Field("opencv_camera", title="Driver",
                                           description="USB, network or file camera through OpenCV")
    name: str = Field("camera", title="Name / 名称", description="Unique name of this camera on the "
                      "terminal; events and doctor output use it.", pattern=NAME_PATTERN)
    role: Literal["rgb", "infrared"] = Field(
        "rgb", title="Role / 用途", description="rgb: the face camera; infrared: second camera for liveness")
    source: str = Field(title="Source / 视频源", min_length=1, max_length=500,
                        description="USB index (0, 1, ...), an rtsp:// or http(s):// URL, or a video file path")
    width: int | None = Field(None, title="Width (px) / 宽度（像素）", description="Requested frame width in pixels",
                              ge=160, le=3840)
    height: int | None = Field(None, title="Height (px) / 高度（像素）", description="Requested frame height in pixels",
                               ge=120, le=2160)
    reconnect_initial_s: float = Field(0.5, title="First retry after (s) / 首次重连等待（秒）",
                                       description="Wait before the first reconnect attempt", ge=0.05, le=10)
    reconnect_max_s: float = Field(10.0, title="Longest retry wait (s) / 最长重连等待（秒）",
                                   description="Backoff doubles up to this", ge=0.5, le=300)
    failures_before_reconnect: int = Field(
        3, title="Failed reads before reconnect / 连续读帧失败几次后重连", description="Consecutive failed reads that mean "
        "the camera dropped", ge=1, le=100)
    timeout_ms: int = Field(5000, title="Open/read timeout (ms) / 打开和读帧超时（毫秒）",
                            description="For network streams: give up on a dead stream after this", ge=500, le=60000)


class SimulatedCameraConfig(DeviceConfigBase):
    """Plays image files or a video as a camera would, at a set frame rate."""

    type: Literal["simulated_camera"] = Field("simulated_camera", title="Driver",
                                              description="Image files or a video played as a camera")
    name: str = Field("camera", title="Name / 名称", description="Unique name of this camera on the "
                      "terminal; events and doctor output use it.", pattern=NAME_PATTERN)
    role: Literal["rgb", "infrared"] = Field("rgb", title="Role / 用途", description="rgb or infrared")
    files: list[str] = Field(title="Files / 图片或视频文件", description="Image files (played in order) or one video file",
                             min_length=1, max_length=10000)
    fps: float = Field(15.0, title="Frames per second / 每秒帧数", description="Playback rate", gt=0, le=120)
    loop: bool = Field(True, title="Loop / 循环播放", description="Start again after the last frame")

    @field_validator("files")
    @classmethod
    def _not_blank(cls, files: list[str]) -> list[str]:
        if any(not f.strip() for f in files):
            raise ValueError("file names must not be blank")
        return files


CameraConfig = OpenCVCameraConfig | SimulatedCameraConfig


# ---------------------------------------------------------------- real driver

def parse_source(source: str) -> int | str:
    """'0' -> USB index 0; URLs and paths stay text."""
    text = source.strip()
    return int(text) if text.isdigit() else text


class OpenCVCamera:
    def __init__(self, config: OpenCVCameraConfig, clock: Clock | None = None):
        self.name = config.name
        self._cfg = config
        self._clock = clock or SystemClock()
        self._sleep = self._clock.sleep
        self._source = parse_source(config.source)
        self._cap = None   # cv2.VideoCapture while open
        self._state = CameraState.CLOSED
        self._next_attempt = 0.0
        self._backoff = config.reconnect_initial_s
        self._failures = 0
        self._frames = 0
        self._reconnects = 0
        self._opened_once = False
        self._last_error: str | None = None

    def status(self) -> CameraStatus:
        return CameraStatus(self._state, self._frames, self._reconnects, self._last_error)

    def open(self) -> None:
        """Try to open now; on failure the camera stays RECONNECTING and read() retries."""
        if not self._try_open():
            self._schedule_retry()

    def _try_open(self) -> bool:
        import cv2

        params: list[int] = []
        if isinstance(self._source, str) and "://" in self._source:
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, self._cfg.timeout_ms,
                      cv2.CAP_PROP_READ_TIMEOUT_MSEC, self._cfg.timeout_ms]
        if isinstance(self._source, str) and "://" not in self._source and not Path(self._source).exists():
            self._last_error = f"video file not found: {self._source}"
            return False
        try:
            cap = cv2.VideoCapture(self._source, cv2.CAP_ANY, params)
        except cv2.error as exc:
            self._last_error = f"cannot open {self._cfg.source}: {exc}"
            return False
        if not cap.isOpened():
            cap.release()
            self._last_error = f"cannot open {self._cfg.source}"
            return False
        if self._cfg.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self._cfg.width)
        if self._cfg.height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self._cfg.height)
        self._cap = cap
        if self._opened_once:
            self._reconnects += 1
        self._opened_once = True
        self._state = CameraState.STREAMING
        self._failures = 0
        self._backoff = self._cfg.reconnect_initial_s
        return True

    def _schedule_retry(self) -> None:
        self._state = CameraState.RECONNECTING
        self._next_attempt = self._clock.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self._cfg.reconnect_max_s)

    def _drop(self, reason: str) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        self._last_error = reason
        self._schedule_retry()

    def read(self) -> Frame | None:
        import cv2

        if self._state in (CameraState.CLOSED, CameraState.RECONNECTING):
            self._sleep(self._next_attempt - self._clock.monotonic())
            if not self._try_open():
                self._schedule_retry()
                return None
        assert self._cap is not None
        ok, image = self._cap.read()
        if not ok or image is None or image.size == 0:
            self._failures += 1
            if self._failures >= self._cfg.failures_before_reconnect:
                self._drop(f"camera {self.name} stopped delivering frames")
            return None
        self._failures = 0
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        frame = Frame(image, self._clock.now(), self._clock.monotonic(), self._frames)
        self._frames += 1
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        self._state = CameraState.CLOSED
        self._next_attempt = 0.0

    def self_test(self) -> CheckResult:
        missing = self._missing_source()
        if missing is not None:       # said at once, by name: no 15 s wait for a camera that is not there
            from hardware.discovery import camera_nodes

            seen = camera_nodes()
            return CheckResult(self.name, False, f"找不到摄像头 {self.name} 的视频源 {missing}",
                               f"camera {self.name}: its source {missing} does not exist",
                               "检查摄像头 USB 线，或把 source 改成本机能看到的摄像头：" + ("、".join(seen) or "（本机没有发现摄像头）"),
                               "check the camera's USB cable, or set source to a camera this machine sees: "
                               + (", ".join(seen) or "(no cameras found on this machine)"))
        return camera_self_test(self)

    def _missing_source(self) -> str | None:
        """The local device or file the source names, when it does not exist (None: it exists,
        or it is a stream URL that only a try can check)."""
        if isinstance(self._source, int):
            node = Path(f"/dev/video{self._source}")
            return str(node) if Path("/dev").is_dir() and not node.exists() else None
        if "://" in self._source:
            return None
        return None if Path(self._source).exists() else self._source


# ---------------------------------------------------------------- simulator

def load_frames(files: list[str | Path]) -> list[np.ndarray]:
    """Decode image files, or every frame of one video file, into BGR arrays."""
    import cv2

    paths = [Path(f) for f in files]
    if len(paths) == 1 and paths[0].suffix.lower() in VIDEO_SUFFIXES:
        cap = cv2.VideoCapture(str(paths[0]))
        frames = []
        try:
            while True:
                ok, img = cap.read()
                if not ok:
                    break
                frames.append(img)
        finally:
            cap.release()
        if not frames:
            raise ValueError(f"no frames in video {paths[0]}")
        return frames
    frames = []
    for p in paths:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise CameraFileError(p)
        frames.append(img)
    return frames


class CameraFileError(DeviceError, ValueError):
    """A simulated camera's picture is missing or is not an image (the doctor and the wizard
    report it on that camera's line, instead of a traceback)."""

    def __init__(self, path: Path):
        what_zh, what_en = ("文件不存在", "no such file") if not path.exists() else ("不是图片", "not an image")
        super().__init__(f"读不了摄像头图片 {path}（{what_zh}）", f"cannot read image {path} ({what_en})",
                         "检查配置中 files 的路径", "check the path in the camera's `files`")


class SimulatedCamera:
    """Hands out prepared frames at `fps`: frame k is due at open time + k/fps. A caller that
    falls behind gets the frame that is due now (older ones are skipped, as a live camera
    would), so timing stays real."""

    def __init__(self, frames: list[np.ndarray], fps: float = 15.0, loop: bool = True,
                 clock: Clock | None = None, name: str = "camera"):
        if not frames:
            raise ValueError("a simulated camera needs at least one frame")
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.name = name
        self._images = frames
        self._period = 1.0 / fps
        self._loop = loop
        self._clock = clock or SystemClock()
        self._sleep = self._clock.sleep
        self._state = CameraState.CLOSED
        self._t0 = 0.0
        self._next_tick = 0
        self._frames = 0

    @classmethod
    def from_config(cls, config: SimulatedCameraConfig, clock: Clock | None = None) -> SimulatedCamera:
        return cls(load_frames(config.files), config.fps, config.loop, clock, config.name)

    def status(self) -> CameraStatus:
        return CameraStatus(self._state, self._frames, 0, None)

    def open(self) -> None:
        self._state = CameraState.STREAMING
        self._t0 = self._clock.monotonic()
        self._next_tick = 0

    def read(self) -> Frame | None:
        if self._state is CameraState.CLOSED:
            self.open()
        if self._state is CameraState.ENDED:
            return None
        elapsed = self._clock.monotonic() - self._t0
        due_tick = max(self._next_tick, int(elapsed / self._period + 1e-9))
        self._sleep(self._t0 + due_tick * self._period - self._clock.monotonic())
        n = len(self._images)
        if not self._loop and due_tick >= n:
            self._state = CameraState.ENDED
            return None
        self._next_tick = due_tick + 1
        frame = Frame(self._images[due_tick % n], self._clock.now(), self._clock.monotonic(), self._frames)
        self._frames += 1
        return frame

    def close(self) -> None:
        self._state = CameraState.CLOSED

    def self_test(self) -> CheckResult:
        return camera_self_test(self)


def camera_self_test(camera: Camera, tries: int = 5) -> CheckResult:
    """Open, take a frame (a few tries: a camera needs a moment), say in plain words."""
    try:
        camera.open()
        frame = None
        for _ in range(tries):
            frame = camera.read()
            if frame is not None:
                break
    except Exception as exc:  # noqa: BLE001 - any driver failure becomes a message
        return CheckResult(camera.name, False, f"摄像头 {camera.name} 出错：{exc}",
                           f"camera {camera.name} failed: {exc}", "检查摄像头连线和配置中的来源",
                           "check the camera cable and the source in the config")
    if frame is None:
        error = camera.status().last_error or "no picture"
        return CheckResult(camera.name, False, f"摄像头 {camera.name} 没有画面（{error}）",
                           f"camera {camera.name} gives no picture ({error})",
                           "检查摄像头连线、编号或网址", "check the cable, the USB index or the stream URL")
    h, w = frame.image.shape[:2]
    return CheckResult.passed(camera.name, f"摄像头有画面（{w}x{h}）", f"camera delivers pictures ({w}x{h})")


def build_camera(config: CameraConfig, clock: Clock | None = None) -> Camera:
    """Build (not open) the camera a config describes."""
    if isinstance(config, SimulatedCameraConfig):
        return SimulatedCamera.from_config(config, clock)
    if config.simulated:
        test_picture = np.full((config.height or 480, config.width or 640, 3), 128, np.uint8)
        return SimulatedCamera([test_picture], 15.0, True, clock, config.name)
    return OpenCVCamera(config, clock)


def build_camera_device(config: CameraConfig, ctx) -> Camera:  # noqa: ANN001 - hardware.base.BuildContext
    """Registry builder (hardware.registry): builds, never opens."""
    return build_camera(config, ctx.clock)


CAMERA = DeviceKind("camera", ("人脸摄像头", "Face camera"))
DRIVERS = (
    DriverSpec("opencv_camera", CAMERA, ("USB 或网络摄像头", "USB or network camera"), OpenCVCameraConfig,
               build_camera_device, (FrameSource,)),
    DriverSpec("simulated_camera", CAMERA, ("模拟摄像头（播放图片，不可投入使用）", "Simulated camera (plays pictures; "
               "not for service)"), SimulatedCameraConfig, build_camera_device, (FrameSource,)),
)
