"""The installer wizard's last step: does the backend answer, then every device's self-test
(hardware.doctor), cameras included."""
from __future__ import annotations

from typing import Any

from terminal.installer.backend import backend_line
from terminal.installer.config import split_devices
from terminal.installer.live_test import camera_test, guarded
from terminal.installer.results import DoctorLine


def doctor(wizard: dict[str, Any], card_key: bytes | None = None) -> list[DoctorLine]:
    from hardware.doctor import check_devices
    from hardware.registry import parse_devices

    lines = [backend_line(str(wizard.get("backend_url") or ""))]
    known, others = split_devices(wizard.get("devices", []))
    configs = parse_devices(known)
    simulators = {c.name for c in configs if c.is_simulator}
    for check in check_devices(configs, card_key=card_key):
        lines.append(DoctorLine(check.device, check.ok, check.zh, check.en, check.fix_zh, check.fix_en,
                                simulator=check.device in simulators))
    for device in others:
        if str(device.get("type", "")).endswith("_camera"):
            from hardware.camera import OpenCVCameraConfig, SimulatedCameraConfig

            model = SimulatedCameraConfig if device["type"] == "simulated_camera" else OpenCVCameraConfig
            result = guarded(lambda m=model, d=device: camera_test(m.model_validate(d), need_face=False))
            lines.append(DoctorLine(str(device.get("name")), result.ok, result.zh, result.en,
                                    simulator=model is SimulatedCameraConfig or bool(device.get("simulated"))))
    return lines
