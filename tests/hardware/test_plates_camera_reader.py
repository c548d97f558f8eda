"""Software plate reading from a camera's frames (the lane has no LPR camera): real photos
played by the simulated camera, confirmed over frames, reported once."""
from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from core.clock import DEFAULT_START, ManualClock
from hardware.camera import SimulatedCamera
from hardware.plates.camera_reader import CameraPlateReader, CameraPlateReaderConfig
from hardware.plates.ocr import PlateOCR

DATA = Path(__file__).parents[1] / "data" / "plates"
CAR = cv2.imread(str(DATA / "rpnet_demo_3.jpg"))
OTHER = cv2.imread(str(DATA / "sample_fn_fn5.jpg"))


@pytest.fixture(scope="module")
def ocr() -> PlateOCR:
    return PlateOCR()


def reader_for(frames, tmp_path, ocr, **over) -> tuple[CameraPlateReader, ManualClock]:
    clock = ManualClock()
    config = CameraPlateReaderConfig(type="camera_plate_reader", name="exit-cam-lpr", camera="cam",
                                     direction="out", image_dir=tmp_path, every_nth_frame=1, **over)
    camera = SimulatedCamera(frames, fps=5, loop=False, clock=clock, name="cam")
    return CameraPlateReader(config, clock, camera, ocr), clock


def drain(reader: CameraPlateReader, frames: int) -> list:
    out = []
    for _ in range(frames):
        out += reader.poll()
    return out


def test_a_car_seen_in_several_frames_is_reported_once_with_its_picture(tmp_path, ocr):
    reader, clock = reader_for([CAR, CAR, CAR], tmp_path, ocr)
    reads = drain(reader, 3)
    assert [(r.plate, r.colour, r.direction, r.camera) for r in reads] == \
        [("皖AMK620", "blue", "out", "exit-cam-lpr")]
    assert reads[0].at == DEFAULT_START                                  # the first sighting
    assert cv2.imread(reads[0].image_ref) is not None


def test_one_frame_alone_does_not_make_a_read(tmp_path, ocr):
    reader, _ = reader_for([OTHER, CAR], tmp_path, ocr)
    assert drain(reader, 2) == []
