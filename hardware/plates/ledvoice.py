"""RS-485 frames for the lane's LED display and voice board, the kind that hangs off the serial
port of a Zhenshi/Vzenith camera ("显示屏通信协议 v1.08", sold with many parking LED/voice
boards; the camera forwards the bytes it finds base64-encoded in `serialData`).

Frame:  DA  VR=0x64  PN=FF FF  CMD  DL  DATA[DL]  CRC16[2]
  DA    board address (0 by default)       DL    length of DATA (one byte, so DATA <= 255)
  CRC   CRC-16/MODBUS over DA..DATA, low byte first
Commands used here:
  0x62  download temporary text: TWID ETM ETS DM DT EXM EXS FINDEX DRS TC[4] BC[4] TL[2, LE] TEXT
  0x30  play voice: OPT TEXT    (OPT 0x02 = clear the queue, then play: a lane speaks to one car)
Text is GBK. Source: the v1.08 command table and worked example reproduced in
JinjieScreenFactory.java (java110 MicroCommunityThings, package com.java110.things.adapt.car
.zhenshi); its example frame `00 64 FF FF 62 25 00 15 01 00 02 15 01 03 00 FF 00 00 00 00 00 00
00 12 00 BB B6 ... F4 F5` is in tests/hardware/test_plates_ledvoice.py and checks our CRC.
"""
from __future__ import annotations

from dataclasses import dataclass

VR = 0x64
PN = b"\xff\xff"
CMD_TEXT = 0x62
CMD_VOICE = 0x30
VOICE_CLEAR_AND_PLAY = 0x02
_TEXT_HEADER = 19               # TWID..TL: the fixed part of a 0x62 body
MAX_DATA = 255

RED = (0xFF, 0x00, 0x00)
GREEN = (0x00, 0xFF, 0x00)
YELLOW = (0xFF, 0xFF, 0x00)


class FrameError(ValueError):
    """Bytes that are not a whole, valid board frame."""


@dataclass(frozen=True)
class Frame:
    address: int
    command: int
    data: bytes


def crc16_modbus(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def encode_frame(command: int, data: bytes, address: int = 0) -> bytes:
    if not 0 <= address <= 255 or not 0 <= command <= 255:
        raise FrameError("address and command are single bytes")
    if len(data) > MAX_DATA:
        raise FrameError(f"frame data is {len(data)} bytes; the board takes at most {MAX_DATA}")
    body = bytes([address, VR]) + PN + bytes([command, len(data)]) + data
    return body + crc16_modbus(body).to_bytes(2, "little")


def decode_frame(raw: bytes) -> Frame:
    """One frame from exactly its bytes; FrameError names what is wrong."""
    if len(raw) < 8:
        raise FrameError(f"frame too short ({len(raw)} bytes)")
    if raw[1] != VR or raw[2:4] != PN:
        raise FrameError("not a display-board frame (bad VR/PN bytes)")
    length = raw[5]
    if len(raw) != 8 + length:
        raise FrameError(f"length byte says {length} data bytes, frame holds {len(raw) - 8}")
    if crc16_modbus(raw[:-2]) != int.from_bytes(raw[-2:], "little"):
        raise FrameError("CRC mismatch")
    return Frame(address=raw[0], command=raw[4], data=bytes(raw[6:-2]))


def _gbk(text: str, limit: int) -> bytes:
    encoded = text.encode("gbk", errors="replace")
    if len(encoded) <= limit:
        return encoded
    # Cut on a character boundary: re-encode whole characters until the limit.
    out = b""
    for ch in text:
        piece = ch.encode("gbk", errors="replace")
        if len(out) + len(piece) > limit:
            break
        out += piece
    return out


def text_frame(line: int, text: str, colour: tuple[int, int, int] = RED, address: int = 0,
               hold_seconds: int = 5) -> bytes:
    """Show `text` on display line `line` (0-based), shown at once and held `hold_seconds`."""
    payload = _gbk(text, MAX_DATA - _TEXT_HEADER)
    body = bytes([
        line & 0xFF,
        0x00,              # ETM: appear at once (a driver reads it while stopping)
        0x01,              # ETS: speed
        0x00,              # DM: reserved
        max(0, min(255, hold_seconds)),
        0x00, 0x01,        # EXM, EXS
        0x03,              # FINDEX: fixed 3 by the protocol
        0x01,              # DRS: show once
        *colour, 0x00,     # TC: RGBA
        0x00, 0x00, 0x00, 0x00,  # BC: black
    ]) + len(payload).to_bytes(2, "little") + payload
    return encode_frame(CMD_TEXT, body, address)


def voice_frame(text: str, address: int = 0) -> bytes:
    """Speak `text` (the board's own TTS), dropping anything still queued for the last car."""
    return encode_frame(CMD_VOICE, bytes([VOICE_CLEAR_AND_PLAY]) + _gbk(text, MAX_DATA - 1), address)


def read_text(frame: Frame) -> tuple[int, str]:
    """(line, text) of a 0x62 frame — what the display would show. For simulators and tests."""
    if frame.command != CMD_TEXT or len(frame.data) < _TEXT_HEADER:
        raise FrameError("not a text frame")
    size = int.from_bytes(frame.data[17:19], "little")
    text = frame.data[_TEXT_HEADER:_TEXT_HEADER + size]
    if len(text) != size:
        raise FrameError("text length field longer than the frame")
    return frame.data[0], text.decode("gbk", errors="replace")


def read_voice(frame: Frame) -> str:
    if frame.command != CMD_VOICE or not frame.data:
        raise FrameError("not a voice frame")
    return frame.data[1:].decode("gbk", errors="replace")
