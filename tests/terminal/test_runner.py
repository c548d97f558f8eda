"""The headless runner as a real process: decisions from event lines, logs without codes or
card hashes, garbage lines ignored, a clean stop on SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from core.clock import SystemClock
from terminal.store import Store, load_data_key
from tests.backend.helpers import wait_for
from terminal.demo.backend_process import free_port
from tests.sync.rig import ALL_DAY
from tests.terminal.helpers import Page, make_config, register_fake

ROOT = Path(__file__).resolve().parents[2]
PAYCODE = "134567890123456789"
CARD = "9f2c0c1e5b7d4a3f8e6d"


def prepare(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    store = Store.open(data_dir / "terminal.db", load_data_key(data_dir), SystemClock())
    register_fake(store)
    Page().limits().face(101).balance(101, 5000).card(CARD, 101).apply(store)
    store.close()
    devices = [{"type": "modbus_gate", "name": "gate", "simulated": True, "pulse_ms": 50},
               {"type": "voice", "name": "speaker", "player": "sink", "sink_dir": str(tmp_path / "said"),
                "live_tts": False}]
    config = make_config(data_dir, backend_url=f"http://127.0.0.1:{free_port()}", meal_periods=ALL_DAY,
                         devices=devices)
    path = tmp_path / "terminal.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json"), allow_unicode=True))
    return path


def run(config: Path, stdin: str | None = None, **kw) -> subprocess.Popen:  # noqa: ANN003
    return subprocess.Popen([sys.executable, "-m", "terminal.cli", "terminal", "--headless", "--config", str(config),
                             "--events", "-", *kw.get("args", [])], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ})


def test_decisions_are_logged_without_codes_or_card_numbers(tmp_path):
    config = prepare(tmp_path)
    lines = "\n".join(['{"face": 101}', "not json at all", '{"card_hash": "%s"}' % CARD,
                       '{"code": "%s", "kind": "wechat"}' % PAYCODE, '{"face": "x"}', "[1, 2]"]) + "\n"
    proc = run(config, args=["--exit-at-eof"])
    out, err = proc.communicate(lines, timeout=60)
    assert proc.returncode == 0, err
    approved = [l for l in out.splitlines() if l.startswith("APPROVED")]
    assert len(approved) == 1 and "offline=1" in approved[0]       # the card is the same diner: already paid
    assert "status=already_paid" in err and "reason=paycode_needs_network" in err
    assert err.count("event line ignored") == 3
    assert PAYCODE not in err + out and CARD not in err + out
    # the speaker announced the one payment, and said why the pay code was declined (not the card:
    # "already paid" is the screen's to say, and nothing for the ignored lines)
    assert len(list((tmp_path / "said").glob("*.wav"))) == 2
    assert "failed for payment" not in err                              # and the simulated gate opened


def test_sigterm_stops_cleanly(tmp_path):
    config = prepare(tmp_path)
    proc = run(config)
    proc.stdin.write('{"face": 101}\n')
    proc.stdin.flush()
    assert wait_for(lambda: proc.stdout.readline().startswith("APPROVED"), 30, every_s=0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "stopping" in err and "terminal stopped" in err
    store = Store.open(tmp_path / "data" / "terminal.db", load_data_key(tmp_path / "data"), SystemClock())
    assert store.outbox.queue_depth() == 1                           # the approval is in the store


def test_invalid_config_exits_with_the_field_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("scene: canteen\nbackend_url: nope\n")
    proc = run(path)
    _, err = proc.communicate("", timeout=30)
    assert proc.returncode == 2 and "backend_url" in err and "admin_pin_hash" in err


def test_parking_lane_runs_headless_with_the_camera_push_endpoint(tmp_path):
    from hardware.plates.simulator import SimulatedVzenithCamera

    data_dir = tmp_path / "data"
    store = Store.open(data_dir / "terminal.db", load_data_key(data_dir), SystemClock())
    register_fake(store)
    Page().limits().apply(store)
    store.close()
    port = free_port()
    devices = [{"type": "modbus_gate", "name": "gate", "simulated": True, "pulse_ms": 50},
               {"type": "plate_push", "name": "lpr", "host": "127.0.0.1", "port": port, "image_dir": str(tmp_path / "img"),
                "cameras": [{"name": "cam1", "serialno": "SN-ENTRY-1", "address": "127.0.0.1", "direction": "in"}]}]
    config = make_config(data_dir, scene="parking", backend_url=f"http://127.0.0.1:{free_port()}",
                         parking={"direction": "entry", "lane_id": 1}, devices=devices)
    path = tmp_path / "parking.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json"), allow_unicode=True))
    proc = run(path)
    camera = SimulatedVzenithCamera(f"http://127.0.0.1:{port}/plates/push", "SN-ENTRY-1")
    replies = []

    def pushed() -> bool:
        try:
            replies.append(camera.see("京A12345"))
        except OSError:
            return False                                      # the endpoint is not up yet
        return True

    reply = replies[0] if wait_for(pushed, 30, every_s=0.2) else None
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert reply is not None and any("京A12345" in line for line in reply.display)
    assert "phase=entry_open" in err and "terminal stopped" in err


def test_the_running_loop_shows_a_meal_period_opening_by_itself(tmp_path):
    """In process, on a ManualClock: nothing but the clock moves, and the loop publishes the new view."""
    import threading
    from datetime import datetime, timezone

    from core.clock import ManualClock
    from terminal.runner import Runner
    from terminal.state import CanteenView
    from tests.terminal.helpers import MEAL_PERIODS

    clock = ManualClock(datetime(2026, 3, 1, 22, 0, tzinfo=timezone.utc))   # 06:00 in Shanghai
    data_dir = tmp_path / "data"
    runner = Runner(make_config(data_dir, meal_periods=MEAL_PERIODS), clock=clock)
    seen: list[str] = []
    breakfast = threading.Event()

    def watch(view: object) -> None:
        if isinstance(view, CanteenView):
            seen.append(view.phase)
            if view.meal_period is not None and view.meal_period.code == "breakfast":
                breakfast.set()

    runner.core.subscribe(watch)
    loop = threading.Thread(target=runner.run, daemon=True)
    loop.start()
    try:
        assert wait_for(lambda: "closed" in seen)      # the first tick: closed before breakfast
        clock.advance(minutes=30)                      # 06:30
        assert breakfast.wait(30)
    finally:
        runner.stop_event.set()
        loop.join(10)
