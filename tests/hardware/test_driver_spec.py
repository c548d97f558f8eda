"""One driver spec per device: a kind that exists only in this test module is added through the
registry's public hook and is then parsed, built, suggested for a plugged-in port and offered by
the installer wizard; a driver that builds an object without its declared capability is refused
at build time, in words that name the capability."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Literal

import pytest
from pydantic import Field, ValidationError

from hardware import registry
from hardware.base import CheckResult, DeviceConfigBase, Speaker
from hardware.discovery import Candidate, suggest
from hardware.doctor import check_devices
from hardware.spec import DeviceKind, DriverSpec

BUZZER_VID = 0x16C0


class BuzzerConfig(DeviceConfigBase):
    type: Literal["usb_buzzer"] = Field(title="Type", description="A USB buzzer that beeps for a payment.")
    port: str = Field(title="Port / 串口", description="Serial port of the buzzer.")


class Mute:
    """A device and nothing more: it opens, closes and passes its self-test."""

    def __init__(self, config: BuzzerConfig) -> None:
        self.name = config.name

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def self_test(self) -> CheckResult:
        return CheckResult.passed(self.name, "蜂鸣器正常", "buzzer answers")


class Buzzer(Mute):
    """Beeps once per approved payment (records the beeps: this test is its only listener)."""

    def __init__(self, config: BuzzerConfig) -> None:
        super().__init__(config)
        self.beeps: list[int] = []

    def say_payment(self, amount_fen: int, balance_fen: int | None = None) -> None:
        self.beeps.append(amount_fen)

    def say_reason(self, reason: str | None) -> None:
        self.beeps.append(0)        # one flat beep for any decline


def _buzzer_port(candidate: Candidate) -> tuple[bool, bool]:
    ours = candidate.bus == "serial" and candidate.vid == BUZZER_VID
    return ours, ours


BUZZER = DriverSpec("usb_buzzer", DeviceKind("buzzer", ("蜂鸣器", "Buzzer")), ("USB 蜂鸣器", "USB buzzer"),
                    BuzzerConfig, lambda config, ctx: Buzzer(config), (Speaker,), _buzzer_port)


@pytest.fixture
def buzzer_kind() -> Iterator[DriverSpec]:
    registry.add_driver(BUZZER)
    try:
        yield BUZZER
    finally:
        registry.remove_driver(BUZZER.type)


def test_a_new_kind_added_with_one_spec_is_parsed_built_and_suggested(buzzer_kind: DriverSpec) -> None:
    [config] = registry.parse_devices([{"type": "usb_buzzer", "name": "beep", "port": "/dev/ttyACM7"}])
    assert isinstance(config, BuzzerConfig)
    with pytest.raises(ValidationError, match="volume"):          # strict like every config model
        registry.parse_devices([{"type": "usb_buzzer", "name": "beep", "port": "/dev/ttyACM7", "volume": 3}])

    device = registry.build_devices([config])["beep"]
    assert isinstance(device, Speaker)
    device.say_payment(1250)
    assert device.beeps == [1250]

    plugged = [Candidate("serial", "/dev/ttyACM7", "USB buzzer", BUZZER_VID, 0x05DC),
               Candidate("serial", "/dev/ttyUSB0", "USB-Serial CH340", 0x1A86, 0x7523)]
    likely = [(s.type, s.path) for s in suggest(plugged) if s.likely]
    assert likely == [("usb_buzzer", "/dev/ttyACM7")]
    assert check_devices([config]) == [CheckResult.passed("beep", "蜂鸣器正常", "buzzer answers")]


def test_the_wizard_offers_the_new_kind_and_its_driver(buzzer_kind: DriverSpec) -> None:
    from terminal.installer import devices as wizard_devices

    assert "buzzer" in wizard_devices.device_kinds()
    assert wizard_devices.kind_of_type("usb_buzzer") == "buzzer"
    assert wizard_devices.models_for("buzzer") == [BuzzerConfig]
    found = wizard_devices.discover_devices(
        scene="canteen", simulators=False, cameras=list,
        found_ports=lambda: suggest([Candidate("serial", "/dev/ttyACM7", "USB buzzer", BUZZER_VID, 0x05DC)]))
    row = next(f for f in found if f.config.get("port") == "/dev/ttyACM7")
    assert (row.kind, row.config["type"], row.checked) == ("buzzer", "usb_buzzer", True)


def test_once_removed_the_kind_is_unknown_again(buzzer_kind: DriverSpec) -> None:
    registry.remove_driver(BUZZER.type)
    try:
        with pytest.raises(ValidationError, match="usb_buzzer"):
            registry.parse_devices([{"type": "usb_buzzer", "name": "beep", "port": "/dev/ttyACM7"}])
        with pytest.raises(ValueError, match="registered twice"):
            registry.add_driver(registry.spec_for("voice"))
    finally:
        registry.add_driver(BUZZER)


def test_a_driver_missing_a_declared_capability_fails_when_built() -> None:
    # the spec says Speaker, but what its builder returns cannot say anything
    mute = replace(BUZZER, build=lambda config, ctx: Mute(config))
    registry.add_driver(mute)
    try:
        [config] = registry.parse_devices([{"type": "usb_buzzer", "name": "beep", "port": "/dev/ttyACM7"}])
        with pytest.raises(registry.CapabilityError, match="'usb_buzzer' built a Mute without Speaker"):
            registry.build_device(config)
        [result] = check_devices([config])          # the doctor says so instead of passing it
        assert not result.ok and "Speaker" in result.en
    finally:
        registry.remove_driver("usb_buzzer")


def test_every_shipped_driver_names_its_kind_words_and_capabilities() -> None:
    for spec in registry.specs():
        assert spec.config.model_fields["type"].annotation.__args__ == (spec.type,)
        assert all(spec.words) and all(spec.kind.words), spec.type
        assert spec.provides, f"{spec.type} declares no capability"
    assert [k.name for k in registry.kinds()][:6] == ["camera", "scanner", "card_reader", "gate", "voice", "display"]
