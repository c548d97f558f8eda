"""Lane display (the LED text board at a parking lane): a Display Protocol, a driver for boards
in plain-text mode on a serial port, and a simulator that keeps what is shown.

Plain-text mode, as many generic RS-232/RS-485 LED boards offer it: form feed (0x0C) clears the
board, then each row is its text in the board's character set ending CR LF. Boards that only
speak a vendor's binary protocol are driven through the LPR camera's serialData instead
(hardware/plates/).
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

from pydantic import Field

from hardware.base import NAME_PATTERN, BuildContext, CheckResult, Clock, DeviceError, TextDisplay
from hardware.serialio import ByteLink, LinkedDevice, LoopLink, SerialDeviceConfig, SerialLink
from hardware.spec import DeviceKind, DriverSpec, any_serial_port


class LaneDisplayConfig(SerialDeviceConfig):
    type: Literal["lane_display"] = Field(title="Type", description="LED text display at a lane.")
    role: str = Field(default="main", title="Lane / 通道", description="Which lane this display is at.",
                      pattern=NAME_PATTERN)
    width_chars: int = Field(default=8, title="Width / 每行字数",
                             description="Chinese characters per line (ASCII counts half).", ge=2, le=64)
    lines: int = Field(default=2, title="Lines / 行数", description="Text lines on the board.", ge=1, le=8)
    encoding: Literal["gb2312", "gbk", "utf-8"] = Field(
        default="gbk", title="Encoding / 编码", description="Character set the board expects.")


@runtime_checkable
class Display(Protocol):
    name: str
    role: str

    def open(self) -> None: ...
    def close(self) -> None: ...
    def show(self, *lines: str) -> list[str]: ...
    def self_test(self) -> CheckResult: ...


def _cells(char: str) -> int:
    """Board cells a character takes: CJK and full-width are 2, ASCII 1."""
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def fit_line(text: str, width_chars: int) -> str:
    """Cut a line to what the board shows (width in Chinese characters = 2 cells each) and
    drop control characters so they cannot reach the board."""
    budget, out = width_chars * 2, []
    for char in text:
        if not char.isprintable():
            continue
        cost = _cells(char)
        if cost > budget:
            break
        out.append(char)
        budget -= cost
    return "".join(out)


def fit_lines(config: LaneDisplayConfig, lines: tuple[str, ...]) -> list[str]:
    fitted = [fit_line(line, config.width_chars) for line in lines[: config.lines]]
    return fitted + [""] * (config.lines - len(fitted))


def encode_screen(config: LaneDisplayConfig, rows: list[str]) -> bytes:
    out = b"\x0c"
    for row in rows:
        out += row.encode(config.encoding, errors="replace") + b"\r\n"
    return out


class LaneDisplay(LinkedDevice):
    def __init__(self, config: LaneDisplayConfig, clock: Clock, link_factory: Callable[[], ByteLink]):
        super().__init__(config.name, link_factory)
        self.role = config.role
        self.config = config
        self._clock = clock

    def show(self, *lines: str) -> list[str]:
        """Show up to `config.lines` rows; returns the rows as the board shows them."""
        rows = fit_lines(self.config, lines)
        self.open()
        try:
            self._live_link().write(encode_screen(self.config, rows))
        except DeviceError:
            self.close()
            raise
        return rows

    def self_test(self) -> CheckResult:
        try:
            self.show("设备自检", "TEST")
        except DeviceError as exc:
            return exc.as_check(self.name)
        return CheckResult.passed(self.name, "显示屏已写入“设备自检”，请确认屏上能看到",
                                  "the display was sent a test text; check it is visible")


class DisplaySimulator:
    """The board's end of the wire: decodes what the driver sent into the rows shown."""

    def __init__(self, config: LaneDisplayConfig):
        self.config = config
        self.link = LoopLink(self._receive)
        self.shown: list[str] = [""] * config.lines
        self.history: list[list[str]] = []

    def _receive(self, data: bytes) -> bytes:
        screen = data.rsplit(b"\x0c", 1)[-1]
        rows = [row.decode(self.config.encoding, errors="replace") for row in screen.split(b"\r\n")[:-1]]
        self.shown = rows
        self.history.append(rows)
        return b""

    def unplug(self) -> None:
        self.link.connected = False


def build_lane_display(config: LaneDisplayConfig, ctx: BuildContext) -> LaneDisplay:
    if config.simulated:
        sim = DisplaySimulator(config)
        display = LaneDisplay(config, ctx.clock, lambda: sim.link)
        display.simulator = sim  # type: ignore[attr-defined]
        return display
    return LaneDisplay(config, ctx.clock, lambda: SerialLink(config))


DISPLAY = DeviceKind("display", ("车道显示屏", "Lane display"))
DRIVERS = (
    DriverSpec("lane_display", DISPLAY, ("车道 LED 显示屏", "Lane LED display"), LaneDisplayConfig,
               build_lane_display, (TextDisplay,), any_serial_port),
)
