"""Admin calls of TerminalCore: PIN, refunds, voids, lists, shift close — each in the audit log."""
from __future__ import annotations

from datetime import timedelta

import pytest

from hardware.events import FaceMatched
from terminal.app import TerminalCore
from terminal.pin import AdminError
from core.clock import ManualClock
from tests.terminal.helpers import PIN, make_config, seeded_store


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def core(tmp_path, clock):
    return TerminalCore(make_config(tmp_path), seeded_store(tmp_path, clock), clock)


def paid(core, clock, cid=101):
    out = core.handle_event(FaceMatched(customer_id=cid, distance=0.3, margin=0.2, liveness="passed",
                                        at=clock.now()))
    assert out.status == "approved"
    return out


def test_pin_is_checked_against_the_hash_and_locks_after_five_wrong_tries(core, clock):
    assert core.verify_pin(PIN)
    for _ in range(5):
        assert core.pin_locked_until() is None
        assert not core.verify_pin("000000")
    assert core.pin_locked_until() == clock.now() + timedelta(minutes=1)
    assert not core.verify_pin(PIN)                       # locked for a minute
    with pytest.raises(AdminError) as locked:
        core.close_shift(PIN)
    assert "已锁定" in locked.value.zh and "try again at" in locked.value.en
    clock.advance(61)
    assert core.pin_locked_until() is None
    assert core.verify_pin(PIN)
    assert len(core.store.audit.entries(action="pin_failed")) == 5


def test_partial_refund_then_void_queue_refunds_for_the_backend(core, clock):
    out = paid(core, clock)
    with pytest.raises(AdminError) as wrong:
        core.refund(out.payment_id, 200, "少打一份菜", "000000")
    assert "密码" in wrong.value.zh
    done = core.refund(out.payment_id, 200, "少打一份菜", PIN)
    assert "2.00" in done.message_zh
    with pytest.raises(AdminError, match="between 0.01 and 10.00"):
        core.refund(out.payment_id, 1001, "too much", PIN)
    core.void(out.payment_id, "收错人", PIN)
    [row] = core.list_payments()
    assert row.status == "voided" and row.refunded_fen == 1200
    refunds = [p for p in core.store.outbox.pending(10) if p.kind == "refund"]
    assert [r.refund.amount_fen for r in refunds] == [200, 1000]
    assert {e.action for e in core.store.audit.entries()} >= {"refund", "void"}


def test_lists_offline_queue_and_search(core, clock):
    out = paid(core, clock)
    assert [r.payment_id for r in core.offline_queue()] == [out.payment_id]
    assert core.list_payments(query="张") and not core.list_payments(query="nobody")
    assert core.declined_after_fact() == []


def test_close_shift_totals_and_starts_a_new_shift(core, clock):
    paid(core, clock, 101)
    clock.advance(60)
    totals = core.close_shift(PIN)
    assert totals.count_by_method == {"face": 1} and totals.fen_by_method == {"face": 1200}
    assert totals.queued == 1
    clock.advance(60)
    assert core.close_shift(PIN).count_by_method == {}
    assert core.store.audit.entries(action="close_shift")
