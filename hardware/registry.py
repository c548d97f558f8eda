"""The device registry: the one list of driver modules, and what it makes from their specs.

Each driver module declares `DRIVERS`, a tuple of hardware.spec.DriverSpec: config model (pydantic,
`extra="forbid"`, a literal `type` that is its key — Frigate's pattern), builder, capabilities
and discovery rule. From `_DRIVER_MODULES` below this module makes the config union
(`DeviceConfig`), the builder table, discovery's table and the wizard's kinds. Importing a
module never opens a device; only the composition root (and `gatepay doctor`) call
build_device() and then open() what it returns.

Adding a kind = a new module with its config, driver and `DRIVERS`, plus one line below.
(`add_driver` is the same hook at run time, for a test's throwaway kind.) Driver modules import
heavy libraries (pymodbus, pyzbar, cv2, dlib) inside their functions, so this stays cheap.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from hardware import camera, card_reader, display, gate, scanner, voice
from hardware.base import BuildContext, Clock, Device, DeviceConfigBase, system_clock
from hardware.plates import camera_reader, device as plate_push
from hardware.spec import DeviceKind, DriverSpec

_DRIVER_MODULES = (     # one line per kind; this order is the wizard's order of kinds
    camera,             # face camera: opencv_camera, simulated_camera
    scanner,            # serial_scanner, hid_scanner, camera_scanner
    card_reader,        # serial_card_reader
    gate,               # modbus_gate, numato_gate
    voice,              # voice
    display,            # lane_display
    plate_push,         # plate_push (the LPR camera's HTTP push)
    camera_reader,      # camera_plate_reader (plates read by software)
)


class CapabilityError(TypeError):
    """A driver built an object that lacks a capability its spec declares (a driver bug)."""


_SPECS: dict[str, DriverSpec] = {}
DEVICE_BUILDERS: dict[str, Any] = {}
"""config `type` -> builder; kept in step with the specs (the same dict object throughout)."""
DeviceConfig: Any = None
"""One device block of a terminal config; pydantic picks the model by its `type` field."""
_DEVICE_LIST: TypeAdapter | None = None


def _rebuild() -> None:
    global DeviceConfig, _DEVICE_LIST
    models = tuple(spec.config for spec in _SPECS.values())
    DeviceConfig = Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007
    _DEVICE_LIST = TypeAdapter(list[DeviceConfig])
    DEVICE_BUILDERS.clear()
    DEVICE_BUILDERS.update({spec.type: spec.build for spec in _SPECS.values()})


def _model_type(model: type[DeviceConfigBase]) -> str:
    return str(model.model_fields["type"].annotation.__args__[0])


def add_driver(spec: DriverSpec) -> None:
    """Register one more driver. Config models already made from `DeviceConfig` (the terminal
    config) know only the drivers registered before they were made."""
    if spec.type in _SPECS:
        raise ValueError(f"device type {spec.type!r} is registered twice")
    if _model_type(spec.config) != spec.type:
        raise ValueError(f"driver {spec.type!r}: its config model's `type` is {_model_type(spec.config)!r}")
    _SPECS[spec.type] = spec
    _rebuild()


def remove_driver(device_type: str) -> None:
    """Undo add_driver (a test's throwaway kind)."""
    del _SPECS[device_type]
    _rebuild()


for _module in _DRIVER_MODULES:
    for _spec in _module.DRIVERS:
        add_driver(_spec)


def specs() -> tuple[DriverSpec, ...]:
    return tuple(_SPECS.values())


def spec_for(device_type: str) -> DriverSpec | None:
    return _SPECS.get(device_type)


def kinds() -> tuple[DeviceKind, ...]:
    """Every device kind, in the registry's order."""
    return tuple(dict.fromkeys(spec.kind for spec in _SPECS.values()))


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
    """Build one device from its config block and check it has what its spec promises.
    Builds only: nothing is opened here."""
    spec = _SPECS.get(config.type)  # type: ignore[attr-defined]
    if spec is None:
        raise ValueError(f"no driver for device type {config.type!r}")  # type: ignore[attr-defined]
    ctx = BuildContext(clock=clock, card_key=card_key, devices=dict(devices or {}))
    device = spec.build(config, ctx)
    missing = [cap.__name__ for cap in (Device, *spec.provides) if not isinstance(device, cap)]
    if missing:
        raise CapabilityError(f"driver {spec.type!r} built a {type(device).__name__} without "
                              f"{', '.join(missing)}, which its spec declares")
    return device


def build_order(configs: Iterable[DeviceConfigBase]) -> list[DeviceConfigBase]:
    """Devices that read another device's frames (a `camera` field) come after the rest."""
    return sorted(configs, key=lambda c: 1 if getattr(c, "camera", None) else 0)


def build_devices(configs: Iterable[DeviceConfigBase], *, clock: Clock = system_clock,
                  card_key: bytes | None = None) -> dict[str, Device]:
    """Build every device of a terminal, in build_order."""
    built: dict[str, Device] = {}
    for config in build_order(configs):
        built[config.name] = build_device(config, clock=clock, card_key=card_key, devices=built)
    return built
