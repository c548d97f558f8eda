"""LED/voice board frames carried in Vzenith serialData: the documented example and garbage."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from hardware.plates import ledvoice

# The worked example of "显示屏通信协议 v1.08" (0x62, line 0, "欢迎光临请入场停车", red).
DOC_EXAMPLE = bytes.fromhex(
    "0064FFFF6225001501000215010300FF000000000000001200"
    "BBB6D3ADB9E2C1D9C7EBC8EBB3A1CDA3B3B5F4F5")


def test_documented_example_frame_decodes_and_checks():
    frame = ledvoice.decode_frame(DOC_EXAMPLE)
    assert frame.command == ledvoice.CMD_TEXT
    assert ledvoice.read_text(frame) == (0, "欢迎光临请入场停车")
    assert ledvoice.encode_frame(frame.command, frame.data) == DOC_EXAMPLE


def test_text_and_voice_frames_round_trip():
    line, text = ledvoice.read_text(ledvoice.decode_frame(ledvoice.text_frame(1, "粤B12345 一路顺风")))
    assert (line, text) == (1, "粤B12345 一路顺风")
    assert ledvoice.read_voice(ledvoice.decode_frame(ledvoice.voice_frame("请缴费10元"))) == "请缴费10元"


def test_long_text_is_cut_to_fit_one_frame_on_a_character_boundary():
    frame = ledvoice.decode_frame(ledvoice.text_frame(0, "停" * 400))
    assert ledvoice.read_text(frame)[1] == "停" * 118      # 236 bytes of GBK


@pytest.mark.parametrize("raw", [b"", DOC_EXAMPLE[:-1], DOC_EXAMPLE[:10], b"\x00" * 8,
                                 DOC_EXAMPLE[:-2] + b"\x00\x00", DOC_EXAMPLE + b"\x00"])
def test_broken_frames_are_refused(raw):
    with pytest.raises(ledvoice.FrameError):
        ledvoice.decode_frame(raw)


@given(st.binary(max_size=600))
def test_garbage_never_crashes_the_decoder(raw):
    try:
        frame = ledvoice.decode_frame(raw)
    except ledvoice.FrameError:
        return
    assert ledvoice.encode_frame(frame.command, frame.data, frame.address) == raw
