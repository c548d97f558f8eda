"""The canteen scene through TerminalCore: meal periods and their edges, debounce, meals per
period, keyed amounts, liveness, and the views a screen receives."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hardware.events import CardTapped, CodeScanned, FaceMatched, FaceRejected
from terminal.app import TerminalCore
from core.clock import ManualClock
from terminal.state import CanteenView
from tests.terminal.helpers import Page, make_config, seeded_store

CST = timezone(timedelta(hours=8))


@pytest.fixture
def clock():
    return ManualClock(datetime(2026, 3, 2, 12, 0, tzinfo=CST))


@pytest.fixture
def core(tmp_path, clock):
    store = seeded_store(tmp_path, clock)
    return TerminalCore(make_config(tmp_path), store, clock)


def face(clock, cid=101, liveness="passed"):
    return FaceMatched(customer_id=cid, distance=0.3, margin=0.2, liveness=liveness, at=clock.now())


def test_lunch_is_charged_at_its_price(core, clock):
    views = []
    core.subscribe(views.append)
    out = core.handle_event(face(clock))
    assert out.status == "approved" and out.amount_fen == 1200
    assert isinstance(views[-1], CanteenView) and views[-1].phase == "paid"
    assert views[-1].meal_period.code == "lunch" and views[-1].sync.queue_depth == 1


def test_lingering_diner_is_not_charged_twice(core, clock):
    first = core.handle_event(face(clock))
    clock.advance(5)
    again = core.handle_event(face(clock))
    assert again.status == "already_paid" and again.paid_at == first.at
    assert "12:00" in again.message_zh and "already paid" in again.message_en.lower()
    assert core.store.outbox.queue_depth() == 1


def test_one_lunch_per_diner_even_after_the_debounce(core, clock):
    core.handle_event(face(clock))
    clock.advance(600)
    again = core.handle_event(face(clock))
    assert again.status == "already_paid" and again.reason == "meal_limit"
    assert "本餐次已用餐" in again.message_zh
    clock.advance(hours=6)                                     # 18:10: dinner is another meal
    core.store.cache.mark_pulled(clock.now())                  # (the cache stays current meanwhile)
    assert core.handle_event(face(clock)).status == "approved"


def test_card_of_the_same_diner_counts_for_the_meal_limit(core, clock):
    Page(start_id=90).card("c-101", 101).apply(core.store)
    assert core.handle_event(CardTapped(card_hash="c-101", at=clock.now())).status == "approved"
    clock.advance(120)
    assert core.handle_event(face(clock, 101)).status == "already_paid"


@pytest.mark.parametrize("local, period", [
    ("11:00:00", "lunch"), ("13:29:59", "lunch"), ("13:30:00", None), ("06:29:59", None),
    ("06:30:00", "breakfast"), ("21:00:00", "late"), ("00:59:59", "late"), ("01:00:00", None),
])
def test_meal_period_edges(core, clock, local, period):
    h, m, s = map(int, local.split(":"))
    clock.set(datetime(2026, 3, 2, h, m, s, tzinfo=CST))
    view = core.current_view()
    assert (view.meal_period.code if view.meal_period else None) == period
    if period is None:
        out = core.handle_event(face(clock))
        assert (out.status, out.reason) == ("declined", "closed") and "售餐时间" in out.message_zh


def test_late_meal_after_midnight_belongs_to_the_day_it_began(core, clock):
    clock.set(datetime(2026, 3, 2, 0, 30, tzinfo=CST))
    core.store.cache.mark_pulled(clock.now())   # pulled at this hour (the clock was set back before the pull)
    core.key_in_amount(800)
    out = core.handle_event(face(clock))
    assert out.status == "approved"
    assert core.store.outbox.get(out.payment_id).meal_period == "late"
    assert core.store.outbox.items(day="2026-03-01")[0].item_id == out.payment_id


def test_keyed_amount_is_needed_when_the_period_has_no_price_and_used_once(core, clock):
    clock.set(datetime(2026, 3, 2, 21, 30, tzinfo=CST))
    core.store.cache.mark_pulled(clock.now())
    assert core.handle_event(face(clock)).reason == "amount_needed"
    core.key_in_amount(650)
    assert core.current_view().keyed_amount_fen == 650
    out = core.handle_event(face(clock))
    assert (out.status, out.amount_fen) == ("approved", 650)
    clock.advance(120)                                         # late has no meal limit, but a new amount is needed
    assert core.handle_event(face(clock)).reason == "amount_needed"
    with pytest.raises(ValueError):
        core.key_in_amount(0)


def test_liveness_is_required_by_config(core, clock):
    out = core.handle_event(face(clock, liveness="not_required"))
    assert (out.status, out.reason) == ("declined", "liveness_needed")
    assert core.store.outbox.queue_depth() == 0


def test_face_rejections_and_unknown_codes_are_explained(core, clock):
    out = core.handle_event(FaceRejected(reason="spoof", at=clock.now()))
    assert out.status == "declined" and "活体" in out.message_zh
    out = core.handle_event(CodeScanned(text="hello", kind="unknown", at=clock.now()))
    assert out.reason == "unknown_code"


def test_view_goes_back_to_idle(core, clock):
    core.handle_event(face(clock))
    core.clear_outcome()
    assert core.current_view().phase == "idle" and core.current_view().outcome is None


def test_the_gate_opens_once_per_approval_after_the_row_is_on_disk(tmp_path, clock):
    """TerminalCore opens this lane's gate itself (terminal.scene.SceneOutput), by payment id, only
    for an approval whose row is already committed; "already paid" and a decline leave it shut."""
    from hardware.base import BuildContext, system_clock
    from hardware.gate import ModbusGateConfig, build_modbus_gate

    store = seeded_store(tmp_path, clock)
    gate = build_modbus_gate(ModbusGateConfig(type="modbus_gate", name="gate", simulated=True, pulse_ms=50),
                             BuildContext(clock=system_clock))
    gate.open()
    core = TerminalCore(make_config(tmp_path), store, clock, gate=gate)
    on_disk_at_opening = []
    core.on_outcome = lambda outcome: outcome.status == "approved" and on_disk_at_opening.append(
        (store.outbox.get(outcome.payment_id).status, gate.simulator.barrier.triggers))
    paid = core.handle_event(face(clock))
    assert paid.status == "approved" and gate.simulator.barrier.triggers == 1
    assert on_disk_at_opening == [("queued", 1)]          # announced after the commit and the gate
    clock.advance(5)
    assert core.handle_event(face(clock)).status == "already_paid"
    assert core.handle_event(CardTapped(card_hash="unknown", at=clock.now())).status == "declined"
    assert gate.simulator.barrier.triggers == 1 and len(on_disk_at_opening) == 1
    gate.close()


def test_a_declined_payment_is_announced_but_a_stranger_is_not(tmp_path, clock):
    """The core announces (the runner then speaks) an approval and a payment declined with an id,
    whose reason the speaker says in the catalogue's words; a face refused before any payment
    (no match, a photo) stays silent, so the gate does not say 支付失败 to the queue."""
    store = seeded_store(tmp_path, clock)
    core = TerminalCore(make_config(tmp_path), store, clock)
    announced = []
    core.on_outcome = lambda outcome: announced.append((outcome.status, outcome.reason))
    assert core.handle_event(FaceRejected(reason="no_match", at=clock.now())).status == "declined"
    assert announced == []
    declined = core.handle_event(CardTapped(card_hash="unknown", at=clock.now()))
    assert declined.status == "declined" and declined.payment_id
    assert announced == [("declined", declined.reason)]
    assert core.handle_event(face(clock)).status == "approved"
    assert [status for status, _ in announced] == ["declined", "approved"]
