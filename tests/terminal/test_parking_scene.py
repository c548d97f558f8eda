"""The parking scene on a real store file with no backend at all: cached rules, offline
contactless within limits, fallback fee, repeat-entry rule, and garbage reads."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardware.base import BuildContext, system_clock
from hardware.events import PlateRead
from hardware.gate import ModbusGateConfig, build_modbus_gate
from sync.status import SyncTracker
from core.clock import ManualClock
from terminal.decision import Decider
from terminal.parking import ParkingScene
from terminal.parking_config import ParkingConfig
from terminal.scene import SceneOutput
from terminal.state import ParkingView
from terminal.store import Store
from tests.terminal.helpers import KEY, Page, register_fake

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)      # 09:00 in Shanghai
RULES = {"site_id": 1, "version": 1, "no_entry_fee_fen": 3000, "repeat_entry": "replace", "plans": [],
         "tariffs": {"default": {"free_minutes": 15, "day": {"first_period_minutes": 60, "first_period_fen": 500,
                                                             "unit_minutes": 60, "unit_fen": 200}}}}


def lane(tmp_path: Path, direction: str, clock: ManualClock, name: str = "lane", **config: object) -> "Lane":
    store = Store.open(tmp_path / f"{name}.db", KEY, clock)
    register_fake(store)
    page = (Page().add("tariff", 1, RULES).limits(per_payment_fen=2000, per_customer_day_fen=5000, max_cache_age_s=86400)
            .add("plate_signing", "京A12345:blue", {"plate": "京A12345", "plate_colour": "blue", "customer_id": 5,
                                                    "masked_name": "李*", "status": "active",
                                                    "per_payment_limit_fen": 5000, "per_day_limit_fen": 20000})
            .balance(5, 10_000, as_of=clock.now())
            .add("member", "1:京M00001", {"site_id": 1, "plate": "京M00001", "plan": "monthly",
                                          "valid_from": "2026-03-01", "valid_to": "2026-03-31", "status": "active"})
            .add("parking_blacklist", "1:京X00001", {"site_id": 1, "plate": "京X00001", "reason": "unpaid"}))
    page.apply(store)
    gate = build_modbus_gate(ModbusGateConfig(type="modbus_gate", name=f"{name}-gate", simulated=True, pulse_ms=50),
                             BuildContext(clock=system_clock))
    decider = Decider(store, clock, SyncTracker(), None)
    return Lane(ParkingScene(store, decider, ParkingConfig(direction=direction, lane_id=1, **config)),
                SceneOutput(gate))


@dataclass
class Lane:
    """A scene and its output, as TerminalCore joins them: results open this lane's gate."""
    scene: ParkingScene
    output: SceneOutput

    def handle(self, event: object) -> ParkingView:
        return self.output.deliver(self.scene.handle(event)).view


def openings(lane: Lane) -> int:
    return lane.output.gate.simulator.barrier.triggers


def read(plate: str, at: datetime, colour: str = "blue", confidence: float = 0.95, **kw: object) -> PlateRead:
    return PlateRead(plate, colour, confidence, "unknown", at, "cam", "img/1.jpg", **kw)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def test_offline_exit_signed_plate_within_limits_opens_after_commit(tmp_path: Path, clock: ManualClock):
    exit_ = lane(tmp_path, "exit", clock)
    exit_.scene.parking.save_stay_and_event(
        __import__("terminal.parking_store", fromlist=["Stay"]).Stay("00000000-0000-4000-8000-000000000001",
                                                                      "京A12345", "blue", T0, 1, None, "inside"), None)
    clock.advance(minutes=61)
    v = exit_.handle(read("京A12345", clock.now()))
    assert (v.phase, v.pay_kind, v.fee_fen) == ("exit_paid", "contactless", 700) and v.outcome.offline
    assert openings(exit_) == 1
    # a power cut right after the barrier: the payment, the closed stay and its event are on disk
    again = Store.open(tmp_path / "lane.db", KEY, clock)
    assert again.outbox.queue_depth() == 1
    from terminal.parking_store import ParkingStore
    reopened = ParkingStore(again)
    assert reopened.local("00000000-0000-4000-8000-000000000001").status == "exited"
    assert [e.kind for e, _ in reopened.events()] == ["exit"]


def test_offline_fee_over_the_limit_asks_to_pay_and_keeps_the_barrier_down(tmp_path: Path, clock: ManualClock):
    exit_ = lane(tmp_path, "exit", clock)
    v = exit_.handle(read("京A12345", clock.now()))               # no entry record: 30.00 fallback
    assert v.phase == "exit_quote" and v.fee_fen == 3000 and v.qr_text is None
    assert "无入场记录" in v.message_zh and "离线单笔" in v.message_zh and openings(exit_) == 0


def test_member_and_blacklist_from_the_cache(tmp_path: Path, clock: ManualClock):
    entry = lane(tmp_path, "entry", clock, name="in")
    assert entry.handle(read("京X00001", clock.now())).phase == "entry_refused"
    assert entry.handle(read("京M00001", clock.now())).phase == "entry_open"
    stay = entry.scene.parking.local_inside("京M00001")
    exit_ = lane(tmp_path, "exit", clock, name="out")
    exit_.scene.parking.save_stay_and_event(stay, None)
    clock.advance(hours=5)
    v = exit_.handle(read("京M00001", clock.now()))
    assert (v.phase, v.pay_kind) == ("exit_free", "member") and openings(exit_) == 1


def test_repeat_entry_rules(tmp_path: Path, clock: ManualClock):
    replace_lane = lane(tmp_path, "entry", clock, name="a")
    replace_lane.handle(read("京B12345", clock.now()))
    clock.advance(minutes=5)                                     # beyond the same-car window
    assert replace_lane.handle(read("京B12345", clock.now())).phase == "entry_open"
    flagged = replace_lane.scene.parking.flagged()
    assert [s.status for s in flagged] == ["replaced"] and openings(replace_lane) == 2
    refuse_lane = lane(tmp_path, "entry", clock, name="b", repeat_entry="refuse")
    refuse_lane.handle(read("京B12345", clock.now()))
    clock.advance(minutes=5)
    assert refuse_lane.handle(read("京B12345", clock.now())).phase == "entry_refused"
    assert openings(refuse_lane) == 1


def test_pass_renewed_late_still_charges_nothing_for_covered_days(tmp_path: Path, clock: ManualClock):
    exit_ = lane(tmp_path, "exit", clock)
    assert exit_.scene.rules.quote("京M00001", "blue", T0 + timedelta(days=2), None) == (3000, "fallback")
    from terminal.parking_store import Stay
    stay = Stay("s", "京M00001", "blue", T0, 1, None, "inside")
    assert exit_.scene.rules.quote("京M00001", "blue", T0 + timedelta(days=2), stay) == (0, "member")
    # The pass ends with 2026-03-31 (Shanghai): a car still inside pays for the hours after that
    # only, the same as a car without a pass that came in when the pass ended.
    pass_end = datetime(2026, 3, 31, 16, 0, tzinfo=timezone.utc)      # 04-01 00:00 in Shanghai
    leaves = pass_end + timedelta(hours=11)
    assert exit_.scene.rules.quote("京M00001", "blue", pass_end - timedelta(minutes=1), stay) == (0, "member")
    visitor = Stay("v", "京Z99999", "blue", pass_end, 1, None, "inside")
    after_pass = exit_.scene.rules.quote("京M00001", "blue", leaves, stay)
    assert after_pass == exit_.scene.rules.quote("京Z99999", "blue", leaves, visitor) and after_pass[0] > 0


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_garbage_reads_never_open_and_never_crash(tmp_path: Path, data: st.DataObject):
    clock = ManualClock(T0)
    scene = lane(tmp_path / f"g{clock.monotonic()}{id(data)}", "exit", clock, min_confidence=0.5)
    for _ in range(40):
        plate = data.draw(st.text(max_size=40) | st.sampled_from(["京A1234", "京A123456789", "ＡＢＣ", "京 A·1"]))
        colour = data.draw(st.sampled_from(["blue", "yellow", "purple", "", "蓝"]))
        confidence = data.draw(st.floats(allow_nan=True))
        v = scene.handle(read(plate, clock.now(), colour=colour, confidence=confidence))
        assert v.phase in ("exit_refused", "exit_quote", "idle")
        scene.scene.payments.pending = None
    assert openings(scene) == 0
    scene.scene.store.close()
