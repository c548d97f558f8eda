"""`gatepay doctor` checks the backend too, against the real backend on loopback: reachable,
this terminal registered and accepted, the clock within 30 s of the backend's."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import yaml
from typer.testing import CliRunner

from core.clock import ManualClock, SystemClock
from terminal.cli import app
from terminal.doctor import check_backend
from terminal.enrol import register
from terminal.runner import open_store

VOICE = [{"type": "voice", "name": "voice", "simulated": True}]


def _config_file(canteen, tmp_path: Path, **over) -> tuple[Path, object]:  # noqa: ANN001
    config = canteen.core_config(tmp_path / "data", devices=VOICE).model_copy(update=over)
    path = tmp_path / "terminal.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    return path, config


def _doctor(path: Path, *args: str):  # noqa: ANN202
    return CliRunner().invoke(app, ["doctor", "--config", str(path), *args])


def test_an_unregistered_terminal_is_told_how_to_register(canteen, tmp_path) -> None:  # noqa: ANN001
    path, _ = _config_file(canteen, tmp_path)
    result = _doctor(path)
    assert result.exit_code == 1, result.output
    assert f"[正常 OK ] backend: 后台正常：{canteen.url}" in result.output
    assert "[故障 FAIL] registration: 这台终端还没有注册" in result.output
    assert "gatepay terminal register" in result.output
    assert "[模拟 SIM ] voice (voice)" in result.output            # the devices are still checked


def test_a_registered_terminal_passes_with_its_id_and_clock(canteen, tmp_path) -> None:  # noqa: ANN001
    path, config = _config_file(canteen, tmp_path)
    store = open_store(config, SystemClock())
    identity = register(store, canteen.url, canteen.code())
    store.close()
    result = _doctor(path, "--lang", "en")
    assert result.exit_code == 0, result.output
    assert f"[OK] registration: registered: terminal {identity.terminal_id}" in result.output
    assert "[OK] clock: the clock is right" in result.output
    assert "not ready for service" in result.output                 # a simulated voice is still a simulator


def test_a_clock_two_minutes_off_fails_and_says_to_set_the_time(canteen, tmp_path) -> None:  # noqa: ANN001
    _, config = _config_file(canteen, tmp_path)
    store = open_store(config, SystemClock())
    register(store, canteen.url, canteen.code())
    store.close()
    slow = ManualClock(SystemClock().now() - timedelta(minutes=2))
    clock_line = {r.device: r for r in check_backend(config, slow)}["clock"]
    assert not clock_line.ok and clock_line.zh.startswith("终端时钟与后台相差 1") and "NTP" in clock_line.fix_en


def test_an_unreachable_backend_is_named_and_nothing_else_is_tried(canteen, tmp_path) -> None:  # noqa: ANN001
    from terminal.demo.backend_process import free_port

    path, _ = _config_file(canteen, tmp_path, backend_url=f"http://127.0.0.1:{free_port()}")
    result = _doctor(path)
    assert result.exit_code == 1
    assert "[故障 FAIL] backend: 连不上后台 http://127.0.0.1:" in result.output and "registration" not in result.output
    assert "Traceback" not in result.output
