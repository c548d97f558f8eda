"""Find the devices the installer can set up: the current config's, the real serial ports and
cameras on this machine, a parking lane's plate-camera push endpoint, and the simulators; and the
drivers offered for a kind. Kinds and drivers come from the driver specs (hardware.registry), so a
new device kind shows up here by being added there.
"""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel

from terminal.installer.results import FoundDevice

CAMERA_PROBE_INDEXES = range(4)


def camera_indexes() -> list[int]:
    """USB camera indexes that deliver a frame (OpenCV probing; slow, run off the UI thread)."""
    import cv2

    found = []
    for index in CAMERA_PROBE_INDEXES:
        capture = cv2.VideoCapture(index)
        try:
            if capture.isOpened() and capture.read()[0]:
                found.append(index)
        finally:
            capture.release()
    return found


def device_kinds() -> list[str]:
    """The device kinds, in the registry's order (a port that could be several is offered as
    the first of them)."""
    from hardware.registry import kinds as registry_kinds

    return [kind.name for kind in registry_kinds()]


def kind_of_type(device_type: str) -> str:
    """A config `type` -> the wizard's device kind, as its driver spec says: "modbus_gate" ->
    "gate", "plate_push" -> "plate_camera". An unknown type is its own kind."""
    from hardware.registry import spec_for

    spec = spec_for(device_type)
    return spec.kind.name if spec is not None else device_type


def suggestions() -> list[Any]:
    """hardware.discovery's (type, path) suggestions for serial ports and keyboard devices."""
    from hardware.discovery import suggest

    return suggest()


def discover_devices(scene: str | None = None, simulators: bool = True,
                     camera_files: list[str] | None = None,
                     found_ports: Callable[[], list[Any]] = suggestions,
                     cameras: Callable[[], list[int]] = camera_indexes,
                     current: list[dict[str, Any]] | None = None, direction: str | None = None,
                     data_dir: str | None = None) -> list[FoundDevice]:
    """Everything the wizard can offer: the devices of the current config first (so a re-run
    keeps what was set up: a plate camera's allow-list and secret), then real ports and cameras,
    then, for a parking lane, the plate camera's push endpoint, then the simulators.
    A port that could be several kinds is one row; the installer says which it is."""
    found = [FoundDevice(kind_of_type(str(d.get("type", ""))), f"{d.get('name')} · 当前设置 / current", dict(d))
             for d in current or [] if models_for(kind_of_type(str(d.get("type", ""))))]
    in_use = {str(d.get(f)) for d in current or [] for f in ("port", "device") if d.get(f)}
    kept = {f.kind for f in found}
    for index in cameras():
        found.append(FoundDevice("camera", f"USB {index}", {"type": "opencv_camera", "name": "camera",
                                                            "source": str(index)}))
    by_path: dict[str, list[Any]] = {}
    for suggestion in found_ports():
        by_path.setdefault(suggestion.path, []).append(suggestion)
    for path, options in by_path.items():
        if path in in_use:
            continue
        order = device_kinds()
        options.sort(key=lambda o: (not o.likely, order.index(kind_of_type(o.type))
                                    if kind_of_type(o.type) in order else len(order)))
        kinds = tuple(dict.fromkeys(kind_of_type(o.type) for o in options))
        best = options[0]
        label = f"{path} ({best.description})" if best.description else path
        field = "device" if "device" in config_fields(best.type) else "port"   # where its config takes the path
        found.append(FoundDevice(kind_of_type(best.type), label, {"type": best.type, field: path},
                                 kinds=kinds if len(kinds) > 1 else (), checked=best.likely))
    if scene == "parking" and "plate_camera" not in kept:
        found.append(FoundDevice("plate_camera", "HTTP 推送 / HTTP push",
                                 plate_push_start(direction, data_dir)))
    if simulators:
        sim = "模拟器 / simulator"
        offers = []
        if camera_files and scene != "parking" and not any(f.kind == "camera" for f in found):
            offers.append(FoundDevice("camera", sim, {"type": "simulated_camera", "name": "camera",
                                                      "files": list(camera_files)}))
        offers.append(FoundDevice("scanner", sim, {"type": "serial_scanner", "simulated": True}))
        if scene != "parking":
            offers.append(FoundDevice("card_reader", sim, {"type": "serial_card_reader", "simulated": True}))
        offers.append(FoundDevice("gate", sim, {"type": "modbus_gate", "simulated": True}))
        offers.append(FoundDevice("voice", sim, {"type": "voice", "player": "sink", "simulated": True}))
        if scene == "parking":      # not ticked: it would take the real endpoint's port
            offers.append(FoundDevice("plate_camera", sim, plate_push_start(direction, data_dir, simulated=True),
                                      checked=False))
        found.extend(f for f in offers if f.kind not in kept)   # the current config's device stays
    return found


def plate_push_start(direction: str | None, data_dir: str | None, simulated: bool = False) -> dict[str, Any]:
    """A new plate camera: the push endpoint with a fresh secret (the installer types it into the
    camera's push URL) and one allow-list row named after the lane, serial and address to fill in
    (a simulated camera: on this machine)."""
    side = {"entry": "in", "exit": "out"}.get(direction or "", "unknown")
    camera: dict[str, Any] = {"name": f"{direction or 'lane'}-1", "direction": side}
    if simulated:
        camera.update(serialno=f"SIM-{(direction or 'lane').upper()}-1", address="127.0.0.1")
    return {"type": "plate_push", "name": "plates", "simulated": simulated,
            "host": "127.0.0.1" if simulated else "0.0.0.0", "secret": secrets.token_urlsafe(12),
            "image_dir": str(Path(data_dir or "var/terminal") / "plates"), "cameras": [camera]}


def models_for(kind: str) -> list[type[BaseModel]]:
    """The config models (drivers) offered for a kind: those whose driver spec is of that kind."""
    from hardware.registry import specs

    return [spec.config for spec in specs() if spec.kind.name == kind]


def config_fields(device_type: str) -> dict[str, Any]:
    """The config fields of a device type (empty for an unknown type)."""
    from hardware.registry import spec_for

    spec = spec_for(device_type)
    return dict(spec.config.model_fields) if spec is not None else {}
