"""An approved payment opens this lane's gate only: a box wired to two passages (or an exit gate
next to the entry gate) must never open both for one diner."""
from __future__ import annotations

import io

import pytest

from core.clock import SystemClock
from terminal.config import ConfigError, validate_config
from terminal.runner import Runner
from terminal.store import Store, load_data_key
from tests.sync.rig import ALL_DAY
from tests.terminal.helpers import Page, make_config, register_fake


def gates(*names: str) -> list[dict]:
    return [{"type": "modbus_gate", "name": n, "role": n, "simulated": True, "pulse_ms": 50,
             "travel_ms": 100} for n in names]


def runner(tmp_path, **over) -> Runner:  # noqa: ANN001
    data_dir = tmp_path / "data"
    store = Store.open(data_dir / "terminal.db", load_data_key(data_dir), SystemClock())
    register_fake(store)
    Page().limits().face(101).balance(101, 5000).apply(store)
    store.close()
    config = make_config(data_dir, backend_url="http://127.0.0.1:9", meal_periods=ALL_DAY,
                         liveness_required=False, **over)
    return Runner(config, out=io.StringIO())


def pay_once(run: Runner) -> None:
    run.feed(['{"face": 101}\n'])
    run.run(stop_at_eof=True)
    assert "APPROVED" in run.out.getvalue()


def triggers(run: Runner) -> dict[str, int]:
    return {name: d.simulator.barrier.triggers for name, d in run.devices.items() if hasattr(d, "simulator")}


def test_the_named_gate_opens_and_the_other_lane_stays_shut(tmp_path):
    run = runner(tmp_path, devices=gates("entry-1", "entry-2"), gate="entry-2")
    pay_once(run)
    assert triggers(run) == {"entry-1": 0, "entry-2": 1}


def test_the_only_gate_is_this_lanes_gate_without_naming_it(tmp_path):
    run = runner(tmp_path, devices=gates("gate"))
    assert run.config.lane_gate == "gate"
    pay_once(run)
    assert triggers(run) == {"gate": 1}


def test_two_gates_without_a_choice_or_an_unknown_gate_are_refused_at_start(tmp_path):
    base = make_config(tmp_path).model_dump(mode="json")
    with pytest.raises(ConfigError, match="several gates"):
        validate_config({**base, "devices": gates("entry-1", "entry-2")})
    with pytest.raises(ConfigError, match="not one of the configured gates"):
        validate_config({**base, "devices": gates("entry-1"), "gate": "exit-1"})
