"""What is plugged in, for the installer wizard (Odoo IoT's `supported()` idea, without its
self-registration): list serial ports and keyboard input devices, then ask each driver spec in
hardware.registry whether it can drive a candidate (its `supported`).

Listing only reads sysfs/udev information; no port is opened.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hardware.registry import specs


@dataclass(frozen=True)
class Candidate:
    """Something found on the machine that a device could be."""

    bus: Literal["serial", "input"]
    path: str
    description: str = ""
    vid: int | None = None
    pid: int | None = None


@dataclass(frozen=True)
class Suggestion:
    type: str            # a DeviceConfig `type`
    path: str
    description: str
    likely: bool         # the USB id names a product of that kind, not just "a serial port"


def serial_candidates() -> list[Candidate]:
    from serial.tools import list_ports

    found = []
    for port in list_ports.comports():
        if port.hwid == "n/a" and not port.vid:
            continue     # a legacy UART with nothing behind it as far as the system knows
        found.append(Candidate("serial", port.device, port.description or "", port.vid, port.pid))
    return found


def input_candidates(by_id: Path = Path("/dev/input/by-id")) -> list[Candidate]:
    """Keyboard event nodes by stable id; a USB scanner in keyboard mode is one of them."""
    if not by_id.is_dir():
        return []
    return [Candidate("input", str(path), path.name) for path in sorted(by_id.glob("*-event-kbd"))]


def suggest(candidates: Iterable[Candidate] | None = None) -> list[Suggestion]:
    """Every (kind, candidate) pair that could work, the likely ones first."""
    if candidates is None:
        candidates = serial_candidates() + input_candidates()
    out = []
    for candidate in candidates:
        for spec in specs():
            could, likely = spec.supported(candidate) if spec.supported else (False, False)
            if could:
                out.append(Suggestion(spec.type, candidate.path, candidate.description, likely))
    return sorted(out, key=lambda s: (not s.likely, s.path, s.type))


def camera_nodes(dev: Path = Path("/dev")) -> list[str]:
    """The video devices this machine shows (/dev/video0, ...), for the doctor and a camera's
    "not found" message. Nothing is opened."""
    return sorted((str(p) for p in dev.glob("video*")), key=lambda p: (len(p), p))
