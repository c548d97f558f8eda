"""Device configuration models and the registry that builds devices from them.

Each device kind's module (hardware/<kind>.py) defines its config models — pydantic, with
`extra="forbid"` and a literal `type` that is its key (Frigate's pattern) — and its drivers.
`DEVICE_BUILDERS` below is the one explicit table of them, made in one function; importing a
module never registers anything and never opens a device. Only the composition root (and
`gatepay doctor`) call build_device() and then open() what it returns.

Adding a kind = import its config model, add it to `_CONFIG_TYPES`, and add its builder to
`_device_builders()` (and, for the installer wizard, a row to hardware/discovery.py's
`_supported()`, which says what found hardware each kind can drive). Kind modules import heavy libraries (pymodbus, pyzbar, cv2, dlib) inside
their functions, so importing this registry stays cheap.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Union

from pydantic import Field, TypeAdapter

from hardware.base import BuildContext, Clock, Device, DeviceConfigBase, system_clock
from hardware.camera import OpenCVCameraConfig, SimulatedCameraConfig
from hardware.card_reader import CardReaderConfig
from hardware.display import LaneDisplayConfig
from hardware.gate import ModbusGateConfig, NumatoGateConfig
from hardware.plates.camera_reader import CameraPlateReaderConfig
from hardware.plates.server import PlatePushServerConfig
from hardware.scanner import CameraScannerConfig, HidScannerConfig, SerialScannerConfig
from hardware.voice import VoiceConfig

_CONFIG_TYPES = (
    SerialScannerConfig,
    HidScannerConfig,
    CameraScannerConfig,
    CardReaderConfig,
    ModbusGateConfig,
    NumatoGateConfig,
    VoiceConfig,
    LaneDisplayConfig,
    PlatePushServerConfig,
    CameraPlateReaderConfig,
    OpenCVCameraConfig,
    SimulatedCameraConfig,
)

DeviceConfig = Annotated[Union[_CONFIG_TYPES], Field(discriminator="type")]  # noqa: UP007
"""One device block of a terminal config; pydantic picks the model by its `type` field."""

Builder = Callable[[DeviceConfigBase, BuildContext], Device]


def _device_builders() -> dict[str, Builder]:
    """The explicit table: config `type` -> function building a (not yet opened) device."""
    from hardware import camera, card_reader, display, gate, scanner, voice
    from hardware.plates import camera_reader, device as plates_device

    return {
        "serial_scanner": scanner.build_serial_scanner,
        "hid_scanner": scanner.build_hid_scanner,
        "camera_scanner": scanner.build_camera_scanner,
        "serial_card_reader": card_reader.build_card_reader,
        "modbus_gate": gate.build_modbus_gate,
        "numato_gate": gate.build_numato_gate,
        "voice": voice.build_voice,
        "lane_display": display.build_lane_display,
        "plate_push": plates_device.build_plate_push,
        "camera_plate_reader": camera_reader.build_camera_plate_reader,
        "opencv_camera": camera.build_camera_device,
        "simulated_camera": camera.build_camera_device,
    }


DEVICE_BUILDERS: dict[str, Builder] = _device_builders()

_DEVICE_LIST = TypeAdapter(list[DeviceConfig])


def parse_devices(raw: Iterable[Mapping]) -> list[DeviceConfigBase]:
    """Validate a `devices:` list from a config file; names must be unique per terminal."""
    devices = _DEVICE_LIST.validate_python(list(raw))
    check_unique_names(devices)
    return devices


def check_unique_names(devices: Iterable[DeviceConfigBase]) -> None:
    seen: set[str] = set()
    for device in devices:
        if device.name in seen:
            raise ValueError(f"device name {device.name!r} is used twice / 设备名称 {device.name!r} 重复")
        seen.add(device.name)


def build_device(config: DeviceConfigBase, *, clock: Clock = system_clock, card_key: bytes | None = None,
                 devices: Mapping[str, object] | None = None) -> Device:
    """Build one device from its config block. Builds only: nothing is opened here."""
    builder = DEVICE_BUILDERS.get(config.type)  # type: ignore[attr-defined]
    if builder is None:
        raise ValueError(f"no driver for device type {config.type!r}")  # type: ignore[attr-defined]
    ctx = BuildContext(clock=clock, card_key=card_key, devices=dict(devices or {}))
    return builder(config, ctx)


def build_devices(configs: Iterable[DeviceConfigBase], *, clock: Clock = system_clock,
                  card_key: bytes | None = None) -> dict[str, Device]:
    """Build every device of a terminal; a device naming another (a code scanner's `camera`)
    is built after the ones it names."""
    ordered = sorted(configs, key=lambda c: 1 if getattr(c, "camera", None) else 0)
    built: dict[str, Device] = {}
    for config in ordered:
        built[config.name] = build_device(config, clock=clock, card_key=card_key, devices=built)
    return built
