"""What registration writes into a lane terminal's config (terminal/installer/config.bind_lane and
the wizard's parking block): the lane's id and name, its direction when the backend's lane is one
way; never a config the terminal would refuse; nothing for a canteen or a code without a lane."""
from __future__ import annotations

import json

import pytest
import yaml

from terminal.config import load_config
from terminal.installer.config import bind_lane, parking_block
from terminal.store import Identity
from tests.terminal.helpers import PIN_HASH


def identity(lane_id: int | None = 4, direction: str | None = "exit", scene: str = "parking") -> Identity:
    return Identity(terminal_id=9, merchant_id=1, site_id=2, lane_id=lane_id, scene=scene, name="东门出口终端",
                    registered_at=None, lane_name="东门出口", lane_direction=direction)


def test_a_json_config_gets_the_lane_and_still_loads(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "lane.json"
    path.write_text(json.dumps({"scene": "parking", "backend_url": "http://127.0.0.1:9", "admin_pin_hash": PIN_HASH,
                                "parking": {"direction": "exit", "barrier_via": "camera"}}))
    assert bind_lane(path, identity()) == {"direction": "exit", "barrier_via": "camera", "lane_id": 4,
                                           "lane_name": "东门出口"}
    config = load_config(path, environ={})
    config.require_lane()
    assert (config.parking.lane_id, config.parking.lane_name, config.parking.barrier_via) == (4, "东门出口", "camera")


def test_a_lane_both_ways_needs_the_installers_direction(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "lane.yaml"
    before = yaml.safe_dump({"scene": "parking", "backend_url": "http://127.0.0.1:9", "admin_pin_hash": PIN_HASH})
    path.write_text(before)
    with pytest.raises(ValueError, match="parking.direction") as refused:
        bind_lane(path, identity(direction="both"))
    assert "通道方向未定" in str(refused.value)
    assert path.read_text() == before                      # nothing half-written


def test_nothing_to_bind_for_a_canteen_or_a_code_without_a_lane(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"scene": "canteen", "backend_url": "http://127.0.0.1:9"}))
    assert bind_lane(path, identity(scene="canteen")) is None
    assert bind_lane(path, identity(lane_id=None)) is None


def test_the_wizard_keeps_the_installers_direction_and_stores_the_name() -> None:
    block = parking_block({"lane_direction": "entry", "registration": identity(direction="exit")}, {})
    assert block == {"direction": "entry", "lane_id": 4, "lane_name": "东门出口"}
