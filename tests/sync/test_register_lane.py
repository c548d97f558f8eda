"""Registration binds a lane terminal to its lane: `gatepay terminal register` with a code bound
to a lane writes parking.lane_id, the lane's name and its direction into the config; before
that, the lane terminal refuses to start and says why in zh/en (exit 2, no traceback). Real
`gatepay` processes against the real backend process (the parking rig's car park)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.terminal.parking_rig import PIN_HASH, park  # noqa: F401 - a fixture

pytestmark = pytest.mark.slow
GATEPAY = str(Path(sys.executable).with_name("gatepay"))


def gatepay(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([GATEPAY, *args], capture_output=True, text=True, timeout=120, input="")
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


def lane_config(park, tmp_path: Path, **extra: object) -> Path:  # noqa: ANN001
    path = tmp_path / "lane.yaml"
    path.write_text(yaml.safe_dump({"scene": "parking", "backend_url": park.backend.url, "admin_pin_hash": PIN_HASH,
                                    "data_dir": str(tmp_path / "data"), **extra}, allow_unicode=True))
    return path


def run_headless(path: Path) -> subprocess.CompletedProcess:
    return gatepay("terminal", "--headless", "--config", str(path), "--events", "-", "--exit-at-eof")


def test_register_writes_the_lane_then_the_lane_terminal_starts(park, tmp_path) -> None:  # noqa: ANN001
    path = lane_config(park, tmp_path)
    refused = run_headless(path)
    assert refused.returncode == 2
    assert "停车场景需要 parking 配置" in refused.stderr and "scene parking needs" in refused.stderr

    code = park.post("/api/v1/enrolment-codes", {"site_id": park.site_id, "lane_id": park.entry_lane_id,
                                                 "name": "东门入口终端", "scene": "parking"})["code"]
    registered = gatepay("terminal", "register", "--config", str(path), "--code", code)
    assert registered.returncode == 0, registered.stderr
    assert "通道已写入配置" in registered.stdout and "entry 1" in registered.stdout
    block = yaml.safe_load(path.read_text())["parking"]
    assert (block["lane_id"], block["lane_name"], block["direction"]) == (park.entry_lane_id, "entry 1", "entry")
    assert yaml.safe_load(path.read_text())["admin_pin_hash"] == PIN_HASH      # the rest of the file kept

    assert run_headless(path).returncode == 0


def test_a_lane_block_without_a_lane_is_refused_in_both_languages(park, tmp_path) -> None:  # noqa: ANN001
    refused = run_headless(lane_config(park, tmp_path, parking={"direction": "exit"}))
    assert refused.returncode == 2
    assert "parking.lane_id" in refused.stderr
    assert "本停车终端没有绑定通道" in refused.stderr and "this lane terminal has no lane" in refused.stderr
