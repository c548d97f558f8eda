"""The plate push endpoint as a configured terminal device: built by the registry, opened by
the composition root, checked by `gatepay doctor`."""
from __future__ import annotations

import socket
from pathlib import Path

from hardware.events import PlateRead
from hardware.plates.push import LaneAnswer
from hardware.plates.simulator import SimulatedVzenithCamera
from hardware.registry import build_device, parse_devices

PHOTO = (Path(__file__).parents[1] / "data" / "plates" / "rpnet_demo_3.jpg").read_bytes()


def block(tmp_path: Path, port: int = 0) -> dict:
    return {"type": "plate_push", "name": "lpr", "host": "127.0.0.1", "port": port,
            "image_dir": str(tmp_path / "img"),
            "cameras": [{"name": "exit-1", "serialno": "cam-1", "address": "127.0.0.1"}]}


def test_built_from_config_it_opens_nothing_until_opened(tmp_path):
    (config,) = parse_devices([block(tmp_path)])
    device = build_device(config)
    assert device.url is None and device.self_test().ok
    seen: list[PlateRead] = []
    device.on_plate(lambda read: seen.append(read) or LaneAnswer(True, (read.plate,), None))
    device.open()
    try:
        reply = SimulatedVzenithCamera(device.url, "cam-1", PHOTO).see("皖AMK620")
        assert reply.opened and [r.plate for r in seen] == ["皖AMK620"]
        assert device.self_test().ok
    finally:
        device.close()


def test_before_the_scene_is_wired_the_barrier_stays_shut(tmp_path):
    device = build_device(parse_devices([block(tmp_path)])[0])
    device.open()
    try:
        reply = SimulatedVzenithCamera(device.url, "cam-1", PHOTO).see("皖AMK620")
        assert not reply.opened and reply.display == ["系统未就绪", "请联系管理员"]
    finally:
        device.close()


def test_a_taken_port_is_reported_in_plain_words(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        device = build_device(parse_devices([block(tmp_path, port)])[0])
        check = device.self_test()
        assert not check.ok and str(port) in check.zh and check.fix_zh and check.fix_en
        try:
            device.open()
        except Exception as exc:  # noqa: BLE001 - the type is asserted below
            assert type(exc).__name__ == "DeviceError" and str(port) in exc.zh
        else:
            device.close()
            raise AssertionError("opened on a port another program holds")


def test_push_command_acts_as_a_camera(tmp_path):
    from typer.testing import CliRunner

    from terminal.cli import app

    device = build_device(parse_devices([block(tmp_path)])[0])
    device.on_plate(lambda read: LaneAnswer(True, (read.plate, "一路顺风"), "一路顺风"))
    device.open()
    try:
        photo = Path(__file__).parents[1] / "data" / "plates" / "rpnet_demo_3.jpg"
        result = CliRunner().invoke(app, ["plate", "push", device.url, "cam-1", "皖AMK620",
                                          "--photo", str(photo)])
    finally:
        device.close()
    assert result.exit_code == 0, result.output
    assert '"opened": true' in result.output and '"display": ["皖AMK620", "一路顺风"]' in result.output


def test_push_command_to_a_closed_port_says_so_without_a_traceback():
    import socket

    from typer.testing import CliRunner

    from terminal.cli import app

    with socket.socket() as holder:       # a port nothing listens on: bound, never listening
        holder.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{holder.getsockname()[1]}/plate"
        result = CliRunner().invoke(app, ["plate", "push", url, "cam-1", "皖AMK620"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "拒绝连接" in result.output and "refused the connection: the terminal is not running" in result.output


def test_push_command_with_a_url_without_a_scheme_says_how_to_write_it():
    from typer.testing import CliRunner

    from terminal.cli import app

    result = CliRunner().invoke(app, ["plate", "push", "127.0.0.1:8088/plate", "cam-1", "皖AMK620"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "the push URL must start with http://" in result.output
