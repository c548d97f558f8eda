"""The Numato Lab USB relay modules' ASCII protocol, and a simulator of such a module.

Documented by Numato Lab for their USB relay modules (e.g. https://numato.com/docs/8-channel-usb-relay-module,
"relay on/off/read x", "gpio read x", "ver"): each command is text ending CR; the module echoes
what it received, then for a query the answer, each line ended "\\n\\r", then the prompt ">".
Example: "relay read 0\\r" -> "relay read 0\\n\\ron\\n\\r>". Relays and GPIOs past 9 are written
A, B, C ... (index 10 = "A").
"""
from __future__ import annotations

import time

from hardware.barrier_sim import BarrierSim
from hardware.gate_modbus import NoReply
from hardware.serialio import ByteLink

MAX_REPLY = 256
_INDEX = "0123456789ABCDEFGHIJKLMNOPQRSTUV"


def index_text(index: int) -> str:
    return _INDEX[index]


def parse_reply(command: str, raw: bytes) -> str | None:
    """The answer in a complete reply to `command` ("" for a command with no answer), or None
    when the reply is not one (garbage, wrong echo, not finished)."""
    if not raw.endswith(b">"):
        return None
    try:
        text = raw[:-1].decode("ascii")
    except UnicodeDecodeError:
        return None
    lines = [line.strip() for line in text.replace("\r", "\n").split("\n") if line.strip()]
    if not lines or lines[0] != command:
        return None
    if len(lines) > 2:
        return None
    return lines[1] if len(lines) == 2 else ""


class NumatoChannel:
    def __init__(self, link: ByteLink, timeout_s: float, retries: int):
        self.link, self.timeout_s, self.retries = link, timeout_s, retries
        self.garbled = 0

    def command(self, command: str) -> str:
        for _ in range(self.retries + 1):
            self.link.write(command.encode("ascii") + b"\r")
            answer = self._read_answer(command)
            if answer is not None:
                return answer
        raise NoReply("no valid reply")

    def _read_answer(self, command: str) -> str | None:
        buf = bytearray()
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            buf += self.link.read(min(max(deadline - time.monotonic(), 0.0), 0.02))
            prompt = buf.find(b">")
            if prompt >= 0:
                answer = parse_reply(command, bytes(buf[:prompt + 1]))
                if answer is not None:
                    return answer
                self.garbled += 1
                del buf[:prompt + 1]     # a stale or garbled reply: look for the next prompt
                continue
            if len(buf) > MAX_REPLY:
                self.garbled += 1
                del buf[:-MAX_REPLY // 2]
        if buf:
            self.garbled += 1
        return None


def relay_set(channel: NumatoChannel, relay: int, on: bool) -> None:
    channel.command(f"relay {'on' if on else 'off'} {index_text(relay)}")


def relay_read(channel: NumatoChannel, relay: int) -> bool:
    return _on_off(channel.command(f"relay read {index_text(relay)}"))


def gpio_read(channel: NumatoChannel, gpio: int) -> bool:
    answer = channel.command(f"gpio read {index_text(gpio)}")
    if answer not in ("0", "1"):
        raise NoReply(f"unexpected gpio answer {answer[:10]!r}")
    return answer == "1"


def _on_off(answer: str) -> bool:
    if answer not in ("on", "off"):
        raise NoReply(f"unexpected relay answer {answer[:10]!r}")
    return answer == "on"


class NumatoBoardSim:
    """A Numato USB relay module: relay `relay` drives the barrier's open input; GPIO
    `sensor_gpio` reads its open limit switch. Faults: `mute`, `garble`, `stuck` like the
    Modbus board simulator."""

    def __init__(self, barrier: BarrierSim, relay: int = 0, sensor_gpio: int | None = None):
        self.barrier, self.relay, self.sensor_gpio = barrier, relay, sensor_gpio
        self.relays = [False] * len(_INDEX)
        self.mute = self.garble = self.stuck = False
        self._buf = bytearray()

    def handle(self, data: bytes) -> bytes:
        out = b""
        for byte in data:
            if byte != 0x0D:
                self._buf.append(byte)
                del self._buf[:-MAX_REPLY]
                continue
            line, self._buf = bytes(self._buf), bytearray()
            reply = self._answer(line.decode("ascii", errors="replace").strip())
            if not self.mute:
                out += b"\x07\xfe#garbage" if self.garble else reply
        return out

    def _answer(self, line: str) -> bytes:
        words = line.split()
        echo = line.encode("ascii", errors="replace") + b"\n\r"
        if words == ["ver"]:
            return echo + b"00000008\n\r>"
        if len(words) == 3 and words[0] in ("relay", "gpio") and words[2] in _INDEX:
            index = _INDEX.index(words[2])
            if words[0] == "relay" and words[1] in ("on", "off"):
                on = words[1] == "on"
                if not self.stuck:
                    if on and not self.relays[index] and index == self.relay:
                        self.barrier.trigger()
                    self.relays[index] = on
                return echo + b">"
            if words[0] == "relay" and words[1] == "read":
                return echo + (b"on" if self.relays[index] else b"off") + b"\n\r>"
            if words[0] == "gpio" and words[1] == "read":
                high = index == self.sensor_gpio and self.barrier.is_open
                return echo + (b"1" if high else b"0") + b"\n\r>"
        return echo + b">"  # the module ignores commands it does not know

