"""Partition: the backend goes away, the terminal keeps taking payments offline, the backend
comes back, and every payment is booked exactly once with balances agreeing on both sides."""
from __future__ import annotations

from sync.client import SyncFailure


def test_two_hundred_offline_payments_are_booked_exactly_once(canteen, tmp_path):
    diners = [canteen.diner(wallet_fen=20_000, name=f"张小{i}") for i in range(10)]
    term = canteen.terminal(tmp_path / "t1")
    before = {cid: canteen.wallet(cid) for cid in diners}

    canteen.backend.stop()                                   # the network is gone
    approved = []
    for i in range(200):
        out = term.pay(diners[i % 10], 100 + i % 7)
        assert out.status == "approved", out
        assert out.offline
        approved.append(out)
    status = term.tracker.snapshot(queue_depth=term.store.outbox.queue_depth())
    assert not status.online and status.offline_since is not None and status.queue_depth == 200
    report = term.engine.cycle()                             # pushing while down changes nothing
    assert isinstance(report.failure, SyncFailure) and term.store.outbox.queue_depth() == 200

    canteen.backend.start()                                  # same port, same database
    report = term.engine.cycle()
    assert report.failure is None and report.booked == 200
    term.engine.cycle()                                      # a second cycle pushes nothing new
    assert term.store.outbox.queue_depth() == 0

    booked = canteen.payments(term.store.identity().terminal_id)
    assert sorted(booked) == sorted(o.payment_id for o in approved)   # each exactly once (unique ids)
    assert set(booked.values()) == {"approved"}
    assert canteen.payment_count() == 200
    spent = {cid: 0 for cid in diners}
    for out in approved:
        spent[diners[approved.index(out) % 10]] += out.amount_fen
    for cid in diners:
        backend_wallet = canteen.wallet(cid)
        assert backend_wallet == before[cid] - spent[cid]
        assert term.store.cache.balance(cid).wallet_fen == backend_wallet   # both sides agree
    assert canteen.ledger_problems() == []
    assert term.tracker.snapshot().online
