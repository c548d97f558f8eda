"""What every device kind shares: the config base model, the clock type, what building a
device gets, and the result of a device's self-test (what `gatepay doctor` prints).

Nothing here opens a device. A device is built (cheap, no I/O), then `open()`ed by the
composition root or by `gatepay doctor`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from core.clock import Clock, SystemClock

system_clock = SystemClock()
"""Devices get the one clock (core.clock.Clock): `now()` stamps events, `monotonic()`
times pulses, hold-offs and simulated barrier travel. Tests pass a ManualClock."""


NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,40}$"


class DeviceConfigBase(BaseModel):
    """Fields every device block in the terminal config has. Subclasses add a literal `type`
    (their key in hardware.registry) and their own fields, each with a title, a description and
    bounds, so the installer wizard can build its form from the schema."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        title="Name / 名称",
        description="Unique name of this device on the terminal; events and doctor output use it.",
        pattern=NAME_PATTERN,
    )
    simulated: bool = Field(
        default=False,
        title="Simulated / 模拟",
        description="Use the built-in simulator instead of the hardware (demo, training, tests).",
    )

    @property
    def is_simulator(self) -> bool:
        """A simulator stands in for the hardware (demo, training, tests): it may pass its checks,
        but a terminal using it is never ready for service (doctor and the wizard say so)."""
        return self.simulated or str(getattr(self, "type", "")).startswith("simulated")


@dataclass(frozen=True)
class BuildContext:
    """What a builder may use besides its own config block.

    - clock: the injected clock (events carry its time; simulators time their behaviour by it)
    - card_key: 32-byte key for core.crypto.keyed_hash(purpose="card"); card readers refuse
      to build without one, so a card number can never leave the driver unhashed
    - devices: devices already built for this terminal, by name (a camera-frame code scanner
      reads frames from the camera device it names)
    """

    clock: Clock = system_clock
    card_key: bytes | None = None
    devices: Mapping[str, object] = field(default_factory=dict)

    def camera(self, name: str):  # noqa: ANN201 - hardware.camera.Camera
        """The camera device built under `name`, for a reader of its frames (refused in words if none)."""
        camera = self.devices.get(name)
        if camera is None:
            raise DeviceError(f"找不到名为 {name} 的摄像头", f"no camera named {name}",
                              "在设备列表中先配置这个摄像头", "add that camera to the device list first")
        return camera


@dataclass(frozen=True)
class CheckResult:
    """One device's self-test, in words an installer understands (Chinese first)."""

    device: str
    ok: bool
    zh: str
    en: str
    fix_zh: str = ""
    fix_en: str = ""

    @classmethod
    def passed(cls, device: str, zh: str, en: str) -> "CheckResult":
        return cls(device=device, ok=True, zh=zh, en=en)


class DeviceError(Exception):
    """A device failed in a way a person can act on. Carries both languages and what to do."""

    def __init__(self, zh: str, en: str, fix_zh: str = "", fix_en: str = ""):
        super().__init__(en)
        self.zh, self.en, self.fix_zh, self.fix_en = zh, en, fix_zh, fix_en

    def as_check(self, device: str) -> CheckResult:
        return CheckResult(device, False, self.zh, self.en, self.fix_zh, self.fix_en)


@runtime_checkable
class Device(Protocol):
    """The part every built device has, whatever its kind."""

    name: str

    def open(self) -> None: ...

    def close(self) -> None: ...

    def self_test(self) -> CheckResult: ...


# What a device can do beyond being a Device. Each driver spec (hardware.spec) names the ones its
# device provides; the registry checks them when it builds the device, and the runner picks its
# devices by them (not by type names).

@runtime_checkable
class EventSource(Protocol):
    """Gives events when polled: code scanners, card readers, plates read from camera frames."""

    def poll(self, timeout_s: float = 0.05) -> list: ...


@runtime_checkable
class Speaker(Protocol):
    """Says an approved payment aloud, and why a payment was declined."""

    def say_payment(self, amount_fen: int, balance_fen: int | None = None, discount_fen: int = 0) -> None:
        """amount_fen: what the payer paid, after a campaign's discount_fen (not the price)."""

    def say_reason(self, reason: str | None) -> None: ...


@runtime_checkable
class Barrier(Protocol):
    """Lifts a gate or barrier; idempotent by command id."""

    def open_barrier(self, command_id: str) -> object: ...


@runtime_checkable
class PlateSource(Protocol):
    """Pushes plates as cars arrive; the lane's answer comes from the `decide` it is given."""

    def on_plate(self, decide: object) -> None: ...


@runtime_checkable
class FrameSource(Protocol):
    """Delivers camera frames (the face loop reads these)."""

    def read(self) -> object: ...

    def status(self) -> object: ...


class FrameStep:
    """One frame in `every_nth` of a camera, for a reader too slow for every frame (the plate
    reader, the code scanner). The camera is passed at each read: the frame hub may swap it for a tap."""

    def __init__(self, every_nth: int) -> None:
        self.every_nth = every_nth
        self._count = 0

    def take(self, camera: FrameSource):  # noqa: ANN201 - hardware.camera.Frame | None
        """The camera's new frame if it is one to read, else None."""
        frame = camera.read()
        if frame is None:
            return None
        self._count += 1
        return None if (self._count - 1) % self.every_nth else frame


@runtime_checkable
class TextDisplay(Protocol):
    """Shows lines of text (a lane's LED display)."""

    def show(self, *lines: str) -> list[str]: ...
