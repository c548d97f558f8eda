"""Card readers on a serial port. Line mode: the card number/UID as a text line. Frame mode:
START, LEN, DATA..., CHECKSUM, END, resynchronising after garbage. The number is hashed
(core.crypto.keyed_hash, purpose "card") inside the driver; only the hash leaves it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

from pydantic import Field, model_validator

from hardware.base import BuildContext, CheckResult, Clock, DeviceError, EventSource
from hardware.events import CardTapped
from hardware.serialio import ByteLink, LineFramer, LinkedDevice, LoopLink, SerialDeviceConfig, SerialLink
from hardware.spec import DeviceKind, DriverSpec, any_serial_port
from core.crypto import keyed_hash


class CardReaderConfig(SerialDeviceConfig):
    type: Literal["serial_card_reader"] = Field(title="Type", description="Card reader on a serial port.")
    mode: Literal["line", "frame"] = Field(
        default="line", title="Output mode / 输出模式",
        description="line: number as text ending CR/LF; frame: STX LEN DATA CHK ETX binary frames.")
    frame_start: int = Field(default=0x02, title="Frame start byte / 帧头", description="Byte that opens a frame.",
                             ge=0, le=255)
    frame_end: int = Field(default=0x03, title="Frame end byte / 帧尾", description="Byte that closes a frame.",
                           ge=0, le=255)
    checksum: Literal["xor", "sum8"] = Field(
        default="xor", title="Checksum / 校验",
        description="xor: XOR of LEN and DATA bytes; sum8: their sum modulo 256.")
    uid_format: Literal["hex", "ascii", "decimal"] = Field(
        default="hex", title="Number format / 卡号格式",
        description="Frame mode: DATA as UID bytes shown in hex, as ASCII digits, or as a big-endian decimal.")
    max_data_bytes: int = Field(default=32, title="Longest card data / 最长数据",
                                description="Frames or lines with more data are dropped.", ge=4, le=255)
    repeat_ms: int = Field(default=1500, title="Repeat hold-off / 重复间隔",
                           description="A card held on the reader is reported once in this time.", ge=0, le=60000)

    @model_validator(mode="after")
    def _distinct_markers(self):  # noqa: ANN202
        if self.frame_start == self.frame_end:
            raise ValueError("frame_start and frame_end must differ / 帧头和帧尾不能相同")
        return self


@runtime_checkable
class CardReader(Protocol):
    name: str

    def open(self) -> None: ...
    def close(self) -> None: ...
    def poll(self, timeout_s: float = 0.05) -> list[CardTapped]: ...
    def self_test(self) -> CheckResult: ...


def frame_checksum(body: bytes, kind: str) -> int:
    """Over LEN and DATA (not START/END)."""
    if kind == "xor":
        value = 0
        for byte in body:
            value ^= byte
        return value
    return sum(body) & 0xFF


def encode_frame(data: bytes, config: CardReaderConfig) -> bytes:
    """START LEN DATA CHK END, as the reader sends a card (the simulator and tests use it)."""
    body = bytes([len(data)]) + data
    return bytes([config.frame_start]) + body + bytes([frame_checksum(body, config.checksum), config.frame_end])


class FrameParser:
    """Finds START LEN DATA CHK END frames in a byte stream. A frame with a bad length,
    checksum or end byte costs one byte: the search restarts just after its START, so a real
    frame hidden behind garbage or a truncated frame is still found. Holds at most one frame."""

    def __init__(self, config: CardReaderConfig):
        self._start, self._end = config.frame_start, config.frame_end
        self._checksum = config.checksum
        self._max = config.max_data_bytes
        self._buf = bytearray()
        self.rejected = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        frames: list[bytes] = []
        while True:
            at = self._buf.find(self._start)
            if at < 0:
                self._buf.clear()
                return frames
            del self._buf[:at]
            if len(self._buf) < 2:
                return frames
            length = self._buf[1]
            if not 1 <= length <= self._max:
                self._drop_one()
                continue
            total = length + 4
            if len(self._buf) < total:
                return frames
            body = bytes(self._buf[1:2 + length])
            if self._buf[2 + length] == frame_checksum(body, self._checksum) and self._buf[3 + length] == self._end:
                frames.append(body[1:])
                del self._buf[:total]
            else:
                self._drop_one()

    def _drop_one(self) -> None:
        self.rejected += 1
        del self._buf[:1]


def card_number(data: bytes, uid_format: str) -> str | None:
    """The card number the frame's DATA carries, or None when it is not one."""
    if uid_format == "hex":
        return data.hex().upper()
    if uid_format == "decimal":
        return str(int.from_bytes(data, "big"))
    text = data.decode("ascii", errors="replace")
    return text if text.isalnum() and text.isascii() else None


class SerialCardReader(LinkedDevice):
    """Reads cards in line or frame mode and hands out only the keyed hash of the number."""

    def __init__(self, config: CardReaderConfig, clock: Clock, key: bytes, link_factory: Callable[[], ByteLink]):
        super().__init__(config.name, link_factory)
        self.config = config
        self._clock = clock
        self._key = key
        self.lines = LineFramer(config.max_data_bytes * 2)  # hex text of a UID is twice its bytes
        self.frames = FrameParser(config)
        self._bad_numbers = 0
        self._recent: dict[str, float] = {}

    def poll(self, timeout_s: float = 0.05) -> list[CardTapped]:
        data = self._live_link().read(timeout_s)
        if self.config.mode == "line":
            numbers = [n for n in self.lines.feed(data) if self._plausible(n)]
        else:
            numbers = [card_number(f, self.config.uid_format) for f in self.frames.feed(data)]
        events = []
        for number in numbers:
            if number is None:
                self._bad_numbers += 1
                continue
            event = self._tap(number)
            if event is not None:
                events.append(event)
        return events

    def _plausible(self, text: str) -> bool:
        ok = text.isascii() and text.isalnum()
        if not ok:
            self._bad_numbers += 1
        return ok

    @property
    def rejected(self) -> int:
        """Lines and frames dropped as noise since the reader was built (for status screens)."""
        return self._bad_numbers + self.lines.garbled + self.lines.overlong + self.frames.rejected

    def _tap(self, number: str) -> CardTapped | None:
        card_hash = keyed_hash(self._key, number, "card")
        now = self._clock.monotonic()
        hold = self.config.repeat_ms / 1000
        self._recent = {h: t for h, t in self._recent.items() if now - t < hold}
        if card_hash in self._recent:
            self._recent[card_hash] = now  # still lying on the reader
            return None
        self._recent[card_hash] = now
        return CardTapped(card_hash=card_hash, at=self._clock.now(), device=self.name)

    def self_test(self) -> CheckResult:
        try:
            self.open()
            self.poll(0.05)
        except DeviceError as exc:
            return exc.as_check(self.name)
        return CheckResult.passed(self.name, "读卡器串口正常，请刷一张卡试试", "port is open; tap a card to try it")


class CardReaderSimulator:
    """The reader's end of the wire: `tap()` sends a card the way the configured reader does."""

    def __init__(self, config: CardReaderConfig):
        self.config = config
        self.link = LoopLink()

    def tap(self, number: str) -> None:
        if self.config.mode == "line":
            self.link.inject(number.encode() + b"\r\n")
            return
        if self.config.uid_format == "hex":
            data = bytes.fromhex(number)
        elif self.config.uid_format == "decimal":
            value = int(number)
            data = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
        else:
            data = number.encode("ascii")
        self.link.inject(encode_frame(data, self.config))

    def send_raw(self, data: bytes) -> None:
        self.link.inject(data)

    def unplug(self) -> None:
        self.link.connected = False


def build_card_reader(config: CardReaderConfig, ctx: BuildContext) -> SerialCardReader:
    if ctx.card_key is None or len(ctx.card_key) != 32:
        raise DeviceError("读卡器缺少卡号加密密钥", "no key for hashing card numbers",
                          "终端配置中需要卡号哈希密钥（32字节）", "the terminal config must provide a 32-byte card key")
    if config.simulated:
        sim = CardReaderSimulator(config)
        reader = SerialCardReader(config, ctx.clock, ctx.card_key, lambda: sim.link)
        reader.simulator = sim  # type: ignore[attr-defined]
        return reader
    return SerialCardReader(config, ctx.clock, ctx.card_key, lambda: SerialLink(config))


CARD_READER = DeviceKind("card_reader", ("读卡器", "Card reader"))
DRIVERS = (
    DriverSpec("serial_card_reader", CARD_READER, ("串口读卡器", "Serial card reader"), CardReaderConfig,
               build_card_reader, (EventSource,), any_serial_port),
)
