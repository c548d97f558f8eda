"""Modbus RTU for relay-board gates: a request/response channel over a ByteLink using pymodbus'
PDUs, RTU framing and CRC, and a relay board simulator speaking the same frames.

pymodbus' own frame decoder throws away everything after a bad CRC; here a reply is searched
byte by byte, so garbage on the line before the real reply does not lose it.
"""
from __future__ import annotations

import time

from hardware.barrier_sim import BarrierSim
from hardware.base import DeviceError
from hardware.serialio import ByteLink

MAX_BUFFER = 512  # longer than any reply we ask for


class NoReply(DeviceError):
    def __init__(self, detail: str):
        super().__init__("道闸没有响应", f"gate not responding ({detail})",
                         "检查继电器板的电源、RS-485 接线和从站地址", "check the relay board's power, RS-485 wiring and unit address")


def _framer(is_server: bool):  # noqa: ANN202
    from pymodbus.framer import FramerRTU
    from pymodbus.pdu import DecodePDU

    return FramerRTU(DecodePDU(is_server))


def find_frame(buf: bytes | bytearray, unit: int, framer) -> tuple[int, object | None]:  # noqa: ANN001
    """First valid RTU frame for `unit` in buf: (bytes to drop, pdu). (start, None) means
    "keep buf[start:], wait for more"; garbage before a frame is skipped byte by byte."""
    from pymodbus.framer import FramerRTU

    decoder = framer.decoder
    waiting_at = len(buf)
    for start in range(len(buf)):
        data = bytes(buf[start:])
        if data[0] != unit:
            continue
        if len(data) < 4:
            waiting_at = min(waiting_at, start)
            break
        try:
            cls = decoder.lookupPduClass(data)
            size = cls.calculateRtuFrameSize(data) if cls else 0
        except Exception:  # noqa: BLE001 - malformed header from a third-party parser: skip the byte
            continue
        if not size or size > MAX_BUFFER:
            continue
        if len(data) < size:
            waiting_at = min(waiting_at, start)
            continue
        crc = (data[size - 2] << 8) | data[size - 1]
        if not FramerRTU.check_CRC(data[:size - 2], crc):
            continue
        try:
            pdu = decoder.decode(data[1:size - 2])
        except Exception:  # noqa: BLE001
            pdu = None
        if pdu is not None:
            pdu.dev_id = unit
            return start + size, pdu
    return waiting_at, None


class RtuChannel:
    def __init__(self, link: ByteLink, unit: int, timeout_s: float, retries: int):
        self.link, self.unit, self.timeout_s, self.retries = link, unit, timeout_s, retries
        self._framer = _framer(False)
        self.garbled = 0

    def transact(self, request):  # noqa: ANN001, ANN201 - pymodbus PDUs
        request.dev_id = self.unit
        frame = self._framer.buildFrame(request)
        last = "no reply"
        for _ in range(self.retries + 1):
            self.link.write(frame)
            reply = self._read_reply()
            if reply is None:
                continue
            if reply.function_code == request.function_code:
                return reply
            if reply.function_code == request.function_code | 0x80:
                raise DeviceError("继电器板拒绝了命令", f"relay board refused the command (exception {reply.exception_code})",
                                  "检查配置中的线圈/输入地址", "check the coil and input addresses in the config")
            self.garbled += 1
            last = "wrong reply"
        raise NoReply(last)

    def _read_reply(self):  # noqa: ANN202
        buf = bytearray()
        deadline = time.monotonic() + self.timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if buf:
                    self.garbled += 1
                return None
            buf += self.link.read(min(remaining, 0.02))
            drop, pdu = find_frame(buf, self.unit, self._framer)
            if pdu is not None:
                return pdu
            del buf[:drop]
            if len(buf) > MAX_BUFFER:
                del buf[:-MAX_BUFFER]


def write_coil(channel: RtuChannel, address: int, on: bool) -> None:
    from pymodbus.pdu.bit_message import WriteSingleCoilRequest

    reply = channel.transact(WriteSingleCoilRequest(address=address, bits=[on]))
    if reply.address != address or bool(reply.bits and reply.bits[0]) != on:
        raise NoReply("reply does not echo the coil write")


def read_bit(channel: RtuChannel, address: int, discrete: bool) -> bool:
    from pymodbus.pdu.bit_message import ReadCoilsRequest, ReadDiscreteInputsRequest

    cls = ReadDiscreteInputsRequest if discrete else ReadCoilsRequest
    reply = channel.transact(cls(address=address, count=1))
    if not reply.bits:
        raise NoReply("empty read reply")
    return bool(reply.bits[0])


class ModbusBoardSim:
    """A Modbus RTU relay board with one barrier on `coil` and its open limit switch on discrete
    input `sensor_input`. `handle(bytes) -> bytes` is the board on the wire.
    Faults: `mute` (answers nothing), `garble` (answers with a bad CRC), `stuck` (acks a coil
    write but the relay does not move)."""

    def __init__(self, barrier: BarrierSim, unit: int = 1, coil: int = 0, sensor_input: int | None = None):
        self.barrier, self.unit, self.coil, self.sensor_input = barrier, unit, coil, sensor_input
        self.coil_on = False
        self.mute = self.garble = self.stuck = False
        self._framer = _framer(True)
        self._buf = bytearray()

    def handle(self, data: bytes) -> bytes:
        self._buf += data
        out = b""
        while True:
            drop, request = find_frame(self._buf, self.unit, self._framer)
            if request is None:
                del self._buf[:drop]
                del self._buf[:-MAX_BUFFER]
                return out
            del self._buf[:drop]
            reply = self._answer(request)
            if reply is not None and not self.mute:
                frame = self._framer.buildFrame(reply)
                out += frame[:-1] + bytes([frame[-1] ^ 0xFF]) if self.garble else frame
        return out

    def _answer(self, request):  # noqa: ANN001, ANN202
        from pymodbus.pdu import ExceptionResponse
        from pymodbus.pdu.bit_message import (ReadCoilsRequest, ReadCoilsResponse, ReadDiscreteInputsRequest,
                                              ReadDiscreteInputsResponse, WriteSingleCoilRequest,
                                              WriteSingleCoilResponse)

        if isinstance(request, WriteSingleCoilRequest) and request.address == self.coil:
            on = bool(request.bits[0])
            if not self.stuck:
                if on and not self.coil_on:
                    self.barrier.trigger()
                self.coil_on = on
            return WriteSingleCoilResponse(dev_id=self.unit, address=request.address, bits=[on])
        # ReadDiscreteInputsRequest subclasses ReadCoilsRequest in pymodbus: test it first
        if (isinstance(request, ReadDiscreteInputsRequest) and request.address == self.sensor_input
                and request.count == 1):
            return ReadDiscreteInputsResponse(dev_id=self.unit, bits=[self.barrier.is_open])
        if (type(request) is ReadCoilsRequest and request.address == self.coil  # noqa: E721
                and request.count == 1):
            return ReadCoilsResponse(dev_id=self.unit, bits=[self.coil_on])
        return ExceptionResponse(request.function_code, 2, device_id=self.unit)  # illegal data address
