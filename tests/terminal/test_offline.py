"""Offline decisions: every limit the backend set is enforced with a reason the diner reads,
a stale cache blocks offline approval, and the split is subsidy first from the cached rules and
the balance snapshot minus what this terminal already took."""
from __future__ import annotations

import pytest

from sync.status import SyncTracker
from core.wire import Credential
from core.clock import ManualClock
from terminal.decision import Decider, PaymentIntent
from tests.terminal.helpers import Page, open_store, register_fake, seeded_store


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def store(tmp_path, clock):
    return seeded_store(tmp_path, clock)


def decider(store, clock):
    return Decider(store, clock, SyncTracker(), client=None)   # no backend: every decision is offline


def face(cid):
    return Credential(kind="face", customer_id=cid)


def pay(store, clock, cred, amount, period="lunch"):
    return decider(store, clock).decide(PaymentIntent(cred, amount, meal_period=period))


def test_offline_approval_is_subsidy_first_and_queued(store, clock):
    out = pay(store, clock, face(101), 1200)
    assert out.status == "approved" and out.offline
    assert (out.subsidy_fen, out.own_fen) == (600, 600)          # per-meal cap 600, rest from the wallet
    assert out.wallet_balance_fen == 1400 and out.subsidy_balance_fen == 200
    assert "离线" in out.message_zh
    item = store.outbox.get(out.payment_id)
    assert item.status == "queued" and item.offline and item.customer_id == 101
    [push] = store.outbox.pending(10)
    assert push.payment.offline and push.payment.terminal_seq == item.seq
    assert sum(x.amount_fen for x in push.payment.offline_split) == 1200


def test_snapshot_minus_what_this_terminal_already_took(store, clock):
    assert pay(store, clock, face(102), 200).status == "approved"
    clock.advance(120)
    out = pay(store, clock, face(102), 200)
    assert out.status == "declined" and out.reason == "insufficient_funds"
    assert "余额不足" in out.message_zh and "top up" in out.message_en


def test_subsidy_cap_is_per_meal_and_the_rest_is_left_for_dinner(store, clock):
    pay(store, clock, face(101), 1200, "lunch")
    out = pay(store, clock, face(101), 1000, "dinner")
    assert (out.subsidy_fen, out.own_fen) == (200, 800)


def test_per_payment_limit(store, clock):
    out = pay(store, clock, face(101), 3001)
    assert (out.status, out.reason) == ("declined", "offline_per_payment")
    assert "30.00" in out.message_zh and "30.00" in out.message_en
    assert store.outbox.queue_depth() == 0                     # nothing approved, nothing queued


def test_per_diner_per_day_limit(store, clock):
    Page(start_id=90).limits(per_customer_day_fen=2000).apply(store)
    assert pay(store, clock, face(101), 1200).status == "approved"
    out = pay(store, clock, face(101), 900)
    assert (out.status, out.reason) == ("declined", "offline_per_day")
    assert "20.00" in out.message_zh


def test_terminal_total_outstanding_limit(store, clock):
    Page(start_id=90).limits(terminal_total_fen=1500).apply(store)
    assert pay(store, clock, face(101), 1200).status == "approved"
    assert pay(store, clock, face(102), 300).status == "approved"
    out = pay(store, clock, face(101), 100)
    assert (out.status, out.reason) == ("declined", "offline_terminal_total")
    assert "人工窗口" in out.message_zh


def test_stale_cache_blocks_offline_approval(store, clock):
    clock.advance(3601)
    out = pay(store, clock, face(101), 100)
    assert (out.status, out.reason) == ("declined", "stale_cache")
    assert "staffed window" in out.message_en
    store.cache.mark_pulled(clock.now())                     # a successful pull makes it current again
    assert pay(store, clock, face(101), 100).status == "approved"


def test_no_offline_limits_means_no_offline_approval(tmp_path, clock):
    store = open_store(tmp_path / "t.db", clock)
    register_fake(store)
    Page().face(101).balance(101, 5000).apply(store)
    assert pay(store, clock, face(101), 100).reason == "offline_not_allowed"


def test_revoked_suspended_and_unknown_diners(store, clock):
    Page(start_id=90).face(101, status="revoked").face(102, status="suspended").apply(store)
    assert pay(store, clock, face(101), 100).reason == "signing_revoked"     # the backend's codes
    assert pay(store, clock, face(102), 100).reason == "signing_suspended"
    assert pay(store, clock, face(999), 100).reason == "not_signed"


def test_card_resolves_to_its_diner_offline(store, clock):
    out = pay(store, clock, Credential(kind="card", card_hash="c-102"), 300)
    assert out.status == "approved" and out.masked_name == "李*"
    assert pay(store, clock, Credential(kind="card", card_hash="c-unknown"), 300).reason == "not_signed"


def test_pay_code_needs_the_network(store, clock):
    out = pay(store, clock, Credential(kind="paycode", paycode="134567890123456789"), 100)
    assert (out.status, out.reason) == ("declined", "paycode_needs_network")


def test_signing_limit_per_payment(store, clock):
    Page(start_id=90).face(101, per_payment=1000).apply(store)
    out = pay(store, clock, face(101), 1200)
    assert out.reason == "over_payment_limit" and "10.00" in out.message_zh


def test_unregistered_terminal_declines(tmp_path, clock):
    store = open_store(tmp_path / "t.db", clock)
    assert pay(store, clock, face(101), 100).reason == "not_registered"


# --- a wall clock set back (issue 12): the cache's age also counts in monotonic time ------------

def test_a_clock_set_back_does_not_make_an_old_cache_look_fresh(store, clock):
    from datetime import timedelta

    store.cache.mark_pulled(clock.now(), clock.monotonic())    # the sync loop records both readings
    clock.advance(3000)                                        # 50 min since the pull (limit: 60)
    clock.set(clock.now() - timedelta(hours=2))                # the RTC is set back two hours
    assert pay(store, clock, face(101), 100).status == "approved"
    clock.advance(700)                                         # 61 min since the pull, 69 min "before" it
    out = pay(store, clock, face(101), 100)
    assert (out.status, out.reason) == ("declined", "stale_cache")


def test_a_clock_set_back_right_after_a_pull_still_pays_offline(store, clock):
    from datetime import timedelta

    store.cache.mark_pulled(clock.now(), clock.monotonic())
    clock.set(clock.now() - timedelta(hours=5))                # the cache really is a second old
    assert pay(store, clock, face(101), 100).status == "approved"


def test_a_clock_reading_before_the_last_pull_with_no_monotonic_proof_declines(store, clock):
    """After a reboot the monotonic reading starts again and cannot vouch for the cache's age;
    a wall clock that then reads before the last pull is wrong, and nothing is approved offline."""
    from datetime import timedelta

    store.cache.mark_pulled(clock.now(), clock.monotonic() + 10**6)   # the previous boot's reading
    clock.set(clock.now() - timedelta(hours=3))
    out = pay(store, clock, face(101), 100)
    assert (out.status, out.reason) == ("declined", "clock_behind")
    assert "人工窗口" in out.message_zh and "clock" in out.message_en
    assert store.outbox.queue_depth() == 0
    store.cache.mark_pulled(clock.now(), clock.monotonic())          # a pull after the clock is right
    assert pay(store, clock, face(101), 100).status == "approved"
