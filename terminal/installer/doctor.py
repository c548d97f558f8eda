"""The installer wizard's last step: does the backend answer, then every device's self-test
(hardware.doctor), cameras included."""
from __future__ import annotations

from typing import Any

from terminal.installer.backend import backend_line
from terminal.installer.config import split_devices
from terminal.installer.results import DoctorLine


def doctor(wizard: dict[str, Any], card_key: bytes | None = None) -> list[DoctorLine]:
    from hardware.doctor import check_devices
    from hardware.registry import parse_devices

    lines = [backend_line(str(wizard.get("backend_url") or ""))]
    known, _others = split_devices(wizard.get("devices", []))    # the wizard offers known types only
    configs = parse_devices(known)
    simulators = {c.name for c in configs if c.is_simulator}
    for check in check_devices(configs, card_key=card_key):
        lines.append(DoctorLine(check.device, check.ok, check.zh, check.en, check.fix_zh, check.fix_en,
                                simulator=check.device in simulators))
    return lines
