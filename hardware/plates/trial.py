"""The installer's live test of a `plate_push` block: run the real push endpoint for a while and
wait for one plate from a camera on the allow-list.

It is the real endpoint (secret, size limit, vendor parsing, plate rules, photo saved) with one
difference: a camera that pushes with the right key but is not on the allow-list (or pushes
from another address than the one listed) is still heard, so the installer is told its address
and serial number instead of waiting in silence. It is refused as the lane would refuse it, and
never reaches a scene. The answer to a listed camera keeps the barrier shut and says the test
passed. With `simulate`, the wizard plays the first listed camera itself (a loopback address
only), as the scanner simulator scans for the installer.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from hardware.base import DeviceError
from hardware.events import PlateRead
from hardware.plates.push import LaneAnswer, PushRejected
from hardware.plates.server import PlateEndpoint, PlatePushServer, PlatePushServerConfig, _ip, _utcnow

SAMPLE_PLATE = "京A12345"


@dataclass(frozen=True)
class HeardCamera:
    """A camera that pushed but is not on the allow-list as it stands."""
    address: str
    serialno: str
    plate: str | None


@dataclass
class TrialResult:
    read: PlateRead | None = None                  # the first plate from a listed camera
    strangers: list[HeardCamera] = field(default_factory=list)
    url: str = ""                                  # where the endpoint listened


class TrialEndpoint(PlateEndpoint):
    def __init__(self, config: PlatePushServerConfig, decide: Callable[[PlateRead], LaneAnswer],
                 clock: Callable[[], datetime], heard: Callable[[HeardCamera], None]) -> None:
        super().__init__(config, decide, clock)
        self._heard = heard

    def source_allowed(self, host: str) -> bool:
        return True          # hear everyone with the key; handle() still refuses strangers

    def handle(self, body: bytes, source: str) -> tuple[int, bytes]:
        try:
            push = self.adapter.parse(body)
        except PushRejected:
            return super().handle(body, source)           # the same 4xx as the lane gives
        camera = self.cameras.get(push.camera_serial)
        if camera is None or not self._same_address(camera, source):
            self._heard(HeardCamera(str(_ip(source)), push.camera_serial, push.license))
            return 403, b'{"error": "camera not on the allow-list"}'
        return super().handle(body, source)


def listen_for_push(config: PlatePushServerConfig, wait_s: float, simulate: bool = False,
                    clock: Callable[[], datetime] = _utcnow) -> TrialResult:
    """Serve pushes until a listed camera sends a plate, a stranger is heard, or `wait_s` ends."""
    result = TrialResult()
    done = threading.Event()

    def decide(read: PlateRead) -> LaneAnswer:
        if result.read is None:
            result.read = read
        done.set()
        return LaneAnswer(False, (read.plate, "测试成功"), "测试成功")     # the barrier stays down

    def heard(camera: HeardCamera) -> None:
        result.strangers.append(camera)
        done.set()

    server = PlatePushServer(config, decide, clock, TrialEndpoint(config, decide, clock, heard))
    try:
        server.start()
    except OSError as err:
        raise DeviceError(
            f"车牌推送端口 {config.port} 无法使用（{err.strerror}）",
            f"Plate push port {config.port} cannot be used ({err.strerror})",
            "检查是否有其他程序占用该端口，或换一个端口，并同步修改相机的推送地址。",
            "Check whether another program holds the port, or pick another port and change the "
            "cameras' push URL to match.") from err
    try:
        result.url = server.url
        if simulate:
            _push_sample(config, server.url)
        done.wait(wait_s)
        server.endpoint.drain()
    finally:
        server.stop()
    return result


def _push_sample(config: PlatePushServerConfig, url: str) -> None:
    """The first listed camera's push, sent from its own (loopback) address."""
    from hardware.plates.simulator import SimulatedVzenithCamera

    camera = config.cameras[0]
    if not camera.address.is_loopback:
        raise DeviceError(f"模拟相机 {camera.name} 的地址应为 127.0.0.1（现在是 {camera.address}）",
                          f"A simulated camera's address must be 127.0.0.1 ({camera.name} has {camera.address})",
                          "把地址改为 127.0.0.1，或取消“模拟”后用真实相机测试。",
                          "Set the address to 127.0.0.1, or untick Simulated and test with the real camera.")
    port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::") else config.host
    key = f"?key={config.secret.get_secret_value()}" if config.secret else ""
    sim = SimulatedVzenithCamera(f"http://{host}:{port}{config.path}{key}", camera.serialno,
                                 source_address=str(camera.address))

    def see() -> None:
        try:
            sim.see(SAMPLE_PLATE)
        except OSError:       # the wait then ends without a push, and the words say what to check
            pass

    threading.Thread(target=see, name="plate-trial-sim", daemon=True).start()
