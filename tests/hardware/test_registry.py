"""The device registry: every config type has a builder, configs are strict (Frigate style),
and importing or building never touches a device."""
from __future__ import annotations

import subprocess
import sys
import typing

import pytest
from pydantic import TypeAdapter, ValidationError

from hardware.base import DeviceConfigBase
from hardware.registry import DEVICE_BUILDERS, DeviceConfig, build_device, parse_devices


def _config_types() -> list[type[DeviceConfigBase]]:
    union = typing.get_args(DeviceConfig)[0]
    return list(typing.get_args(union))


def test_every_config_type_has_exactly_one_builder() -> None:
    keys = [cls.model_fields["type"].annotation.__args__[0] for cls in _config_types()]
    assert sorted(keys) == sorted(DEVICE_BUILDERS) and len(set(keys)) == len(keys)


def test_every_field_has_a_title_and_description_for_the_wizard() -> None:
    for cls in _config_types():
        assert cls.model_config.get("extra") == "forbid", cls.__name__
        for name, field in cls.model_fields.items():
            assert field.title and field.description, f"{cls.__name__}.{name}"


def test_the_type_key_picks_the_model_and_typos_fail_naming_the_field() -> None:
    adapter = TypeAdapter(DeviceConfig)
    gate = adapter.validate_python({"type": "numato_gate", "name": "g", "port": "/dev/ttyACM0"})
    assert type(gate).__name__ == "NumatoGateConfig"
    with pytest.raises(ValidationError, match="relai"):
        adapter.validate_python({"type": "numato_gate", "name": "g", "port": "/dev/ttyACM0", "relai": 1})
    with pytest.raises(ValidationError, match="does not match any of the expected tags|union_tag_invalid"):
        adapter.validate_python({"type": "laser_gate", "name": "g"})
    with pytest.raises(ValidationError, match="port is required"):
        adapter.validate_python({"type": "modbus_gate", "name": "g"})
    with pytest.raises(ValidationError, match="less than or equal to 247"):
        adapter.validate_python({"type": "modbus_gate", "name": "g", "port": "/dev/ttyS0", "unit": 300})


def test_building_a_real_driver_opens_nothing() -> None:
    for config in parse_devices([
        {"type": "serial_scanner", "name": "a", "port": "/dev/ttyNOPE1"},
        {"type": "serial_card_reader", "name": "b", "port": "/dev/ttyNOPE2"},
        {"type": "modbus_gate", "name": "c", "port": "/dev/ttyNOPE3"},
        {"type": "numato_gate", "name": "d", "port": "/dev/ttyNOPE4"},
        {"type": "lane_display", "name": "e", "port": "/dev/ttyNOPE5"},
        {"type": "hid_scanner", "name": "f", "device": "/dev/input/nope"},
    ]):
        device = build_device(config, card_key=b"k" * 32)   # ports do not exist: only open() would fail
        assert device.name == config.name


def test_importing_the_hardware_modules_loads_no_serial_driver_library() -> None:
    # the serial kinds load pyserial, pymodbus and pyzbar only when a device is opened
    code = ("import sys, hardware.registry, hardware.doctor; "
            "print(sorted(m for m in ('serial', 'pymodbus', 'pyzbar') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_discovery_suggests_kinds_for_what_is_plugged_in(tmp_path) -> None:  # noqa: ANN001
    from hardware.discovery import Candidate, input_candidates, suggest
    from hardware.gate import NUMATO_VID

    (tmp_path / "usb-Honeywell_Barcode_Scanner-event-kbd").touch()
    (tmp_path / "usb-Logitech_Mouse-event-mouse").touch()
    found = [Candidate("serial", "/dev/ttyACM0", "Numato Lab 8 Channel USB Relay Module", NUMATO_VID, 0x0C05),
             Candidate("serial", "/dev/ttyUSB0", "USB-Serial CH340", 0x1A86, 0x7523)] + input_candidates(tmp_path)
    suggestions = suggest(found)
    likely = {(s.type, s.path) for s in suggestions if s.likely}
    assert likely == {("hid_scanner", str(tmp_path / "usb-Honeywell_Barcode_Scanner-event-kbd")),
                      ("numato_gate", "/dev/ttyACM0")}
    assert all(s.likely for s in suggestions[:2])                     # likely ones come first
    ch340 = {s.type for s in suggestions if s.path == "/dev/ttyUSB0"}
    assert ch340 == {"modbus_gate", "serial_scanner", "serial_card_reader", "lane_display"}
    assert all(s.type in DEVICE_BUILDERS for s in suggestions)


def test_simulated_devices_satisfy_their_protocols() -> None:
    from hardware.base import Device
    from hardware.card_reader import CardReader
    from hardware.display import Display
    from hardware.gate import Gate
    from hardware.scanner import CodeScanner

    expected = {"serial_scanner": CodeScanner, "hid_scanner": CodeScanner, "serial_card_reader": CardReader,
                "modbus_gate": Gate, "numato_gate": Gate, "lane_display": Display, "voice": Device}
    for kind, protocol in expected.items():
        device = build_device(parse_devices([{"type": kind, "name": "x", "simulated": True}])[0], card_key=b"k" * 32)
        assert isinstance(device, Device) and isinstance(device, protocol), kind
