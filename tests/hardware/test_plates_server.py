"""The plate push endpoint on a real loopback HTTP server, driven by the simulated camera that
sends real Vzenith JSON with a real photo."""
from __future__ import annotations

import http.client
import json
import socket
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hardware.events import PlateRead
from hardware.plates.push import LaneAnswer
from hardware.plates.server import PlatePushServer, PlatePushServerConfig
from hardware.plates.simulator import SimulatedVzenithCamera, read_reply
from hardware.plates.vzenith import build_push

DATA = Path(__file__).parents[1] / "data" / "plates"
PHOTO = (DATA / "rpnet_demo_3.jpg").read_bytes()
SECRET = "lane-7-key"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 8, 30, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Scene:
    """Stands in for the parking scene: opens for every plate, remembers what it saw."""

    def __init__(self) -> None:
        self.reads: list[PlateRead] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, read: PlateRead) -> LaneAnswer:
        self.gate.wait(10)
        self.reads.append(read)
        return LaneAnswer(True, (read.plate, "一路顺风"), "一路顺风")


def make_config(tmp_path: Path, **over) -> PlatePushServerConfig:
    base = dict(name="plates", host="127.0.0.1", port=0, secret=SECRET, image_dir=tmp_path / "images",
                cameras=[{"name": "exit-1", "serialno": "fe71e106-57263272", "address": "127.0.0.1",
                          "direction": "out"},
                         {"name": "entry-1", "serialno": "eff50e18-e3d3862b", "address": "127.0.0.2",
                          "direction": "in"}])
    base.update(over)
    return PlatePushServerConfig.model_validate(base)


@pytest.fixture
def lane(tmp_path):
    clock, scene = Clock(), Scene()
    server = PlatePushServer(make_config(tmp_path), scene, clock).start()
    camera = SimulatedVzenithCamera(server.url + f"?key={SECRET}", "fe71e106-57263272", PHOTO,
                                    clock=clock)
    yield server, camera, scene, clock
    scene.gate.set()
    server.stop()


def address(server) -> tuple[str, int]:
    host, port = server.url.split("//")[1].split("/")[0].split(":")
    return host, int(port)


def send_raw(server, content_length: int, body: bytes = b"") -> socket.socket:
    """A connection that has sent the request head (and `body`) byte for byte, nothing more."""
    sock = socket.create_connection(address(server), timeout=10)
    sock.sendall(f"POST {server.endpoint.config.path}?key={SECRET} HTTP/1.1\r\nHost: x\r\n"
                 f"Content-Length: {content_length}\r\n\r\n".encode() + body)
    return sock


def raw_post(server, body: bytes, *, headers: dict | None = None, query: str = f"?key={SECRET}"):
    conn = http.client.HTTPConnection(*address(server), timeout=10)
    try:
        conn.request("POST", server.endpoint.config.path + query, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_signed_car_opens_the_barrier_and_the_board_shows_and_says_it(lane):
    server, camera, scene, clock = lane
    reply = camera.see("皖AMK620")
    assert reply.status == 200 and reply.opened
    assert reply.display == ["皖AMK620", "一路顺风"] and reply.voice == ["一路顺风"]
    (read,) = scene.reads
    assert (read.plate, read.colour, read.direction, read.camera, read.replayed) == \
        ("皖AMK620", "blue", "out", "exit-1", False)
    assert read.at == clock.now and read.confidence == pytest.approx(0.96)
    assert Path(read.image_ref).read_bytes() == PHOTO


def test_the_plate_format_beats_the_cameras_colour_guess(lane):
    _, camera, scene, _ = lane
    camera.see("粤bd12345", colour_code=1)            # camera says blue; 8 chars means green
    assert (scene.reads[0].plate, scene.reads[0].colour) == ("粤BD12345", "green")


def test_the_same_car_pushed_again_within_the_window_is_one_car(lane):
    _, camera, scene, clock = lane
    assert camera.see("皖AMK620").opened
    clock.advance(5)
    again = camera.see("皖AMK620")
    assert again.status == 200 and not again.opened and again.display == ["皖AMK620", "一路顺风"]
    assert len(scene.reads) == 1 and camera.barrier_pulses == 1
    clock.advance(20)                                 # window (15 s) over: a new visit
    assert camera.see("皖AMK620").opened and len(scene.reads) == 2


def test_unknown_camera_and_wrong_address_are_refused(lane):
    server, _, scene, _ = lane
    stranger = SimulatedVzenithCamera(server.url + f"?key={SECRET}", "00000000-deadbeef", PHOTO)
    assert stranger.see("皖AMK620").status == 403
    # The entry camera's serial, but posted from the exit camera's address.
    spoof = SimulatedVzenithCamera(server.url + f"?key={SECRET}", "eff50e18-e3d3862b", PHOTO)
    assert spoof.see("皖AMK620").status == 403
    # An address not on the list at all is refused before its body is read.
    outsider = SimulatedVzenithCamera(server.url + f"?key={SECRET}", "fe71e106-57263272", PHOTO,
                                      source_address="127.0.0.9")
    assert outsider.see("皖AMK620").status == 403
    entry = SimulatedVzenithCamera(server.url + f"?key={SECRET}", "eff50e18-e3d3862b", PHOTO,
                                   source_address="127.0.0.2")
    assert entry.see("皖AMK620").opened
    assert [r.camera for r in scene.reads] == ["entry-1"]


@pytest.mark.parametrize("query", ["", "?key=wrong", "?key=", f"?key={SECRET}x"])
def test_a_push_without_the_shared_secret_is_refused(lane, query):
    server, _, scene, _ = lane
    status, _ = raw_post(server, build_push("fe71e106-57263272", "皖AMK620"), query=query)
    assert status == 401 and scene.reads == []


def test_offline_records_replay_in_order_and_never_open_the_barrier(lane):
    _, camera, scene, clock = lane
    camera.online = False
    for plate in ["皖A11111", "皖A22222", "皖A33333"]:
        camera.see(plate)
        clock.advance(30)
    replies = camera.reconnect()
    assert [r.continue_offline for r in replies] == [True, True, True]
    assert not any(r.opened or r.display or r.voice for r in replies)
    assert camera.barrier_pulses == 0 and camera.offline_cache == []
    assert [r.plate for r in scene.reads] == ["皖A11111", "皖A22222", "皖A33333"]
    assert all(r.replayed for r in scene.reads)
    assert [r.at for r in scene.reads] == sorted(r.at for r in scene.reads)


def test_a_replayed_record_sent_twice_is_delivered_once(lane):
    _, camera, scene, _ = lane
    camera.online = False
    camera.see("皖A11111")
    record = camera.offline_cache[0]
    camera.reconnect()
    assert read_reply(*camera.post(record)).continue_offline    # the camera retried it
    assert len(scene.reads) == 1


def test_a_result_that_arrives_late_does_not_open_the_barrier(lane):
    server, camera, scene, clock = lane
    assert camera.see("皖A11111").opened                 # on time: the camera's clock is right
    clock.advance(60)
    body = build_push("fe71e106-57263272", "皖AMK620", plateid=9,
                      seen_at=clock.now - timedelta(minutes=5))
    reply = read_reply(*raw_post(server, body))
    assert reply.status == 200 and not reply.opened
    assert scene.reads[1].replayed


def test_a_camera_with_a_slow_clock_still_opens_and_its_times_are_corrected(lane):
    server, _, scene, clock = lane
    slow = SimulatedVzenithCamera(server.url + f"?key={SECRET}", "fe71e106-57263272", PHOTO,
                                  clock=lambda: clock.now - timedelta(minutes=10))
    assert slow.see("皖A11111").opened
    clock.advance(40)
    assert slow.see("皖A22222").opened
    assert [r.at for r in scene.reads] == [clock.now - timedelta(seconds=40), clock.now]
    assert not any(r.replayed for r in scene.reads)


def test_a_car_without_a_plate_gets_words_not_a_barrier(lane):
    _, camera, scene, _ = lane
    reply = camera.see("_无_")
    assert not reply.opened and reply.display[0] == "未识别到车牌" and scene.reads == []


def test_a_slow_scene_does_not_hold_the_lane(tmp_path):
    clock, scene = Clock(), Scene()
    scene.gate.clear()                                # the decision hangs
    with PlatePushServer(make_config(tmp_path, answer_timeout_s=0.2), scene, clock) as server:
        camera = SimulatedVzenithCamera(server.url + f"?key={SECRET}", "fe71e106-57263272",
                                        PHOTO, clock=clock)
        reply = camera.see("皖AMK620")
        assert reply.status == 200 and not reply.opened and reply.display == ["正在处理", "请稍候"]
        scene.gate.set()


def test_a_decision_that_came_too_late_goes_to_the_next_push_of_that_car_once(tmp_path):
    clock, scene = Clock(), Scene()
    scene.gate.clear()
    with PlatePushServer(make_config(tmp_path, answer_timeout_s=0.2), scene, clock) as server:
        camera = SimulatedVzenithCamera(server.url + f"?key={SECRET}", "fe71e106-57263272",
                                        PHOTO, clock=clock)
        assert not camera.see("皖AMK620").opened
        scene.gate.set()
        server.endpoint.drain()
        clock.advance(3)
        again = camera.see("皖AMK620")             # still at the barrier: the decision arrives
        assert again.opened and again.display == ["皖AMK620", "一路顺风"]
        assert not camera.see("皖AMK620").opened and camera.barrier_pulses == 1
        assert len(scene.reads) == 1


def test_a_failing_scene_still_gets_the_camera_an_answer(tmp_path):
    def broken(read):
        raise RuntimeError("database is locked")
    with PlatePushServer(make_config(tmp_path), broken, Clock()) as server:
        camera = SimulatedVzenithCamera(server.url + f"?key={SECRET}", "fe71e106-57263272", PHOTO)
        reply = camera.see("皖AMK620")
        assert reply.status == 200 and not reply.opened and reply.display[0] == "系统故障"


def test_oversized_push_is_refused_before_it_is_read(lane):
    server, _, scene, _ = lane
    with send_raw(server, 64 * 1024 * 1024) as sock:
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413") and scene.reads == []


def test_body_shorter_than_its_length_is_refused(lane):
    server, camera, scene, _ = lane
    body = build_push("fe71e106-57263272", "皖AMK620")
    with send_raw(server, len(body) + 100, body) as sock:
        sock.shutdown(socket.SHUT_WR)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400") and scene.reads == []
    assert camera.see("皖AMK620").opened             # the lane still works


def test_missing_content_length_is_refused(lane):
    server, _, _, _ = lane
    status, _ = raw_post(server, b"", headers={"Transfer-Encoding": "chunked"})
    assert status == 411


VALID = build_push("fe71e106-57263272", "皖AMK620", plateid=7, image=PHOTO[:2000])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.binary(max_size=3000),
    st.integers(min_value=0, max_value=len(VALID) - 1).map(lambda n: VALID[:n]),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                 lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                 max_leaves=20).map(lambda doc: json.dumps({"AlarmInfoPlate": doc}).encode()),
))
def test_garbage_truncated_and_malformed_pushes_get_a_4xx_and_lose_nothing(lane, body):
    server, camera, scene, _ = lane
    before = list(scene.reads)
    status, answer = raw_post(server, body)
    assert 400 <= status < 500, answer
    assert scene.reads == before


def test_after_garbage_a_real_push_still_opens(lane):
    server, camera, scene, _ = lane
    for junk in [b"{", b"null", b'{"AlarmInfoPlate": {}}', b"\xff\xfe", VALID[:-3]]:
        assert 400 <= raw_post(server, junk)[0] < 500
    assert camera.see("皖AMK620").opened and len(scene.reads) == 1


def test_a_stalled_connection_does_not_hold_up_another_camera(lane):
    server, camera, scene, _ = lane
    with send_raw(server, 5000, b'{"AlarmInfoPlate"'):
        assert camera.see("皖AMK620").opened            # answered while the other one hangs
    assert [r.plate for r in scene.reads] == ["皖AMK620"]


@pytest.fixture(scope="module")
def small_limit(tmp_path_factory):
    scene = Scene()
    config = make_config(tmp_path_factory.mktemp("small"), max_body_bytes=1024, duplicate_window_s=0)
    with PlatePushServer(config, scene, Clock()) as server:
        yield server, scene


@settings(max_examples=40, deadline=None)
@given(extra=st.integers(min_value=1, max_value=20_000))
def test_any_body_over_the_size_limit_gets_413_and_changes_nothing(small_limit, extra):
    server, scene = small_limit
    before = len(scene.reads)
    status, _ = raw_post(server, build_push("fe71e106-57263272", "皖AMK620") + b" " * (1024 + extra))
    assert status == 413 and len(scene.reads) == before
    camera = SimulatedVzenithCamera(server.url + f"?key={SECRET}", "fe71e106-57263272")
    assert camera.see("皖AMK620").opened and len(scene.reads) == before + 1   # within the limit: fine


@pytest.mark.parametrize("second", [{"name": "exit-1", "serialno": "eff50e18-e3d3862b"},
                                    {"name": "exit-2", "serialno": "fe71e106-57263272"}])
def test_a_camera_listed_twice_is_refused(tmp_path, second):
    from pydantic import ValidationError

    first = {"name": "exit-1", "serialno": "fe71e106-57263272", "address": "127.0.0.1"}
    with pytest.raises(ValidationError, match="used twice / .* 重复"):
        make_config(tmp_path, cameras=[first, {**second, "address": "127.0.0.2"}])
