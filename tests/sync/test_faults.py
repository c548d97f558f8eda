"""Faults between a terminal and the real backend: a 500, a timeout, a slow answer, a lost
answer, a batch half accepted, the same answer twice, garbage — no payment lost, none booked
twice, no diner charged for a meal they were refused."""
from __future__ import annotations

import pytest

from tests.sync.faults import FaultTransport

PAY = "/terminal/payments"
PUSH = "/sync/push"
PULL = "/sync/pull"


@pytest.fixture
def faults():
    transport = FaultTransport()
    yield transport
    transport.close()


@pytest.fixture
def term(site, tmp_path, faults):
    terminal = site.terminal(tmp_path, transport=faults, timeout_s=0.8)
    yield terminal
    terminal.close()


def booked_once(site, term, payment_ids):
    booked = site.payments(term.store.identity().terminal_id)
    return all(booked.get(pid) == "approved" for pid in payment_ids)


def pay_through(site, term, faults, fault, wallet_fen=5000, amount_fen=800):  # noqa: ANN001, ANN201
    """A new diner pays while the next online authorisation meets `fault`."""
    cid = site.diner(wallet_fen=wallet_fen)
    term.engine.cycle()
    faults.plan(PAY, fault)
    return cid, term.pay(cid, amount_fen)


@pytest.mark.parametrize("fault", ["500", "refuse"])
def test_backend_could_not_act_then_offline_approval_is_pushed_and_booked(site, term, faults, fault):
    cid, out = pay_through(site, term, faults, fault)
    assert out.status == "approved" and out.offline
    assert term.store.outbox.get(out.payment_id).status == "queued"
    assert term.engine.cycle().booked == 1
    assert booked_once(site, term, [out.payment_id]) and site.wallet(cid) == 4200


@pytest.mark.parametrize("fault", ["lose_answer", "slow"])
def test_answer_lost_after_booking_keeps_the_same_key_and_books_once(site, term, faults, fault):
    cid, out = pay_through(site, term, faults, fault)
    assert out.status == "approved" and out.offline          # the terminal could not know: offline rules
    report = term.engine.cycle()
    assert report.duplicate == 1 and report.booked == 0      # the backend already had that very payment
    assert term.store.outbox.get(out.payment_id).status == "duplicate"
    assert site.wallet(cid) == 4200                          # charged once, not twice
    assert len([p for p in site.payments(term.store.identity().terminal_id) if p == out.payment_id]) == 1


def test_refused_offline_after_a_lost_online_approval_is_refunded(site, term, faults):
    cid, out = pay_through(site, term, faults, "lose_answer", 10_000, 6000)   # over the offline per-payment limit
    assert (out.status, out.reason) == ("declined", "offline_per_payment")
    assert site.wallet(cid) == 4000                          # the backend did book it online ...
    term.engine.cycle()
    assert site.wallet(cid) == 10_000                        # ... and the compensating refund undid it
    assert term.store.outbox.get(out.payment_id).status == "refused"


def test_push_answered_500_then_ok(site, term, faults):
    cid = site.diner()
    term.engine.cycle()
    faults.plan(PAY, "refuse", times=3)
    ids = [term.pay(cid, 100).payment_id for _ in range(3)]
    faults.plan(PUSH, "500")
    assert term.engine.cycle().failure.reason == "server_error"
    assert term.store.outbox.queue_depth() == 3
    assert term.engine.cycle().booked == 3
    assert booked_once(site, term, ids)


@pytest.mark.parametrize("fault", ["half", "lose_answer", "garbage", "twice", "resend"])
def test_push_faults_lose_nothing_and_book_nothing_twice(site, term, faults, fault):
    cid = site.diner(wallet_fen=100_000)
    term.engine.cycle()
    faults.plan(PAY, "refuse", times=10)
    ids = [term.pay(cid, 100 + i).payment_id for i in range(10)]
    faults.plan(PUSH, fault)
    term.engine.cycle()
    term.engine.cycle()
    assert term.store.outbox.queue_depth() == 0
    statuses = {term.store.outbox.get(pid).status for pid in ids}
    assert statuses <= {"booked", "duplicate"}
    assert booked_once(site, term, ids)
    assert site.wallet(cid) == 100_000 - sum(100 + i for i in range(10))


def test_garbage_pull_answer_keeps_the_cache(site, term, faults):
    cursor = term.store.pull_cursor()
    faults.plan(PULL, "garbage")
    report = term.engine.cycle()
    assert report.failure is not None and report.failure.reason == "bad_answer"
    assert term.store.pull_cursor() == cursor
    assert "无法识别" in term.tracker.snapshot().last_error
    assert site.ledger_problems() == []


def test_a_change_kind_from_a_newer_backend_is_skipped_not_fatal(site, tmp_path):
    """Backends are upgraded before their terminals: a change kind this terminal does not know
    is skipped (and logged), the rest of the page applied and the cursor moved past it — a
    refused page would also hold back the revocations in it."""
    faults = FaultTransport()
    term = site.terminal(tmp_path, transport=faults)
    cid = site.diner(wallet_fen=5_000)
    faults.plan("/sync/pull", "newer_backend")
    report = term.engine.cycle()
    assert report.failure is None and report.bad_change is None, report
    assert term.store.cache.face_signing(cid) is not None          # the known changes were applied
    assert term.store.cache.items("queue_music") == {}
    assert term.pay(cid, 300).status == "approved"
    term.close()
