"""The software plate reader on real photos (CCPD car-park pictures and LPRNet plate crops)."""
from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from hardware.plates.evaluate import ManifestError, read_manifest
from hardware.plates.ocr import PlateOCR, pick_plate, plate_texts
from terminal.cli import app

DATA = Path(__file__).parents[1] / "data" / "plates"


@pytest.fixture(scope="module")
def ocr() -> PlateOCR:
    return PlateOCR()


@pytest.mark.parametrize("file, plate, colour", [
    ("rpnet_demo_3.jpg", "皖AMK620", "blue"),
    ("sample_fn_fn5.jpg", "浙G857PM", "blue"),       # a dealer's phone number on the frame too
    ("green_ccpd_22.jpg", "皖AF05568", "green"),     # new-energy, 8 characters
    ("lprnet_0004.jpg", "沪AMS087", "blue"),         # a 94x24 crop, already cut out
    ("lprnet_0923.jpg", "皖GC2689", "blue"),
])
def test_plates_in_real_photos_are_read(ocr, file, plate, colour):
    reading = ocr.read(cv2.imread(str(DATA / file)))
    assert reading is not None
    assert (reading.plate.text, reading.plate.colour) == (plate, colour)


def test_a_picture_without_a_plate_reads_as_nothing(ocr):
    assert ocr.read(cv2.imread(str(DATA / "sample_np_np0.jpg"))) is None


def test_tiny_and_mono_frames_never_give_a_wrong_plate(ocr):
    assert ocr.read(cv2.imread(str(DATA / "sample_np_np0.jpg"))[:5, :5]) is None
    gray = ocr.read(cv2.cvtColor(cv2.imread(str(DATA / "rpnet_demo_3.jpg")), cv2.COLOR_BGR2GRAY))
    assert gray is None or gray.plate.text == "皖AMK620"     # a mono camera: right or nothing


@pytest.mark.parametrize("text, tokens", [
    ("皖A·MK620", ["皖AMK620"]),
    ("销售：85681788 浙G·857PM", ["浙G857PM"]),
    ("1皖A·F05568|", ["皖AF05568"]),
    ("A-88602", []),                                # no province: never guessed
    ("皖AD197691", []),                             # 9 characters: not cut down to a plate
])
def test_plate_tokens_are_cut_out_but_never_shortened(text, tokens):
    assert plate_texts(text) == tokens


def test_the_plate_must_fit_the_colour_it_was_read_from():
    assert pick_plate("皖AD19769", "green").kind == "new_energy_small"
    assert pick_plate("皖AD19769", "blue") is None            # new-energy digits on a blue plate
    assert pick_plate("皖AD1976", "green") is None            # 7 characters on a green plate
    assert pick_plate("皖AMK62O", "blue").text == "皖AMK620"   # O is never in a serial


def test_evaluate_command_prints_each_read_and_the_summary():
    result = CliRunner().invoke(app, ["plate", "evaluate", str(DATA / "MANIFEST.csv")])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 5
    assert "sample_np_np0.jpg expected=- read=- " in result.output
    assert lines[-1].startswith("exact=4/4 median_ms=")


def test_evaluate_refuses_a_broken_manifest(tmp_path):
    (tmp_path / "m.csv").write_text("file,plate\nmissing.jpg,皖A12345\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="not found"):
        read_manifest(tmp_path / "m.csv")
    (tmp_path / "n.csv").write_text("name,label\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["plate", "evaluate", str(tmp_path / "n.csv")])
    assert result.exit_code == 2


def test_read_command_prints_the_plate_or_says_there_is_none():
    found = CliRunner().invoke(app, ["plate", "read", str(DATA / "rpnet_demo_3.jpg")])
    assert found.exit_code == 0 and '"plate": "皖AMK620"' in found.output
    missing = CliRunner().invoke(app, ["plate", "read", str(DATA / "crops.csv")])
    assert missing.exit_code == 2 and "Cannot open image" in missing.output
