"""Have one device do its job once, for the installer watching it: a frame with a face, a scan,
a tap, a gate pulse, a voice prompt, a pushed plate. Only the hardware Protocols and capabilities
are used, never a driver's internals. A device failure is a failed result in the device's words.
"""
from __future__ import annotations

import os
import time
import uuid
from typing import Any, Callable

from pydantic import BaseModel

from hardware.base import Barrier
from terminal.installer.results import LiveTestResult

LIVE_WAIT_S = 10.0          # how long a live test waits for a scan or a card tap
PLATE_WAIT_S = 30.0         # ... for a plate: the installer walks to the lane and shows one


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
