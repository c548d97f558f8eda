"""Serial port plumbing shared by the serial device kinds: the common config fields, opening a
port with a clear error, and a bounded line reader that survives garbage and overlong lines.

pyserial is imported lazily, when a port is opened, so importing this module opens nothing.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from pydantic import Field, model_validator

from hardware.base import DeviceConfigBase, DeviceError


class SerialDeviceConfig(DeviceConfigBase):
    """Fields of every device on a serial port (RS-232, RS-485 adapter or USB CDC)."""

    port: str | None = Field(
        default=None,
        title="Serial port / 串口",
        description="Device path, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...; not needed when simulated.",
        min_length=1,
        max_length=200,
    )
    baudrate: int = Field(default=9600, title="Baud rate / 波特率",
                          description="Bits per second, as set on the device.", ge=1200, le=921600)
    parity: Literal["N", "E", "O"] = Field(default="N", title="Parity / 校验位",
                                           description="N = none, E = even, O = odd.")
    stopbits: Literal[1, 2] = Field(default=1, title="Stop bits / 停止位",
                                    description="1 or 2, as set on the device.")

    @model_validator(mode="after")
    def _port_needed_for_hardware(self):  # noqa: ANN202
        if not self.simulated and not self.port:
            raise ValueError("port is required unless simulated is true / 未模拟时必须填写串口")
        return self


def open_port(config: SerialDeviceConfig, *, timeout_s: float):  # noqa: ANN201 - serial.Serial
    """Open the configured port or raise a DeviceError that says what to do."""
    import serial

    try:
        return serial.Serial(port=config.port, baudrate=config.baudrate, bytesize=8,
                             parity=config.parity, stopbits=config.stopbits,
                             timeout=timeout_s, write_timeout=max(timeout_s, 0.5))
    except serial.SerialException as exc:
        text = str(exc)
        if "No such file" in text or "could not open port" in text and "2]" in text:
            raise DeviceError(
                f"找不到串口 {config.port}", f"serial port {config.port} does not exist",
                "检查数据线是否插好，或在配置中改成正确的串口", "check the cable, or set the right port in the config",
            ) from exc
        if "Permission denied" in text or "13]" in text:
            raise DeviceError(
                f"没有权限打开串口 {config.port}", f"no permission to open {config.port}",
                "把运行用户加入 dialout 组后重新登录", "add the service user to the dialout group and log in again",
            ) from exc
        raise DeviceError(
            f"打开串口 {config.port} 失败", f"cannot open serial port {config.port}: {text}",
            "检查是否被其他程序占用", "check that no other program holds the port",
        ) from exc


class ByteLink:
    """The byte pipe a driver talks through: a real serial port or the in-memory end of a
    simulated device. Drivers only use read/write/close, so the same parsing code runs on both."""

    def read(self, timeout_s: float) -> bytes:  # pragma: no cover - interface
        raise DeviceError("没有连接", "not connected")

    def write(self, data: bytes) -> None:  # pragma: no cover - interface
        raise DeviceError("没有连接", "not connected")

    def close(self) -> None:
        return None


class SerialLink(ByteLink):
    """A pyserial port. read() returns what arrived within the timeout (maybe nothing)."""

    def __init__(self, config: SerialDeviceConfig, *, timeout_s: float = 0.05):
        self._port = open_port(config, timeout_s=timeout_s)
        self._name = config.port

    def read(self, timeout_s: float) -> bytes:
        import serial

        try:
            self._port.timeout = timeout_s
            first = self._port.read(1)
            if not first:
                return b""
            waiting = self._port.in_waiting
            return first + (self._port.read(waiting) if waiting else b"")
        except (serial.SerialException, OSError) as exc:
            raise _unplugged(self._name) from exc

    def write(self, data: bytes) -> None:
        import serial

        try:
            self._port.reset_input_buffer()  # a reply must answer this request, not an old one
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, OSError) as exc:
            raise _unplugged(self._name) from exc

    def close(self) -> None:
        self._port.close()


def _unplugged(port: str | None) -> DeviceError:
    return DeviceError(f"串口 {port} 断开了", f"serial port {port} went away",
                       "检查数据线和设备电源", "check the cable and the device's power")


class LoopLink(ByteLink):
    """The driver's end of an in-memory wire to a simulated device. `respond(request) -> bytes`
    plays the device: it sees every byte the driver writes and its answer is what the driver
    reads next. `inject()` lets the device send on its own (a scanner reading a code)."""

    def __init__(self, respond=None):  # noqa: ANN001 - Callable[[bytes], bytes]
        self._respond = respond
        self._inbox = bytearray()
        self.sent = bytearray()
        self.connected = True

    def inject(self, data: bytes) -> None:
        self._inbox += data

    def read(self, timeout_s: float) -> bytes:
        if not self.connected:
            raise _unplugged("(simulated)")
        if not self._inbox:
            time.sleep(min(timeout_s, 0.005))  # like a quiet wire: do not spin the caller's loop
        data, self._inbox = bytes(self._inbox), bytearray()
        return data

    def write(self, data: bytes) -> None:
        if not self.connected:
            raise _unplugged("(simulated)")
        self.sent += data
        if self._respond is not None:
            self._inbox += self._respond(data) or b""


class LinkedDevice:
    """What every serial device class shares: a link made on open(), dropped on close().
    `_connected(link)` lets a protocol set itself up on the new link."""

    def __init__(self, name: str, link_factory: Callable[[], ByteLink]):
        self.name = name
        self._link_factory = link_factory
        self._link: ByteLink | None = None

    def open(self) -> None:
        if self._link is None:
            self._link = self._link_factory()
            self._connected(self._link)

    def close(self) -> None:
        if self._link is not None:
            link, self._link = self._link, None
            link.close()

    def _connected(self, link: ByteLink) -> None:
        return None

    def _live_link(self) -> ByteLink:
        if self._link is None:
            raise DeviceError(f"设备 {self.name} 未打开", f"device {self.name} is not open")
        return self._link


class LineFramer:
    """Split a byte stream into lines ending CR, LF or CRLF, never holding more than
    `max_chars` bytes: an overlong line is dropped up to its terminator and counted, so the
    next good line is read normally. Lines that are not clean printable UTF-8 are counted as
    garbled and dropped."""

    def __init__(self, max_chars: int):
        self.max_chars = max_chars
        self._buf = bytearray()
        self._skipping = False
        self.overlong = 0
        self.garbled = 0

    def feed(self, data: bytes) -> list[str]:
        lines: list[str] = []
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._skipping:
                    self._skipping = False
                elif self._buf:
                    text = self._decode(bytes(self._buf))
                    if text is not None:
                        lines.append(text)
                self._buf.clear()
            elif not self._skipping:
                if len(self._buf) >= self.max_chars:
                    self._buf.clear()
                    self._skipping = True
                    self.overlong += 1
                else:
                    self._buf.append(byte)
        return lines

    def _decode(self, raw: bytes) -> str | None:
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            self.garbled += 1
            return None
        if not text:
            return None
        if not text.isprintable():
            self.garbled += 1
            return None
        return text
