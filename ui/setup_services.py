"""The real work behind the installer wizard: find devices, test one live, check, save.

These functions block (they open ports, probe cameras, wait for a card tap): the wizard runs them
on its thread pool. They use only the hardware Protocols and the registry's driver specs, never a
driver's internals, so a new device kind shows up here by being added to hardware.registry.
"""
from __future__ import annotations

import os
import secrets
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel

from hardware.base import Barrier
from ui.setup_flow import FoundDevice, LiveTestResult

CAMERA_PROBE_INDEXES = range(4)
LIVE_WAIT_S = 10.0          # how long a live test waits for a scan or a card tap
PLATE_WAIT_S = 30.0         # ... for a plate: the installer walks to the lane and shows one


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


def camera_test(config: BaseModel, need_face: bool = True) -> LiveTestResult:
    """Open the camera, take one frame, and (for the face camera) find the faces in it."""
    from hardware.camera import build_camera

    camera = build_camera(config)  # type: ignore[arg-type]
    camera.open()
    try:
        frame = None
        deadline = time.monotonic() + 5.0
        while frame is None and time.monotonic() < deadline:
            frame = camera.read()
    finally:
        camera.close()
    if frame is None:
        return LiveTestResult(False, "摄像头没有画面，请检查连线和编号", "No picture from the camera: check the cable and index")
    if not need_face:
        return LiveTestResult(True, "摄像头有画面", "camera delivers pictures", frame.image)
    boxes = face_boxes(frame.image)
    if not boxes:
        return LiveTestResult(False, "有画面，但没有看到人脸，请站到摄像头前", "Picture is fine but no face seen: stand in front of it",
                              frame.image)
    return LiveTestResult(True, f"看到 {len(boxes)} 张人脸", f"{len(boxes)} face(s) seen", frame.image, tuple(boxes))


def face_boxes(image: Any) -> list[tuple[int, int, int, int]]:
    """Faces in a BGR frame as (top, right, bottom, left), found on a downscaled copy."""
    import cv2
    import face_recognition

    scale = min(1.0, 320 / max(image.shape[:2]))
    small = cv2.resize(image, None, fx=scale, fy=scale) if scale < 1 else image
    rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
    return [tuple(round(v / scale) for v in box) for box in face_recognition.face_locations(rgb)]


# What a simulator does when its live test runs: nobody stands at a simulated scanner, so the
# test scans (taps) for the installer. Real devices wait for a person.
SAMPLE_PAYCODE = "134567890123456789"     # WeChat-style 18-digit pay code (not a real one)
SAMPLE_CARD = "3912345678"


def config_fields(device_type: str) -> dict[str, Any]:
    """The config fields of a device type (empty for an unknown type)."""
    from hardware.registry import spec_for

    spec = spec_for(device_type)
    return dict(spec.config.model_fields) if spec is not None else {}


def _wait_for_event(device: Any, wait_s: float) -> list[Any]:
    simulator = getattr(device, "simulator", None)
    if hasattr(simulator, "scan"):
        simulator.scan(SAMPLE_PAYCODE)
    elif hasattr(simulator, "tap"):
        simulator.tap(SAMPLE_CARD)
    deadline = time.monotonic() + wait_s
    while True:
        events = device.poll(0.1)
        if events or time.monotonic() >= deadline:
            return events


def _device_action(kind: str, device: Any, wait_s: float) -> LiveTestResult:
    if kind in ("scanner", "card_reader"):
        events = _wait_for_event(device, wait_s)
        if not events:
            return LiveTestResult(False, f"{int(wait_s)} 秒内没有读到，请再试一次", f"Nothing read in {int(wait_s)} s: try again")
        if kind == "card_reader":
            return LiveTestResult(True, "读到一张卡", "read a card")
        code_kind = getattr(events[0], "kind", "")
        return LiveTestResult(True, f"读到付款码（{code_kind}）", f"read a {code_kind} code")
    if kind == "gate" and isinstance(device, Barrier):
        result = device.open_barrier(str(uuid.uuid4()))   # a fresh id: the test really pulses
        return LiveTestResult(result.opened, result.zh, result.en)
    check = device.self_test()                            # voice: says its welcome prompt
    return LiveTestResult(check.ok, check.zh, check.en)


def live_test(kind: str, config: BaseModel, card_key: bytes | None = None,
              wait_s: float | None = None) -> LiveTestResult:
    """Open the device and have it do its job once: a frame with a face, a scan, a tap, a gate
    pulse, a voice prompt, a pushed plate. A DeviceError gives its own words and what to do."""
    if kind == "camera":
        return guarded(lambda: camera_test(config, need_face=True))
    if kind == "plate_camera":
        return guarded(lambda: plate_push_test(config, PLATE_WAIT_S if wait_s is None else wait_s))
    wait_s = LIVE_WAIT_S if wait_s is None else wait_s
    from hardware.registry import build_device

    def run() -> LiveTestResult:
        device = build_device(config, card_key=card_key or os.urandom(32))  # type: ignore[arg-type]
        device.open()
        try:
            return _device_action(kind, device, wait_s)
        finally:
            device.close()

    return guarded(run)


def plate_push_test(config: Any, wait_s: float) -> LiveTestResult:
    """Run the push endpoint until a listed camera pushes a plate (its photo is the preview). A
    camera heard that is not listed is named, and its serial and address go into the form."""
    from hardware.plates.trial import listen_for_push

    result = listen_for_push(config, wait_s, simulate=config.simulated)
    if result.read is not None:
        read = result.read
        return LiveTestResult(True, f"收到相机 {read.camera} 推送的车牌 {read.plate}",
                              f"plate {read.plate} pushed by camera {read.camera}", _photo(read.image_ref))
    if result.strangers:
        heard = result.strangers[0]
        return LiveTestResult(
            False, f"收到 {heard.address}（序列号 {heard.serialno}）的推送，但它不在允许列表中；"
                   "已填入下方列表，请核对后再测一次",
            f"{heard.address} (serial {heard.serialno}) pushed but is not on the allow-list; "
            "it is filled in below: check it and test again",
            learned={"cameras": ({"serialno": heard.serialno, "address": heard.address},)})
    key = f"?key={config.secret.get_secret_value()}" if config.secret else ""
    url = f"http://<本机IP>:{config.port}{config.path}{key}"
    return LiveTestResult(False, f"{int(wait_s)} 秒内没有收到推送：请在相机的推送地址中填写 {url}，再触发一次识别",
                          f"No push within {int(wait_s)} s: set the camera's push URL to "
                          f"{url.replace('本机IP', 'this terminal IP')} and trigger a read")


def _photo(path: str | None) -> Any:
    """The pushed photo as a BGR frame for the preview (None when the camera sent none)."""
    if not path:
        return None
    import cv2

    return cv2.imread(path)


def guarded(test: Callable[[], LiveTestResult]) -> LiveTestResult:
    """Run a device test; a device failure becomes a failed result in the device's own words."""
    from hardware.base import DeviceError

    try:
        return test()
    except (DeviceError, ValueError, OSError) as exc:
        zh = getattr(exc, "zh", "") or str(exc)
        en = getattr(exc, "en", "") or str(exc)
        fix_zh, fix_en = getattr(exc, "fix_zh", ""), getattr(exc, "fix_en", "")
        return LiveTestResult(False, f"{zh} {fix_zh}".strip(), f"{en} {fix_en}".strip())
