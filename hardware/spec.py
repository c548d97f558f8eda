"""A driver spec: everything the rest of gatepay needs to know about one device driver, declared
once, in the driver's own module (`DRIVERS = (DriverSpec(...), ...)`).

hardware.registry reads the specs of the modules it lists and makes from them the config union
(parsing), the builder table (building, with the declared capabilities checked), discovery's
`supported()` table, the wizard's kinds and drivers, and the doctor's names for devices.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hardware.base import BuildContext, DeviceConfigBase

if TYPE_CHECKING:
    from hardware.discovery import Candidate

Words = tuple[str, str]          # (zh, en), Chinese first
Supported = Callable[["Candidate"], tuple[bool, bool]]


@dataclass(frozen=True)
class DeviceKind:
    """What a device is for the installer (the wizard's page title): one per kind, shared by its
    drivers. `name` is the wizard's key (camera, scanner, gate, ...)."""

    name: str
    words: Words


@dataclass(frozen=True)
class DriverSpec:
    """One driver: config `type` key, kind, words, config model, builder, capabilities, discovery.

    - build(config, ctx) builds and never opens; the object it returns must satisfy
      hardware.base.Device and every Protocol in `provides` (checked by hardware.registry).
    - supported(candidate) -> (could drive it, its USB id says it is one); None: discovery never
      offers this driver for a port (cameras are probed by the wizard, a push server has no port).
    """

    type: str
    kind: DeviceKind
    words: Words
    config: type[DeviceConfigBase]
    build: Callable[[DeviceConfigBase, BuildContext], object]
    provides: tuple[type, ...] = ()
    supported: Supported | None = None


def any_serial_port(candidate: Candidate) -> tuple[bool, bool]:
    """Any serial port could be this device, but a port's id never says it is one."""
    return candidate.bus == "serial", False
