"""Card readers: the real serial driver on a pseudo-terminal in line and frame mode, the
number hashed before it leaves the driver, and the frame parser fed garbage, truncated frames
and noise."""
from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.base import DeviceError
from hardware.card_reader import CardReaderConfig, FrameParser, encode_frame
from hardware.registry import build_device
from core.clock import ManualClock
from core.crypto import keyed_hash
from tests.hardware.serial_pty import PtyDevice, poll_until

KEY = os.urandom(32)
UID = "04A1B2C3D4"


def _frame_config(**kw) -> CardReaderConfig:  # noqa: ANN003
    return CardReaderConfig(type="serial_card_reader", name="card", mode="frame", simulated=True, **kw)


def test_line_mode_reader_on_a_pty_gives_only_the_keyed_hash() -> None:
    clock = ManualClock()
    with PtyDevice() as dev:
        config = CardReaderConfig(type="serial_card_reader", name="card", port=dev.port, repeat_ms=0)
        reader = build_device(config, clock=clock, card_key=KEY)
        reader.open()
        try:
            dev.send(b"0012345678\r\n")
            dev.send(b"\x00\x13!!\r\n")          # noise line: dropped
            dev.send(b"04a1b2c3\n")
            events = poll_until(reader, 2)
        finally:
            reader.close()
    assert [e.card_hash for e in events] == [keyed_hash(KEY, "0012345678", "card"), keyed_hash(KEY, "04A1B2C3", "card")]
    assert all("0012345678" not in repr(e) for e in events)
    assert reader.rejected == 1


def test_frame_mode_reader_on_a_pty_recovers_after_garbage_and_a_truncated_frame() -> None:
    config = CardReaderConfig(type="serial_card_reader", name="card", mode="frame", port="/dev/null", repeat_ms=0)
    good = encode_frame(bytes.fromhex(UID), config)
    with PtyDevice() as dev:
        reader = build_device(config.model_copy(update={"port": dev.port}), card_key=KEY)
        reader.open()
        try:
            dev.send(b"\x02\xff\x13garbage")                  # a START with an impossible length
            dev.send(good[:4])                                 # truncated frame ...
            dev.send(good)                                     # ... then a whole one
            bad_checksum = bytearray(good)
            bad_checksum[-2] ^= 0x55
            dev.send(bytes(bad_checksum))                      # corrupted on the wire
            dev.send(encode_frame(bytes.fromhex("DEADBEEF"), config))
            events = poll_until(reader, 2)
        finally:
            reader.close()
    assert [e.card_hash for e in events] == [keyed_hash(KEY, UID, "card"), keyed_hash(KEY, "DEADBEEF", "card")]


def test_a_card_left_on_the_reader_is_reported_once() -> None:
    clock = ManualClock()
    reader = build_device(_frame_config(repeat_ms=1500), clock=clock, card_key=KEY)
    reader.open()
    for _ in range(5):
        reader.simulator.tap(UID)
        clock.advance(0.3)
    assert len(reader.poll()) == 1
    clock.advance(2)
    reader.simulator.tap(UID)
    assert len(reader.poll()) == 1


@pytest.mark.parametrize("fmt, number", [("ascii", "1234567890"), ("decimal", "3735928559"), ("hex", UID)])
def test_simulated_reader_sends_the_configured_number_format(fmt: str, number: str) -> None:
    reader = build_device(_frame_config(uid_format=fmt, checksum="sum8"), card_key=KEY)
    reader.open()
    reader.simulator.tap(number)
    (event,) = reader.poll()
    assert event.card_hash == keyed_hash(KEY, number, "card")


def test_a_reader_cannot_be_built_without_a_card_key() -> None:
    with pytest.raises(DeviceError) as err:
        build_device(_frame_config())
    assert "密钥" in err.value.zh


def test_config_refuses_equal_start_and_end_bytes() -> None:
    with pytest.raises(ValueError, match="frame_start"):
        _frame_config(frame_start=3, frame_end=3)


def test_unplugged_reader_says_what_to_do() -> None:
    reader = build_device(_frame_config(), card_key=KEY)
    reader.simulator.unplug()
    result = reader.self_test()
    assert not result.ok and "断开" in result.zh and result.fix_en


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=6), st.sampled_from(["xor", "sum8"]))
def test_frame_parser_survives_any_bytes_and_finds_the_next_good_frame(noise: list[bytes], checksum: str) -> None:
    config = CardReaderConfig(type="serial_card_reader", name="c", mode="frame", simulated=True,
                              checksum=checksum, max_data_bytes=16)
    parser = FrameParser(config)
    for chunk in noise:
        for frame in parser.feed(chunk):
            assert 1 <= len(frame) <= 16
        assert len(parser._buf) <= 16 + 4          # never holds more than one frame
    good = encode_frame(b"\x11\x22\x33\x44", config)
    # noise may end in a frame's start; at most one more good frame's worth of bytes flushes it
    found = parser.feed(good) + parser.feed(good)
    assert found[-1:] == [b"\x11\x22\x33\x44"]


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=16), st.integers(0, 200))
def test_a_frame_cut_anywhere_still_reads_when_the_rest_arrives(data: bytes, cut: int) -> None:
    config = _frame_config(max_data_bytes=16)
    frame = encode_frame(data, config)
    cut = min(cut, len(frame))
    parser = FrameParser(config)
    assert parser.feed(frame[:cut]) + parser.feed(frame[cut:]) == [data]
