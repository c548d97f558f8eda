"""`gatepay doctor` through the real CLI: simulators, a missing port, a broken board on a
pseudo-terminal, the full terminal config, a bad config, and a device that never answers."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import yaml
from typer.testing import CliRunner

from hardware.base import CheckResult
from hardware.doctor import check_devices, render
from hardware.registry import build_device, parse_devices
from terminal.cli import app
from tests.hardware.serial_pty import PtyDevice

SIMULATED = [
    {"type": "serial_scanner", "name": "scanner", "simulated": True},
    {"type": "hid_scanner", "name": "usb-scanner", "simulated": True},
    {"type": "serial_card_reader", "name": "card", "simulated": True, "mode": "frame"},
    {"type": "modbus_gate", "name": "gate", "role": "exit-1", "simulated": True, "sensor_input": 4},
    {"type": "numato_gate", "name": "turnstile", "simulated": True},
    {"type": "voice", "name": "voice", "simulated": True},
    {"type": "lane_display", "name": "led", "role": "exit-1", "simulated": True},
]


def _doctor(path: Path, *args: str):  # noqa: ANN202
    return CliRunner().invoke(app, ["doctor", "--config", str(path), *args])


def _write(tmp_path: Path, devices: list[dict], name: str = "devices.yaml") -> Path:
    path = tmp_path / name
    dump = json.dumps if name.endswith(".json") else lambda d: yaml.safe_dump(d, allow_unicode=True)
    path.write_text(dump({"devices": devices}), encoding="utf-8")
    return path


def test_simulated_devices_pass_but_are_never_called_ready_for_service(tmp_path: Path) -> None:
    result = _doctor(_write(tmp_path, SIMULATED))
    assert result.exit_code == 0, result.output
    assert result.output.count("[模拟 SIM ]") == len(SIMULATED) and "[正常 OK ]" not in result.output
    assert result.output.count("模拟器：仅供演示和培训，不可投入使用") == len(SIMULATED)
    assert "共检查 7 台设备，0 台故障" in result.output
    assert "其中 7 台是模拟器，不可投入使用" in result.output
    english = _doctor(_write(tmp_path, SIMULATED), "--lang", "en")
    assert "7 are simulators: not ready for service." in english.output


def test_a_missing_device_fails_the_run_and_says_what_to_do(tmp_path: Path) -> None:
    devices = SIMULATED + [{"type": "modbus_gate", "name": "entry-gate", "port": "/dev/ttyUSB-missing"}]
    result = _doctor(_write(tmp_path, devices))
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if "故障 FAIL" in line]
    assert failed == ["[故障 FAIL] entry-gate (modbus_gate): 找不到串口 /dev/ttyUSB-missing"]
    assert "怎么办: 检查数据线是否插好" in result.output
    assert "what to do: check the cable" in result.output
    assert "本机发现的设备" in result.output or "本机没有发现串口" in result.output   # where to look next


def test_what_is_plugged_in_is_listed_for_the_installer() -> None:
    from hardware.discovery import Suggestion
    from hardware.doctor import found_here

    text = found_here("zh", [Suggestion("numato_gate", "/dev/ttyACM0", "Numato Lab Relay", True),
                             Suggestion("modbus_gate", "/dev/ttyUSB0", "CH340", False),
                             Suggestion("serial_scanner", "/dev/ttyUSB0", "CH340", False)])
    assert text.splitlines()[:3] == ["本机发现的设备 / found on this machine:",
                                     "  /dev/ttyACM0  Numato Lab Relay", "  /dev/ttyUSB0  CH340"]
    assert text.splitlines()[3].startswith("摄像头 / cameras: ")      # and the cameras it can see


def test_a_board_that_does_not_answer_on_its_port_is_named(tmp_path: Path) -> None:
    with PtyDevice(respond=lambda data: b"") as dev:     # powered off: the line is there, nobody answers
        devices = [{"type": "numato_gate", "name": "turnstile", "port": dev.port, "reply_timeout_ms": 100,
                    "retries": 0}, {"type": "voice", "name": "voice", "simulated": True}]
        result = _doctor(_write(tmp_path, devices, "d.json"), "--lang", "en")
    assert result.exit_code == 1
    assert "[FAIL] turnstile (numato_gate): gate not responding" in result.output
    assert "what to do: check the relay board's power" in result.output
    assert "[SIM] voice (voice)" in result.output   # passes, but as the simulator it is
    assert dev.received.startswith(b"relay read 0\r")   # it asked, it did not pulse the gate


def test_the_full_terminal_config_is_read(tmp_path: Path) -> None:
    from terminal.config import hash_pin

    path = tmp_path / "terminal.yaml"
    path.write_text(yaml.safe_dump({
        "scene": "parking", "backend_url": "http://127.0.0.1:9", "admin_pin_hash": hash_pin("1234", iterations=1000),
        "devices": SIMULATED[:2],
    }), encoding="utf-8")
    result = _doctor(path)
    assert result.exit_code == 1, result.output          # nothing listens at the backend's address
    assert "[故障 FAIL] backend: 连不上后台 http://127.0.0.1:9" in result.output
    assert "共检查 2 台设备，0 台故障" in result.output     # the devices are checked all the same


def test_a_typo_in_the_config_is_named_and_nothing_is_tested(tmp_path: Path) -> None:
    path = tmp_path / "devices.json"
    path.write_text(json.dumps({"devices": [{"type": "modbus_gate", "name": "g", "simulated": True, "coill": 3}]}))
    result = _doctor(path)
    assert result.exit_code == 2
    assert "coill" in result.output and "设备配置有误" in result.output


def test_duplicate_device_names_are_refused(tmp_path: Path) -> None:
    result = _doctor(_write(tmp_path, [SIMULATED[0], SIMULATED[0]]))
    assert result.exit_code == 2 and "重复" in result.output


def test_an_unplugged_simulator_is_reported_among_working_ones() -> None:
    configs = parse_devices(SIMULATED)
    card = build_device(configs[2], card_key=b"k" * 32)
    card.simulator.unplug()
    gate = build_device(configs[3])
    gate.simulator.mute = True
    results = check_devices(configs, prebuilt={"card": card, "gate": gate}, timeout_s=5)
    assert [r.device for r in results] == [c.name for c in configs]
    assert {r.device for r in results if not r.ok} == {"card", "gate"}
    text = render(results, {c.name: c.type for c in configs})
    assert "[故障 FAIL] card (serial_card_reader): 串口 (simulated) 断开了" in text
    assert "[故障 FAIL] gate (modbus_gate): 道闸没有响应" in text
    assert "共检查 7 台设备，2 台故障" in text


class _NeverAnswers:
    """A driver stuck in its self-test (a wedged USB device): doctor must move on."""

    name = "stuck"

    def __init__(self) -> None:
        self.release = threading.Event()

    def self_test(self) -> CheckResult:
        self.release.wait(5)
        return CheckResult.passed("stuck", "", "")

    def close(self) -> None:
        self.release.set()


def test_a_device_that_hangs_is_reported_and_the_others_still_checked() -> None:
    configs = parse_devices([SIMULATED[0], {"type": "voice", "name": "stuck", "simulated": True}])
    stuck = _NeverAnswers()
    results = check_devices(configs, prebuilt={"stuck": stuck}, timeout_s=0.2)
    assert [(r.device, r.ok) for r in results] == [("scanner", True), ("stuck", False)]
    assert "没有应答" in results[1].zh


def test_a_camera_whose_picture_file_is_missing_is_named_without_a_traceback(tmp_path: Path) -> None:
    devices = SIMULATED[:1] + [{"type": "simulated_camera", "name": "face-cam", "files": [str(tmp_path / "gone.jpg")]}]
    result = _doctor(_write(tmp_path, devices))
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    failed = [line for line in result.output.splitlines() if "故障 FAIL" in line]
    assert failed == [f"[故障 FAIL] face-cam (simulated_camera): 读不了摄像头图片 {tmp_path / 'gone.jpg'}（文件不存在）"]
    assert "检查配置中 files 的路径" in result.output
    assert "共检查 2 台设备，1 台故障" in result.output       # the scanner was still checked


def test_a_devices_only_file_with_typos_is_explained_with_guesses(tmp_path: Path) -> None:
    devices = [{"type": "voise", "name": "speaker", "simulated": True},
               {"type": "voice", "name": "voice", "simulatd": True}]
    result = _doctor(_write(tmp_path, devices))
    assert result.exit_code == 2
    assert "field 'devices.0.type': 没有这种设备类型 'voise'，是否想写 'voice'？" in result.output
    assert "field 'devices.1.simulatd'" in result.output and "did you mean 'simulated'?" in result.output
    assert "errors.pydantic.dev" not in result.output and "tagged-union" not in result.output


def test_lang_en_prints_english_only(tmp_path: Path) -> None:
    import re

    cjk = re.compile(r"[\u4e00-\u9fff]")
    devices = [{"type": "voice", "name": "voice", "simulated": True},
               {"type": "modbus_gate", "name": "gate", "port": "/dev/ttyUSB-missing"}]
    result = _doctor(_write(tmp_path, devices), "--lang", "en")
    assert result.exit_code == 1
    assert "[SIM] voice (voice)" in result.output and "[FAIL] gate (modbus_gate)" in result.output
    typo = _doctor(_write(tmp_path, [{"type": "voise", "name": "v", "simulated": True}], "typo.yaml"), "--lang", "en")
    assert typo.exit_code == 2
    assert "field 'devices.0.type': no device type 'voise': did you mean 'voice'?" in typo.output
    missing = _doctor(tmp_path / "nowhere.yaml", "--lang", "en")
    assert missing.exit_code == 2 and "cannot read config file" in missing.output
    for output in (result.output, typo.output, missing.output):
        assert not cjk.search(output), output


def test_a_missing_camera_is_named_at_once_and_the_cameras_seen_are_listed(tmp_path: Path) -> None:
    from hardware.discovery import camera_nodes

    devices = [{"type": "opencv_camera", "name": "face-cam", "source": "/dev/video-missing"}]
    result = _doctor(_write(tmp_path, devices))
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if "故障 FAIL" in line]
    assert failed == ["[故障 FAIL] face-cam (opencv_camera): 找不到摄像头 face-cam 的视频源 /dev/video-missing"]
    seen = camera_nodes()
    assert ("摄像头 / cameras: " + ("、".join(seen) or "本机没有发现摄像头")) in result.output
    assert "没有应答" not in result.output          # not the 15 s "no answer"


def test_camera_nodes_lists_video_devices(tmp_path: Path) -> None:
    from hardware.discovery import camera_nodes

    for name in ("video10", "video0", "video2", "vcs"):
        (tmp_path / name).touch()
    assert camera_nodes(tmp_path) == [str(tmp_path / "video0"), str(tmp_path / "video2"), str(tmp_path / "video10")]
