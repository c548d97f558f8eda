"""The terminal's HTTP endpoint for plate cameras that push their results.

One small threaded http.server (no framework: one route, bytes in, bytes out). Each push:
  source address on the allow-list -> shared secret (the `key` query parameter of the push URL
  the installer types into the camera) -> size limit -> vendor adapter parses -> serial number
  matches that address -> plate normalised (core.plates) -> duplicate of the same car within
  the window? -> image saved -> PlateRead handed to the scene's callback -> its LaneAnswer rendered.

The lane is never blocked: the callback runs on one worker per camera (so a camera's records
are handled in the order it sent them) and the answer waits for it at most `answer_timeout_s`;
a slower decision answers "barrier shut, please wait" and carries on in the background; its
result goes to the next push of that car within the duplicate window (see recent.py).
Records the camera cached while offline, and results older than `late_after_s` (camera time
corrected by the camera's learnt clock offset, camclock.py), reach the scene with
replayed=True and never open the barrier. Starting the server is the only thing
that opens a socket or starts threads; importing this module does neither.
"""
from __future__ import annotations

import hmac
import json
import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from typing import Callable, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress, SecretStr, field_validator

from hardware.base import DeviceConfigBase
from hardware.events import PlateRead
from hardware.plates.push import LaneAnswer, PlatePush, PlatePushAdapter, PushRejected
from hardware.plates.camclock import CameraClocks
from hardware.plates.recent import RecentCars
from core.plates import PlateError, normalise_plate

log = logging.getLogger(__name__)

Decide = Callable[[PlateRead], LaneAnswer]

UNREADABLE = LaneAnswer(False, ("未识别到车牌", "请联系管理员"), "未识别到车牌，请联系管理员")
PLEASE_WAIT = LaneAnswer(False, ("正在处理", "请稍候"), None)
FAULT = LaneAnswer(False, ("系统故障", "请联系管理员"), "系统故障，请联系管理员")


class PlateCameraConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(title="Name / 名称", description="The camera's name in events and logs.",
                      min_length=1, max_length=40)
    serialno: str = Field(title="Serial number / 序列号", description="As the camera reports it "
                          "(Vzenith: AlarmInfoPlate.serialno).", min_length=1, max_length=64)
    address: IPvAnyAddress = Field(title="IP address / IP 地址", description="Pushes from any other "
                                   "address are refused.")
    lane: str | None = Field(None, title="Lane / 车道", description="Cameras on one lane share the "
                             "duplicate window; defaults to the camera's name.", max_length=40)
    direction: Literal["in", "out", "unknown"] = Field(
        "unknown", title="Direction / 方向", description="Whether this camera watches an entry or an exit lane.")


class PlatePushServerConfig(DeviceConfigBase):
    """The `plate_push` device block: the endpoint LPR cameras push to, and its allow-list."""
    type: Literal["plate_push"] = Field("plate_push", title="Type", description="Device kind key.")
    vendor: Literal["vzenith"] = Field("vzenith", title="Camera vendor / 相机厂家",
                                       description="Which push format the cameras speak.")
    host: str = Field("0.0.0.0", title="Listen address / 监听地址", description="Interface to listen on.",
                      min_length=1, max_length=64)
    port: int = Field(8090, title="Port / 端口", description="TCP port; 0 picks a free one (tests).",
                      ge=0, le=65535)
    path: str = Field("/plates/push", title="Push path / 推送路径", description="URL path the cameras post to.",
                      pattern=r"^/[A-Za-z0-9/_.-]*$", max_length=100)
    secret: SecretStr | None = Field(None, title="Shared secret / 推送密钥", description="If set, the push "
                                     "URL must carry ?key=<secret> (put it in the camera's push URL).")
    cameras: list[PlateCameraConfig] = Field(title="Cameras / 允许推送的相机", description="The allow-list.",
                                             min_length=1, max_length=32)
    image_dir: Path = Field(title="Image folder / 图片目录", description="Where pushed photos are saved.")
    max_body_bytes: int = Field(4 * 1024 * 1024, title="Largest push / 最大推送", description="Bigger "
                                "bodies are refused with 413.", ge=1024, le=32 * 1024 * 1024)
    duplicate_window_s: float = Field(15.0, title="Duplicate window (s) / 同车间隔（秒）", description="The same "
                                      "plate on the same lane within this time is one car.", ge=0, le=600)
    answer_timeout_s: float = Field(0.8, title="Decision time limit (s) / 决定时限（秒）", description="Longest "
                                    "the camera waits for the scene's decision.", gt=0, le=5)
    late_after_s: float = Field(60.0, title="Late after (s) / 迟到判定（秒）", description="A result the camera "
                                "took longer than this to deliver never opens the barrier.", gt=0, le=3600)
    read_timeout_s: float = Field(5.0, title="Read timeout (s) / 读取超时（秒）", description="A client that "
                                  "sends its body slower than this is dropped.", gt=0, le=60)
    serial_channel: int = Field(0, title="RS-485 channel / RS-485 通道", description="Camera serial port the "
                                "LED/voice board hangs on.", ge=0, le=3)
    board_address: int = Field(0, title="Board address / 屏板地址", description="LED/voice board address.",
                               ge=0, le=255)
    voice_via: Literal["board", "camera"] = Field(
        "board", title="Voice through / 语音播放", description="The LED/voice board on RS-485, or the "
        "camera's own speaker (cameras with one).")

    @field_validator("cameras")
    @classmethod
    def _one_entry_per_camera(cls, cameras: list[PlateCameraConfig]) -> list[PlateCameraConfig]:
        # A serial twice would let one entry shadow the other; a name twice mixes their photos.
        for key, words in (("name", ("camera name", "相机名称")), ("serialno", ("serial number", "序列号"))):
            seen: set[str] = set()
            for camera in cameras:
                value = getattr(camera, key)
                if value in seen:
                    raise ValueError(f"{words[0]} {value!r} is used twice / {words[1]} {value!r} 重复")
                seen.add(value)
        return cameras


def build_adapter(config: PlatePushServerConfig) -> PlatePushAdapter:
    """The vendor table: a second vendor is one more file and one more line here."""
    if config.vendor == "vzenith":
        from hardware.plates.vzenith import VzenithAdapter
        return VzenithAdapter(config.serial_channel, config.board_address, config.voice_via)
    raise ValueError(f"unknown plate camera vendor {config.vendor!r}")


def _ip(host: str) -> IPv4Address | IPv6Address:
    """An address as configured or as seen; ::ffff:a.b.c.d (a dual-stack socket) is a.b.c.d."""
    address = ip_address(host)
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class PlateEndpoint:
    """The push logic without HTTP: (body, source address, query) -> (status, body)."""

    def __init__(self, config: PlatePushServerConfig, decide: Decide,
                 clock: Callable[[], datetime] = _utcnow,
                 adapter: PlatePushAdapter | None = None) -> None:
        self.config = config
        self.decide = decide
        self.clock = clock
        self.adapter = adapter or build_adapter(config)
        self.cameras = {c.serialno: c for c in config.cameras}
        self.addresses = {_ip(str(c.address)) for c in config.cameras}
        self._lock = threading.Lock()
        self.recent = RecentCars(config.duplicate_window_s, PLEASE_WAIT)
        self.clocks = CameraClocks()
        self._replayed_ids: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._workers: dict[str, ThreadPoolExecutor] = {}

    # -- checks the HTTP layer makes before it reads a body ---------------------------------
    def source_allowed(self, host: str) -> bool:
        try:
            return _ip(host) in self.addresses
        except ValueError:
            return False

    def secret_ok(self, query: str) -> bool:
        if self.config.secret is None:
            return True
        given = parse_qs(query).get("key", [""])[0]
        return hmac.compare_digest(given.encode(), self.config.secret.get_secret_value().encode())

    # -- one push -----------------------------------------------------------------------------
    def handle(self, body: bytes, source: str) -> tuple[int, bytes]:
        try:
            push = self.adapter.parse(body)
        except PushRejected as err:
            log.warning("plate push refused from %s: %s", source, err.reason)
            return err.status, json.dumps({"error": err.reason}).encode()
        camera = self.cameras.get(push.camera_serial)
        if camera is None or not self._same_address(camera, source):
            log.warning("plate push from %s with unknown serial %r", source, push.camera_serial)
            return 403, b'{"error": "camera not on the allow-list"}'
        return self.adapter.render(push, self._answer(camera, push))

    def _same_address(self, camera: PlateCameraConfig, source: str) -> bool:
        try:
            return _ip(source) == _ip(str(camera.address))
        except ValueError:
            return False

    def _answer(self, camera: PlateCameraConfig, push: PlatePush) -> LaneAnswer:
        now = self.clock()
        late = push.offline
        if push.seen_at is not None:     # the camera's time, put on our clock (camclock.py)
            offset = (self.clocks.offset(camera.serialno) if push.offline
                      else self.clocks.observe(camera.serialno, push.seen_at, now))
            push = replace(push, seen_at=push.seen_at + offset)
            late = late or now - push.seen_at > timedelta(seconds=self.config.late_after_s)
        if push.license is None:
            return LaneAnswer() if late else UNREADABLE
        try:
            plate = self._normalise(push)
        except PlateError as err:
            log.warning("camera %s read %r: %s", camera.name, push.license, err.en)
            return LaneAnswer() if late else UNREADABLE
        lane_key = None if late else (camera.lane or camera.name, plate.text)
        if late:
            if not self._first_replay(camera, push):
                return LaneAnswer()           # the camera re-sent a record we already have
        else:
            repeat = self.recent.claim(lane_key, now)
            if repeat is not None:
                return repeat
        event = PlateRead(
            plate=plate.text, colour=plate.colour or "unknown", confidence=push.confidence,
            direction=camera.direction, at=push.seen_at or now, camera=camera.name,
            image_ref=self._save_image(camera, push, plate.text, now), replayed=late)
        answer = self._decide_in_time(camera, event, lane_key)
        if late:
            return LaneAnswer()               # never a late barrier, nor a late word to the lane
        self.recent.settle(lane_key, answer, sent=True)
        return answer

    def _normalise(self, push: PlatePush):  # noqa: ANN202
        try:
            return normalise_plate(push.license, push.colour)
        except PlateError as err:
            if err.code != "colour_mismatch":
                raise
            # The characters carry the format; a camera's colour guess is the weaker evidence.
            return normalise_plate(push.license)

    def _first_replay(self, camera: PlateCameraConfig, push: PlatePush) -> bool:
        if push.record_id is None:
            return True
        key = (camera.serialno, push.record_id)
        with self._lock:
            if key in self._replayed_ids:
                return False
            self._replayed_ids[key] = None
            while len(self._replayed_ids) > 20_000:  # the camera caches at most 9,000 records
                self._replayed_ids.popitem(last=False)
        return True

    def _save_image(self, camera: PlateCameraConfig, push: PlatePush, plate: str,
                    now: datetime) -> str | None:
        if not push.image:
            return None
        day = (push.seen_at or now).astimezone(timezone.utc)
        folder = self.config.image_dir / camera.name / day.strftime("%Y%m%d")
        name = f"{day.strftime('%H%M%S%f')}_{push.record_id or 0}_{plate}.{push.image_type}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_bytes(push.image)
        except OSError as err:   # a full disk must not stop the lane
            log.error("could not save plate image for camera %s: %s", camera.name, err)
            return None
        return str(path)

    def _decide_in_time(self, camera: PlateCameraConfig, event: PlateRead,
                        lane_key: tuple[str, str] | None) -> LaneAnswer:
        with self._lock:
            worker = self._workers.get(camera.serialno)
            if worker is None:
                worker = self._workers[camera.serialno] = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=f"plates-{camera.name}")
        future = worker.submit(self.decide, event)
        try:
            answer = future.result(timeout=self.config.answer_timeout_s)
        except FutureTimeout:
            log.warning("scene took longer than %.2fs for %s; barrier stays shut for now",
                        self.config.answer_timeout_s, event.plate)
            if lane_key is not None:
                future.add_done_callback(lambda done: self._late_decision(lane_key, done))
            return PLEASE_WAIT
        except Exception:  # noqa: BLE001 - a scene bug must not take the lane down
            log.exception("scene failed on plate %s", event.plate)
            return FAULT
        return answer if isinstance(answer, LaneAnswer) else FAULT

    def _late_decision(self, lane_key: tuple[str, str], done) -> None:  # noqa: ANN001
        if not done.cancelled() and done.exception() is None and isinstance(done.result(), LaneAnswer):
            self.recent.settle(lane_key, done.result(), sent=False)

    def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every decision handed to the scene so far has finished."""
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.submit(lambda: None).result(timeout=timeout_s)

    def close(self) -> None:
        for worker in self._workers.values():
            worker.shutdown(wait=False, cancel_futures=False)


def _handler_for(endpoint: PlateEndpoint) -> type[BaseHTTPRequestHandler]:
    config = endpoint.config

    class PushHandler(BaseHTTPRequestHandler):
        timeout = config.read_timeout_s          # slow or stalled clients are cut off
        protocol_version = "HTTP/1.1"
        server_version = "gatepay-plates"

        def log_message(self, fmt: str, *args: object) -> None:  # route to logging, not stderr
            log.debug("%s " + fmt, self.client_address[0], *args)

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            url = urlsplit(self.path)
            source = self.client_address[0]
            if url.path != config.path:
                return self._send(404, b'{"error": "no such path"}')
            if not endpoint.source_allowed(source):
                return self._send(403, b'{"error": "address not on the allow-list"}')
            if not endpoint.secret_ok(url.query):
                return self._send(401, b'{"error": "wrong or missing key"}')
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return self._send(411, b'{"error": "Content-Length required"}')
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                return self._send(411, b'{"error": "Content-Length required"}')
            if length < 0:
                return self._send(400, b'{"error": "bad Content-Length"}')
            if length > config.max_body_bytes:
                return self._send(413, b'{"error": "push too large"}')
            try:
                body = self.rfile.read(length)
            except OSError:
                self.close_connection = True
                return None
            if len(body) != length:
                return self._send(400, b'{"error": "body shorter than Content-Length"}')
            status, answer = endpoint.handle(body, source)
            self._send(status, answer)
            return None

        def do_GET(self) -> None:  # noqa: N802
            self._send(405, b'{"error": "POST only"}')

        def _send(self, status: int, body: bytes) -> None:
            if status >= 400:
                self.close_connection = True
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
            except OSError:   # the camera hung up; nothing to tell it
                self.close_connection = True

    return PushHandler


class PlatePushServer:
    """Runs a PlateEndpoint on a ThreadingHTTPServer in a background thread."""

    def __init__(self, config: PlatePushServerConfig, decide: Decide,
                 clock: Callable[[], datetime] = _utcnow, endpoint: PlateEndpoint | None = None) -> None:
        self.endpoint = endpoint or PlateEndpoint(config, decide, clock)   # trial.py brings its own
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{self.endpoint.config.path}"

    def start(self) -> PlatePushServer:
        cfg = self.endpoint.config
        httpd = ThreadingHTTPServer((cfg.host, cfg.port), _handler_for(self.endpoint))
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="plate-push-server",
                                        kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self.endpoint.close()

    def __enter__(self) -> PlatePushServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
