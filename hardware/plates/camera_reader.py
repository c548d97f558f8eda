"""Plates read by software from a lane camera's frames — the fallback when no LPR camera is
fitted (`type: camera_plate_reader`, naming the camera device whose frames it reads).

One frame in `every_nth_frame` goes through PlateOCR. A plate becomes a PlateRead only when
`confirm_reads` processed frames within `confirm_window_s` agree on it (one lucky misread of
a passing van must not charge anyone), and the same plate is not reported again for
`repeat_s` (the car waits at the barrier for many frames). The frame of the best read is saved
as the event's image. The OCR models load in open(), never when the device is built.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field

from hardware.base import (NAME_PATTERN, BuildContext, CheckResult, Clock, DeviceConfigBase, DeviceError, EventSource,
                           FrameStep)
from hardware.events import PlateRead
from hardware.spec import DeviceKind, DriverSpec


class CameraPlateReaderConfig(DeviceConfigBase):
    type: Literal["camera_plate_reader"] = Field(title="Type", description="Plates read by software "
                                                 "from a camera's frames (no LPR camera fitted).")
    camera: str = Field(title="Camera / 摄像头", description="Name of the camera device whose "
                        "frames are read.", pattern=NAME_PATTERN)
    direction: Literal["in", "out", "unknown"] = Field("unknown", title="Direction / 方向",
                                                      description="Entry or exit lane.")
    image_dir: Path = Field(title="Image folder / 图片目录", description="Where the frame of each "
                            "read is saved.")
    every_nth_frame: int = Field(5, title="Frame step / 隔帧", description="Read one frame in this "
                                 "many (the reader takes 0.1-1 s per frame on a small terminal).",
                                 ge=1, le=60)
    confirm_reads: int = Field(2, title="Confirming reads / 确认次数", description="Frames that "
                               "must agree on a plate before it counts.", ge=1, le=10)
    confirm_window_s: float = Field(3.0, title="Confirm window (s) / 确认时限（秒）", description="Those frames must "
                                    "fall within this time.", gt=0, le=30)
    repeat_s: float = Field(30.0, title="Repeat hold-off (s) / 重复间隔", description="The same plate "
                            "is not reported again within this time.", ge=0, le=600)
    min_score: float = Field(0.90, title="Minimum confidence / 最低置信度", description="Reads below this "
                             "recogniser confidence are ignored.", ge=0.5, le=1.0)


@dataclass
class _Sighting:
    first_at: datetime
    first_mono: float
    count: int
    best_score: float
    best_image: object


class CameraPlateReader:
    def __init__(self, config: CameraPlateReaderConfig, clock: Clock, camera,  # noqa: ANN001
                 ocr=None) -> None:  # noqa: ANN001 - hardware.camera.Camera, PlateOCR
        self.name = config.name
        self.config = config
        self.clock = clock
        self.camera = camera
        self.ocr = ocr
        self._frames = FrameStep(config.every_nth_frame)
        self._sightings: dict[str, _Sighting] = {}
        self._reported: dict[str, float] = {}

    def open(self) -> None:
        if self.ocr is None:
            from hardware.plates.ocr import PlateOCR
            self.ocr = PlateOCR(min_score=self.config.min_score)
        self.camera.open()

    def close(self) -> None:
        return None  # the camera belongs to its own device entry; it is closed there

    def poll(self, timeout_s: float = 0.0) -> list[PlateRead]:
        """The device loop's call, like every polled device's (the runner passes 0.0: a camera
        frame is read when there is one, never waited for)."""
        frame = self._frames.take(self.camera)
        return [] if frame is None else self.feed_image(frame.image, frame.at)

    def feed_image(self, image, at: datetime | None = None) -> list[PlateRead]:  # noqa: ANN001
        if self.ocr is None:
            self.open()
        now = self.clock.monotonic()
        self._expire(now)
        reading = self.ocr.read(image)
        if reading is None:
            return []
        plate = reading.plate.text
        seen = self._sightings.get(plate)
        if seen is None:
            seen = self._sightings[plate] = _Sighting(at or self.clock.now(), now, 0, 0.0, None)
        seen.count += 1
        if reading.score >= seen.best_score:
            seen.best_score, seen.best_image = reading.score, image
        if seen.count < self.config.confirm_reads or plate in self._reported:
            return []
        self._reported[plate] = now
        del self._sightings[plate]
        return [PlateRead(plate=plate, colour=reading.plate.colour or "unknown",
                          confidence=seen.best_score, direction=self.config.direction,
                          at=seen.first_at, camera=self.name,
                          image_ref=self._save(seen.best_image, plate, seen.first_at))]

    def _expire(self, now: float) -> None:
        self._sightings = {p: s for p, s in self._sightings.items()
                           if now - s.first_mono <= self.config.confirm_window_s}
        self._reported = {p: t for p, t in self._reported.items() if now - t < self.config.repeat_s}

    def _save(self, image, plate: str, at: datetime) -> str | None:  # noqa: ANN001
        import cv2

        folder = self.config.image_dir / self.name / at.strftime("%Y%m%d")
        path = folder / f"{at.strftime('%H%M%S%f')}_{plate}.jpg"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(path), image):
                return None
        except (OSError, cv2.error):
            return None
        return str(path)

    def self_test(self) -> CheckResult:
        try:
            self.open()
            frame = self.camera.read()
        except DeviceError as exc:
            return exc.as_check(self.name)
        except Exception as exc:  # noqa: BLE001 - any camera or model failure is reported
            return CheckResult(self.name, False, f"车牌识别无法启动：{exc}", f"plate reader cannot start: {exc}",
                               "检查摄像头和软件安装", "check the camera and the installation")
        if frame is None:
            return CheckResult(self.name, False, f"摄像头 {self.config.camera} 没有画面",
                               f"camera {self.config.camera} gives no picture",
                               "检查摄像头连线", "check the camera's cable")
        return CheckResult.passed(self.name, "摄像头有画面，车牌识别模型已加载",
                                  "camera gives frames; the plate reader is loaded")


def build_camera_plate_reader(config: CameraPlateReaderConfig, ctx: BuildContext) -> CameraPlateReader:
    return CameraPlateReader(config, ctx.clock, ctx.camera(config.camera))


# Its own kind, not a plate camera: it has no barrier output and is tested like any polled device.
PLATE_READER = DeviceKind("plate_reader", ("软件车牌识别", "Plate reader (software)"))
DRIVERS = (
    DriverSpec("camera_plate_reader", PLATE_READER, ("软件识别车牌（普通摄像头）", "Plates read by software (any camera)"),
               CameraPlateReaderConfig, build_camera_plate_reader, (EventSource,)),
)
