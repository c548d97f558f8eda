"""Face models: their files checked at start, templates that carry their model, galleries that
never mix models, the rule for switching model, and close calls that ask to confirm."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from hardware.face.config import FaceConfig, LivenessConfig
from hardware.face.engine import FaceEngine
from hardware.face.frames import BadFrame, to_rgb
from hardware.face.gallery import Gallery, MixedModels
from hardware.face.models import MODELS, ModelFileError, bundled_model_dir
from hardware.face.pipeline import FacePipeline
from hardware.face.templates import Template, TemplateError, choose_model, pack, unpack
from hardware.events import FaceConfirm
from tests.hardware.facekit import PEOPLE, engine, photo, probe, signed_engine


@pytest.fixture
def model_copy(tmp_path):
    """The shipped model files, copied to a folder a test may damage."""
    for f in MODELS["sface"].files:
        shutil.copy(bundled_model_dir() / f.name, tmp_path / f.name)
    return tmp_path


def test_the_model_files_in_a_folder_load(model_copy):
    eng = FaceEngine(FaceConfig(model_dir=model_copy))
    assert eng.model.id == "sface" and eng.observe(to_rgb(photo("Jackie_Chan_0001.jpg"))) is not None


def test_a_corrupted_model_file_stops_the_engine_at_start_with_a_clear_error(model_copy):
    target = model_copy / "face_recognition_sface_2021dec_int8bq.onnx"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF                         # one flipped byte in the weights
    target.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="damaged or replaced") as err:
        FaceEngine(FaceConfig(model_dir=model_copy))     # building the engine, not the first diner
    assert "face_recognition_sface_2021dec_int8bq.onnx" in str(err.value) and "损坏" in str(err.value)


def test_a_missing_model_file_says_which_one(model_copy):
    (model_copy / "face_detection_yunet_2023mar_int8bq.onnx").unlink()
    with pytest.raises(ModelFileError, match="missing.*yunet"):
        FaceEngine(FaceConfig(model_dir=model_copy))


def test_templates_carry_their_model_and_old_ones_read_as_dlib():
    vector = probe("Jackie_Chan_0002.jpg")
    t = unpack(pack("sface", vector))
    assert t.model == "sface" and t.dimension == 128 and np.array_equal(t.vector, vector)
    old = unpack(np.asarray(vector, "<f4").tobytes())     # 512 bare bytes, as stored before model ids
    assert old.model == "dlib" and old.dimension == 128
    for bad in (b"", b"\x00" * 511, pack("sface", vector)[:-4], np.zeros(128, "<f4").tobytes()):
        with pytest.raises(TemplateError):
            unpack(bad)


def test_a_gallery_refuses_templates_of_another_model():
    sface, dlib = Gallery(model="sface"), Gallery(model="dlib")
    vector = probe("Jackie_Chan_0002.jpg")
    sface.set_person(1, [Template("sface", vector)])
    with pytest.raises(MixedModels, match="one gallery, one face model"):
        sface.set_person(2, [Template("dlib", vector)])
    with pytest.raises(MixedModels):
        dlib.load(np.array([1]), [Template("sface", vector)])
    with pytest.raises(MixedModels, match="128"):
        sface.set_person(3, np.ones((1, 512), np.float32))   # another model's length
    assert sface.persons == 1 and dlib.persons == 0


def test_a_terminal_switches_model_only_when_every_signing_has_it():
    # an old site: every signing has dlib templates; retemplating has reached one of two people
    assert choose_model({1: {"dlib"}, 2: {"dlib"}}, preferred="sface").model == "dlib"
    half = choose_model({1: {"dlib", "sface"}, 2: {"dlib"}}, preferred="sface")
    assert half.model == "dlib" and half.complete
    done = choose_model({1: {"dlib", "sface"}, 2: {"dlib", "sface"}}, preferred="sface")
    assert done.model == "sface" and done.complete
    assert choose_model({}, preferred="sface").model == "sface"          # a new install
    split = choose_model({1: {"sface"}, 2: {"sface"}, 3: {"dlib"}}, preferred="sface")
    assert (split.model, split.complete, split.missing) == ("sface", False, (3,))


def test_a_genuine_face_in_the_close_call_band_asks_to_confirm():
    # Jackie Chan's second photo is 0.81 from his first; at a stricter threshold it is a close
    # call: not accepted, not refused — the candidates are named for the 4-digit check
    eng = signed_engine(FaceConfig(threshold=0.7))
    match = eng.identify(probe("Jackie_Chan_0002.jpg"))
    assert eng.model.threshold == 0.7 and match.distance <= eng.model.confirm_threshold
    assert match.decision == "confirm" and match.person_id is None and match.reason == "no_match"
    assert match.candidate_ids[0] == PEOPLE["Jackie_Chan"]


def test_a_stranger_far_from_everyone_is_rejected_without_a_digit_check():
    match = signed_engine().identify(probe("Hu_Jintao_0001.jpg"))
    assert match.decision == "reject" and match.candidates == ()


def test_the_pipeline_hands_a_close_call_to_the_digit_check():
    cfg = FaceConfig(threshold=0.7, digit_check=True, liveness=LivenessConfig(mode="not_required"))
    pipeline = FacePipeline(signed_engine(cfg))
    events = []
    for _ in range(cfg.max_encodes_per_face):
        events += pipeline.process(photo("Jackie_Chan_0002.jpg"))
    assert len(events) == 1 and isinstance(events[0], FaceConfirm)
    assert events[0].candidates[0] == PEOPLE["Jackie_Chan"] and events[0].liveness == "not_required"
    # without the digit check the same face is refused, as before
    off = FacePipeline(signed_engine(cfg.model_copy(update={"digit_check": False})))
    refused = [e for _ in range(cfg.max_encodes_per_face) for e in off.process(photo("Jackie_Chan_0002.jpg"))]
    assert [e.reason for e in refused] == ["no_match"]


@pytest.mark.parametrize("frame, words", [
    (np.zeros((5000, 5000, 3), np.uint8), "outside"),             # oversize: refused before any model
    (np.zeros((480, 640, 3), np.float32), "uint8"),
    (np.zeros((480, 640, 5), np.uint8), "channels"),
    (b"\xff\xd8\xff\xe0 truncated jpeg", "not an image array"),
])
def test_bad_frames_are_refused_in_words(frame, words):
    with pytest.raises(BadFrame, match=words):
        to_rgb(frame)
    events = FacePipeline(engine()).process(frame)
    assert [e.reason for e in events] == ["bad_frame"]


def test_evaluate_counts_the_digit_check_as_the_kiosk_would():
    from hardware.face.evaluate import Evaluation

    eng = FaceEngine(FaceConfig(), engine().encoder, Gallery(model="sface"))
    axes = np.eye(128, dtype=np.float32)
    eng.gallery.set_person(1, axes[0])
    eng.gallery.set_person(2, axes[1])
    cos = 1 - 1.06 ** 2 / 2                          # distance 1.06: inside the close-call band
    near_1 = cos * axes[0] + np.sqrt(1 - cos ** 2) * axes[5]
    assert eng.identify(near_1).decision == "confirm"
    # the diner keys their own digits: accepted; digits shared with the other candidate: refused
    ok = Evaluation._score(eng, [(1, near_1)], [], 2, {1: "1234", 2: "9999"}, [])
    assert (ok.true_accepts, ok.confirm_true, ok.confirm_tar, ok.confirm_far) == (0, 1, 1.0, 0.0)
    both_near = (axes[0] + axes[1]) / np.sqrt(2) + 0.3 * axes[7]    # 2 candidates, equally near
    assert set(eng.identify(both_near).candidate_ids) == {1, 2}
    clash = Evaluation._score(eng, [(1, both_near)], [], 2, {1: "1234", 2: "1234"}, [])
    assert clash.confirm_true == 0 and clash.confirm_false == 0
    # a stranger in the band whose own digits happen to be a candidate's: a false accept
    stranger = Evaluation._score(eng, [], [near_1, near_1], 2, {1: "1234", 2: "9999"}, ["5555", "1234"])
    assert (stranger.asked, stranger.confirm_false, stranger.far) == (2, 1, 0.0)
    assert stranger.confirm_far == 0.5


def test_a_face_block_written_before_model_ids_still_loads_and_keeps_dlib():
    # the wizard saved every field; this is what such a terminal.yaml holds
    old = {"encoder": "dlib_resnet_v1", "threshold": 0.38, "margin": 0.08, "scoring": "centroid",
           "duplicate_threshold": 0.44, "detect_max_side": 400, "enrol_jitters": 5, "probe_flip": True}
    cfg = FaceConfig.model_validate(old)
    assert cfg.encoder == "dlib" and cfg.model().threshold == 0.38 and cfg.model().margin == 0.08
    assert FaceConfig().model().id == "sface" and FaceConfig().model().threshold == 1.00   # new installs
