"""The plate push endpoint as a terminal device (`type: plate_push` in the devices list).

Built by hardware.registry like every device (building opens nothing); the composition root
hands it the lane's decision with `on_plate(lane.decide)` and opens it, which starts
the HTTP server. `gatepay doctor` runs self_test(): the port can be had and the image folder
takes files.
"""
from __future__ import annotations

import socket
import tempfile

from hardware.base import BuildContext, CheckResult, Clock, DeviceError, PlateSource, system_clock
from hardware.events import PlateRead
from hardware.plates.push import LaneAnswer
from hardware.plates.server import Decide, PlatePushServer, PlatePushServerConfig
from hardware.spec import DeviceKind, DriverSpec

NOT_READY = LaneAnswer(False, ("系统未就绪", "请联系管理员"), None)


class PlatePushDevice:
    def __init__(self, config: PlatePushServerConfig, clock: Clock = system_clock) -> None:
        self.config = config
        self.name = config.name
        self.clock = clock
        self._decide: Decide | None = None
        self._server: PlatePushServer | None = None

    def on_plate(self, decide: Decide) -> None:
        """Who decides what the lane does for each car (the parking scene's `decide`)."""
        self._decide = decide

    def _route(self, read: PlateRead) -> LaneAnswer:
        return self._decide(read) if self._decide is not None else NOT_READY

    @property
    def url(self) -> str | None:
        return self._server.url if self._server is not None else None

    def open(self) -> None:
        if self._server is not None:
            return
        server = PlatePushServer(self.config, self._route, self.clock.now)
        try:
            server.start()
        except OSError as err:
            raise DeviceError(
                f"车牌推送端口 {self.config.port} 无法使用（{err.strerror}）",
                f"Plate push port {self.config.port} cannot be used ({err.strerror})",
                "检查是否有其他程序占用该端口，或在配置中换一个端口，并同步修改相机的推送地址。",
                "Check whether another program holds the port, or pick another port in the "
                "config and change the cameras' push URL to match.") from err
        self._server = server

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def self_test(self) -> CheckResult:
        try:
            self._check_image_dir()
            if self._server is None:
                self._check_port()
        except DeviceError as exc:
            return exc.as_check(self.name)
        cams = ", ".join(f"{c.name}({c.address})" for c in self.config.cameras)
        return CheckResult.passed(
            self.name, f"车牌推送端口 {self.config.port} 就绪，允许的相机：{cams}",
            f"Plate push port {self.config.port} ready; cameras allowed: {cams}")

    def _check_port(self) -> None:
        with socket.socket(socket.AF_INET6 if ":" in self.config.host else socket.AF_INET) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.config.host, self.config.port))
            except OSError as err:
                raise DeviceError(
                    f"车牌推送端口 {self.config.port} 已被占用或地址无效（{err.strerror}）",
                    f"Plate push port {self.config.port} is taken or the address is invalid ({err.strerror})",
                    "关闭占用端口的程序，或换一个端口并修改相机的推送地址。",
                    "Stop the program holding the port, or use another port and change the "
                    "cameras' push URL.") from err

    def _check_image_dir(self) -> None:
        try:
            self.config.image_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.config.image_dir):
                pass
        except OSError as err:
            raise DeviceError(
                f"车牌图片目录 {self.config.image_dir} 无法写入（{err.strerror}）",
                f"Plate image folder {self.config.image_dir} is not writable ({err.strerror})",
                "检查磁盘空间和目录权限。", "Check the free disk space and the folder's permissions.") from err


def build_plate_push(config: PlatePushServerConfig, ctx: BuildContext) -> PlatePushDevice:
    return PlatePushDevice(config, ctx.clock)


PLATE_CAMERA = DeviceKind("plate_camera", ("车牌相机", "Plate camera"))
DRIVERS = (
    DriverSpec("plate_push", PLATE_CAMERA, ("车牌相机推送（臻识等）", "Plate camera push (Vzenith and alike)"),
               PlatePushServerConfig, build_plate_push, (PlateSource,)),
)
