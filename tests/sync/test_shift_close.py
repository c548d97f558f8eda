"""Shift close reaches the backend: a terminal on the real backend process closes its shift and
the backend compares it with what it booked; a payment still queued is asked for, pushed and the
re-check balances; offline, the shift closes on the terminal and says the check must be re-run."""
from __future__ import annotations

from datetime import datetime, timezone

from terminal.app import TerminalCore
from core.clock import ManualClock, from_iso
from tests.sync.faults import FaultTransport
from tests.terminal.helpers import PIN


def test_an_online_shift_closes_balanced_with_the_backend(canteen, tmp_path):
    cid = canteen.diner()
    term = canteen.terminal(tmp_path / "t1")
    core = canteen.core(term)
    assert [term.pay(cid, 500).status, term.pay(cid, 720).status] == ["approved", "approved"]

    totals = core.close_shift(PIN)
    assert totals.count_by_method == {"face": 2} and totals.fen_by_method == {"face": 1220}
    assert totals.backend_checked and totals.differences == [] and totals.queued == 0
    assert totals.backend_note_zh == ""
    again = core.close_shift(PIN)                  # the next shift: nothing taken, still balanced
    assert again.backend_checked and again.count_by_method == {} and again.differences == []
    term.close()


def test_a_queued_payment_is_asked_for_pushed_and_the_recheck_balances(canteen, tmp_path):
    cid = canteen.diner()
    faults = FaultTransport()
    term = canteen.terminal(tmp_path / "t2", transport=faults)
    core = canteen.core(term)
    canteen.backend.stop()                         # the payment is taken offline and queued
    try:
        taken = term.pay(cid, 650)
        assert taken.status == "approved" and taken.offline
        offline = core.close_shift(PIN)
    finally:
        canteen.backend.start()
    assert offline.count_by_method == {"face": 1} and offline.queued >= 1    # + the shift-closed note
    assert [row.payment_id for row in core.offline_queue()] == [taken.payment_id]
    assert not offline.backend_checked and "重新核对" in offline.backend_note_zh
    assert "Check again" in offline.backend_note_en

    # The backend, asked before the queue is pushed, names the queued payment.
    opened = from_iso(term.store.get_meta("last_shift_opened_at"))
    closed = from_iso(term.store.get_meta("last_shift_closed_at"))
    answer = term.client.close_shift(core.shift_request(opened, closed))
    assert answer.status == "differences"
    assert [str(p) for p in answer.push_payment_ids] == [taken.payment_id]
    assert {d.kind for d in answer.differences} == {"push_needed", "totals_differ"}

    # Re-check from the admin screen: the first push fails at the backend (500), the answer asks
    # for the payment, the core pushes it right away and the comparison comes back clean.
    faults.plan("/terminal/sync/push", "500")
    checked = core.recheck_shift(PIN)
    assert checked.backend_checked and checked.differences == [], checked.differences
    assert checked.pushed_for_check == 1 and checked.queued == 0
    assert canteen.payments(term.store.identity().terminal_id)[taken.payment_id] == "approved"
    term.close()


def test_a_shift_the_backend_cannot_take_closes_locally_and_says_why(canteen, tmp_path):
    """A terminal clock far off (the real-time clock lost its battery: 1999) closes the shift on
    the terminal and says to set the time, instead of failing the close."""
    term = canteen.terminal(tmp_path / "t3")
    term.store.set_meta(shift_opened_at="1999-12-01T00:00:00+00:00")
    core = TerminalCore(canteen.core_config(term.data_dir), term.store,
                        ManualClock(datetime(1999, 12, 31, 23, 0, tzinfo=timezone.utc)),
                        client=term.client, tracker=term.tracker)
    totals = core.close_shift(PIN)
    assert not totals.backend_checked and "校准时间" in totals.backend_note_zh
    assert "set the time" in totals.backend_note_en
    term.close()



def test_the_background_sync_checks_a_shift_closed_offline(canteen, tmp_path):
    """The runner's sync thread hands every cycle's report to core.after_sync (terminal/runner.py)."""
    from terminal.sync_loops import CycleReport

    cid = canteen.diner()
    term = canteen.terminal(tmp_path / "t4")
    core = canteen.core(term)
    seen = []
    core.subscribe(seen.append)
    canteen.backend.stop()
    try:
        assert term.pay(cid, 300).offline
        assert not core.close_shift(PIN).backend_checked
    finally:
        canteen.backend.start()
    core.after_sync(term.engine.cycle())
    checked = [v for v in seen if getattr(v, "backend_checked", False)]
    assert len(checked) == 1 and checked[0].differences == [] and checked[0].count_by_method == {"face": 1}
    core.after_sync(CycleReport())                      # nothing pending any more: no second check
    assert len([v for v in seen if getattr(v, "backend_checked", False)]) == 1
    term.close()
