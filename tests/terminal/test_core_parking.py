"""The composition root's parking path: a `parking:` block in the terminal config makes
TerminalCore a parking lane (its views, its barrier, the PIN), built the way the runner builds it."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hardware.events import PlateRead
from hardware.registry import build_devices
from terminal.app import TerminalCore
from core.clock import ManualClock
from terminal.config import ConfigError, validate_config
from terminal.state import ParkingView
from tests.terminal.helpers import PIN, PIN_HASH, Page, open_store, register_fake

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


def parking_config(tmp_path, direction="entry"):
    return validate_config({"scene": "parking", "backend_url": "http://127.0.0.1:9", "admin_pin_hash": PIN_HASH,
                            "data_dir": str(tmp_path), "parking": {"direction": direction, "lane_id": 1},
                            "devices": [{"type": "modbus_gate", "name": "gate", "simulated": True, "pulse_ms": 50}]})


def test_parking_scene_needs_its_lane_block_to_run(tmp_path):
    config = validate_config({"scene": "parking", "backend_url": "http://127.0.0.1:9", "admin_pin_hash": PIN_HASH})
    with pytest.raises(ConfigError, match="field 'parking'"):
        TerminalCore(config, open_store(tmp_path / "t.db"), ManualClock(T0))


def test_core_as_an_entry_lane_opens_its_gate_and_publishes_parking_views(tmp_path):
    clock = ManualClock(T0)
    config = parking_config(tmp_path)
    store = open_store(tmp_path / "t.db", clock)
    register_fake(store)
    Page().limits().apply(store)
    devices = build_devices(config.devices)
    gate = devices["gate"]
    gate.open()
    core = TerminalCore(config, store, clock, gate=gate)
    views = []
    core.subscribe(views.append)
    assert isinstance(core.current_view(), ParkingView) and core.current_view().phase == "idle"
    core.handle_event(PlateRead("京A12345", "blue", 0.97, "in", clock.now(), "cam", "img/1.jpg"))
    assert core.current_view().phase == "entry_open" and core.current_view().plate == "京A12345"
    assert isinstance(views[-1], ParkingView) and views[-1].phase == "entry_open"
    assert gate.simulator.barrier.triggers == 1
    with pytest.raises(ValueError, match="tariff"):
        core.key_in_amount(500)
    assert core.verify_pin(PIN)
    gate.close()


@pytest.mark.parametrize("barrier_via", ["gate", "camera"])
def test_the_camera_push_is_answered_and_only_the_chosen_output_lifts_the_barrier(tmp_path, barrier_via):
    """barrier_via "gate": our relay pulses once and the camera is told to keep its output shut;
    "camera": the camera's own output lifts the barrier on our answer and the relay stays still."""
    from terminal.parking_lane import ParkingLane

    clock = ManualClock(T0)
    base = parking_config(tmp_path).model_dump(mode="json")
    config = validate_config({**base, "parking": {**base["parking"], "barrier_via": barrier_via}})
    store = open_store(tmp_path / "t.db", clock)
    register_fake(store)
    Page().limits().apply(store)
    gate = build_devices(config.devices)["gate"]
    gate.open()
    core = TerminalCore(config, store, clock, gate=gate)
    views = []
    core.subscribe(views.append)
    lane = ParkingLane(core.scene, core.output)
    answer = lane.decide(PlateRead("京A12345", "blue", 0.97, "in", clock.now(), "cam", "img/1.jpg"))
    assert answer.display == ("京A12345", "欢迎光临") and answer.voice == "欢迎光临"
    assert answer.open_barrier is (barrier_via == "camera")
    assert gate.simulator.barrier.triggers == (1 if barrier_via == "gate" else 0)
    assert views[-1].phase == "entry_open"          # the screen shows it either way
    again = lane.decide(PlateRead("京A12345", "blue", 0.97, "in", clock.now(), "cam", "img/1.jpg"))
    assert again.open_barrier is (barrier_via == "camera")   # the same car pushed twice: one stay, one pulse
    assert gate.simulator.barrier.triggers == (1 if barrier_via == "gate" else 0)
    gate.close()
