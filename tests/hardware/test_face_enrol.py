"""Enrolment (face signing) and the `gatepay face evaluate` command on real photos."""
from __future__ import annotations

import csv
import re
import shutil

import numpy as np
from typer.testing import CliRunner

from hardware.face.enrol import Enroller
from terminal.cli import app
from tests.hardware.facekit import DATA, PEOPLE, photo, signed_engine


def test_enrolling_a_new_person_from_live_camera_frames_adds_them_and_they_then_match():
    from core.clock import ManualClock
    from hardware.camera import SimulatedCamera

    eng = signed_engine()
    camera = SimulatedCamera([photo("Hu_Jintao_0001.jpg")], fps=10, clock=ManualClock())
    result = Enroller(eng).enrol(50, [camera.read()])
    assert result.ok and result.templates.shape == (1, 128) and 50 in eng.gallery
    assert eng.identify(result.templates[0]).person_id == 50


def test_a_face_already_signed_to_someone_else_is_refused():
    eng = signed_engine()
    result = Enroller(eng).enrol(50, [photo("Jackie_Chan_0002.jpg")])
    assert not result.ok and result.reason == "duplicate"
    assert result.duplicate_of == PEOPLE["Jackie_Chan"] and 50 not in eng.gallery


def test_re_enrolling_the_same_person_with_more_photos_is_allowed():
    eng = signed_engine()
    result = Enroller(eng).enrol(PEOPLE["Jackie_Chan"], [photo("Jackie_Chan_0002.jpg")])
    assert result.ok


def test_unusable_photos_are_listed_with_their_reason():
    eng = signed_engine()
    images = [np.full((300, 300, 3), 128, np.uint8), photo("Recep_Tayyip_Erdogan_0004.jpg"),
              np.zeros((3, 3), np.float64)]
    result = Enroller(eng).enrol(51, images)
    assert not result.ok and result.reason == "no_usable_face"
    assert result.rejected == ((0, "no_face"), (1, "not_frontal"), (2, "bad_frame"))


def test_evaluate_prints_tar_and_far_as_its_last_line(tmp_path):
    cache = tmp_path / "faces.cache"
    cache.write_bytes(b"PK\x03\x04 damaged")      # a damaged cache only costs time
    args = ["face", "evaluate", str(DATA / "MANIFEST.csv"), "--cache", str(cache)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    m = re.fullmatch(r"TAR=([0-9.]+) FAR=([0-9.]+) confirm_TAR=([0-9.]+) confirm_FAR=([0-9.]+) "
                     r"enrolled=(\d+) genuine=(\d+) impostor=(\d+)", last)
    assert m, last
    # 4 identities with 2+ photos: Annette_Lu and Ron_Dittemore are enrolled (every other by
    # name), Jackie_Chan and Tang_Jiaxuan become impostors with the 4 singles (Erdogan's
    # turned head is unusable).
    assert m.group(5) == "2" and m.group(6) == "2" and m.group(7) == "9"
    assert float(m.group(2)) == 0.0 and float(m.group(4)) == 0.0
    # rerun from the cache (written under the name given) gives the same figures
    assert cache.stat().st_size > 1000 and not (tmp_path / "faces.cache.npz").exists()
    again = CliRunner().invoke(app, args)
    assert again.output.strip().splitlines()[-1] == last


def test_evaluate_explains_a_broken_manifest(tmp_path):
    bad = tmp_path / "MANIFEST.csv"
    bad.write_text("name,who\nx.jpg,someone\n")
    result = CliRunner().invoke(app, ["face", "evaluate", str(bad)])
    assert result.exit_code == 2 and "identity" in result.output


def test_evaluate_counts_missing_and_corrupt_images_as_unusable(tmp_path):
    for name in ("Tang_Jiaxuan_0001.jpg", "Tang_Jiaxuan_0002.jpg"):
        shutil.copy(DATA / name, tmp_path / name)
    (tmp_path / "broken.jpg").write_bytes((DATA / "Tang_Jiaxuan_0003.jpg").read_bytes()[:300])
    with open(tmp_path / "MANIFEST.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerows([["file", "identity", "role"], ["Tang_Jiaxuan_0001.jpg", "T", "identity"],
                     ["Tang_Jiaxuan_0002.jpg", "T", "identity"], ["broken.jpg", "T", "identity"],
                     ["gone.jpg", "X", "single"]])
    result = CliRunner().invoke(app, ["face", "evaluate", str(tmp_path / "MANIFEST.csv")])
    assert result.exit_code == 0, result.output
    assert "unusable_photos=2" in result.output
    assert result.output.strip().splitlines()[-1].endswith("enrolled=1 genuine=1 impostor=0")

