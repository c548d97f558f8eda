"""Corrupt, truncated and odd frames give a clear rejection and never crash the pipeline."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from core.clock import ManualClock
from hardware.events import FaceRejected
from hardware.face.config import FaceConfig, LivenessConfig
from hardware.face.frames import BadFrame, decode_image, to_rgb
from hardware.face.pipeline import FacePipeline
from tests.hardware.facekit import DATA, photo, signed_engine

_PIPELINE: list[FacePipeline] = []


def pipeline() -> FacePipeline:
    if not _PIPELINE:
        cfg = FaceConfig(liveness=LivenessConfig(mode="required", blink=True, infrared=True))
        _PIPELINE.append(FacePipeline(signed_engine(cfg), ManualClock()))
    return _PIPELINE[0]


odd_arrays = st.one_of(
    arrays(st.sampled_from([np.uint8, np.float32, np.int16, np.bool_]),
           st.tuples(st.integers(0, 90), st.integers(0, 90)) | st.tuples(
               st.integers(0, 90), st.integers(0, 90), st.integers(0, 6))),
    st.builds(lambda n: np.zeros((n,), np.uint8), st.integers(0, 50)),
    st.just(np.zeros((0, 0, 3), np.uint8)),
    st.just(np.zeros((5000, 40, 3), np.uint8)),
    st.sampled_from([None, b"\xff\xd8\xff", "frame", 42, [[1, 2], [3, 4]]]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=odd_arrays, ir=odd_arrays)
def test_any_frame_gives_events_or_a_clear_rejection_never_an_exception(image, ir):
    events = pipeline().process(image, ir)
    assert all(isinstance(e, FaceRejected) for e in events)
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3) \
            or min(image.shape[:2], default=0) < 32:
        assert [e.reason for e in events] == ["bad_frame"]


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=2000))
def test_random_bytes_never_decode_to_a_frame_silently(data):
    try:
        image = decode_image(data)
    except BadFrame as exc:
        assert str(exc)
    else:
        to_rgb(image)  # if OpenCV did decode something, it is a usable array


@pytest.mark.parametrize("cut", [0, 10, 200, 2000])
def test_truncated_jpeg_is_refused_or_decoded_never_crashes(cut):
    data = (DATA / "Jackie_Chan_0001.jpg").read_bytes()[:cut]
    try:
        image = decode_image(data)
    except BadFrame as exc:
        assert "decode" in str(exc) or "empty" in str(exc)
    else:
        assert pipeline().process(image) is not None


def test_a_corrupted_real_frame_still_gets_an_answer():
    frame = photo("image_T1.jpg").copy()
    frame[::7] = np.random.default_rng(3).integers(0, 255, frame[::7].shape, dtype=np.uint8)
    events = pipeline().process(frame)
    assert all(isinstance(e, FaceRejected) for e in events)


def test_error_texts_say_what_is_wrong():
    with pytest.raises(BadFrame, match="uint8"):
        to_rgb(np.zeros((64, 64, 3), np.float32))
    with pytest.raises(BadFrame, match="size"):
        to_rgb(np.zeros((10, 64, 3), np.uint8))
    with pytest.raises(BadFrame, match="channels"):
        to_rgb(np.zeros((64, 64, 5), np.uint8))
