"""Campaigns offline (issue 17), on a real terminal store file: the terminal applies an instant
campaign only from a budget slice the backend gave IT, by the same rule as online (the best
discount wins, a random reduction seeded by the payment id), only while the slice covers the
whole discount, and the campaign's per-diner limits counted from its own uses. The slice shrinks
in the transaction that queues the payment; a bad slice change is refused with its page."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from core.campaigns import random_reduction_fen
from core.clock import ManualClock
from core.wire import Credential, PaymentRequest, SplitLine
from sync.status import SyncTracker
from terminal.cache import BadChange, SliceSpent
from terminal.decision import Decider, PaymentIntent
from tests.terminal.helpers import Page, open_store, seeded_store

TERMINAL_ID = 7          # tests.terminal.helpers.register_fake


def slice_data(campaign_id: int = 5, granted: int = 500, *, terminal_id: int = TERMINAL_ID,
               slice_id: int | None = None, status: str = "open", **terms) -> dict:  # noqa: ANN003
    terms = terms or {"kind": "fixed", "amount_fen": 300}
    return {"slice_id": slice_id or campaign_id * 10, "terminal_id": terminal_id, "campaign_id": campaign_id,
            "status": status, "granted_fen": granted, **terms}


def give(store, *slices: dict, start_id: int = 50) -> None:  # noqa: ANN001
    page = Page(start_id=start_id)
    for data in slices:
        page.add("campaign_slice", f"{data['terminal_id']}:{data['campaign_id']}", data)
    page.limits().apply(store)        # a pull also proves the cache is current


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def store(tmp_path, clock):
    return seeded_store(tmp_path, clock)


def pay(store, clock, amount: int, customer_id: int = 101, period: str = "lunch"):  # noqa: ANN001, ANN201
    out = Decider(store, clock, SyncTracker(), client=None).decide(
        PaymentIntent(Credential(kind="face", customer_id=customer_id), amount, meal_period=period))
    pushed = next((p.payment for p in store.outbox.pending(100) if str(p.payment.payment_id) == out.payment_id), None)
    return out, pushed


def left(store) -> dict[int, int]:  # noqa: ANN001
    return {x.data.campaign_id: x.left_fen for x in store.cache.campaign_slices(TERMINAL_ID)}


def test_an_instant_campaign_from_the_slice_is_applied_offline_and_queued_with_the_payment(store, clock):
    give(store, slice_data(granted=500))
    out, pushed = pay(store, clock, 1200)
    assert out.status == "approved" and out.offline
    assert (pushed.offline_campaign_id, pushed.offline_discount_fen) == (5, 300)
    assert sum(x.amount_fen for x in pushed.offline_split) == 900      # the split is on price - discount
    assert pushed.amount_fen == 1200
    assert left(store) == {5: 200}
    out, pushed = pay(store, clock, 1000)                 # 2.00 left cannot cover 3.00: no discount at all
    assert (pushed.offline_campaign_id, pushed.offline_discount_fen) == (None, 0)
    assert sum(x.amount_fen for x in pushed.offline_split) == 1000 and left(store) == {5: 200}


def test_the_slice_spent_survives_a_restart(tmp_path, store, clock):
    give(store, slice_data(granted=500))
    pay(store, clock, 1200)
    store.close()
    again = open_store(tmp_path / "terminal.db", clock)
    assert left(again) == {5: 200}
    again.close()


def test_only_this_terminals_open_slices_count(store, clock):
    give(store, slice_data(5, terminal_id=8), slice_data(6, status="closed"), slice_data(7, granted=0))
    out, pushed = pay(store, clock, 1200)
    assert out.status == "approved" and pushed.offline_discount_fen == 0 and left(store) == {}


def test_the_best_discount_wins_and_a_tie_goes_to_the_lowest_campaign(store, clock):
    give(store, slice_data(9, kind="fixed", amount_fen=300),
         slice_data(8, kind="percent", percent_off=40, cap_fen=400),
         slice_data(7, kind="threshold", threshold_fen=1000, amount_fen=400))
    _, pushed = pay(store, clock, 1000)
    assert (pushed.offline_campaign_id, pushed.offline_discount_fen) == (7, 400)
    assert left(store) == {7: 100, 8: 500, 9: 500}


def test_a_random_reduction_is_seeded_by_the_payment_id(store, clock):
    give(store, slice_data(kind="random", min_fen=1, max_fen=400))
    _, pushed = pay(store, clock, 1200)
    assert pushed.offline_discount_fen == random_reduction_fen(5, str(pushed.payment_id), 1, 400)


def test_where_and_when_the_campaign_applies_is_respected(store, clock):
    give(store, slice_data(5, merchant_ids=[2], kind="fixed", amount_fen=300),
         slice_data(6, methods=["card"], kind="fixed", amount_fen=300),
         slice_data(7, ends_at=(clock.now() - timedelta(minutes=1)).isoformat(), kind="fixed", amount_fen=300))
    _, pushed = pay(store, clock, 1200)
    assert pushed.offline_discount_fen == 0


def test_per_diner_daily_limit_counted_from_this_terminals_uses(store, clock):
    give(store, slice_data(granted=5000, per_customer_daily_limit=1, kind="fixed", amount_fen=100))
    assert pay(store, clock, 500)[1].offline_discount_fen == 100
    assert pay(store, clock, 500)[1].offline_discount_fen == 0             # once a day
    assert pay(store, clock, 300, customer_id=102)[1].offline_discount_fen == 100   # another diner
    clock.advance(86_400)
    give(store, start_id=80)                                               # a pull the next day
    assert pay(store, clock, 500, period="lunch")[1].offline_discount_fen == 100


def test_per_diner_campaign_limit(store, clock):
    give(store, slice_data(granted=5000, per_customer_limit=1, kind="fixed", amount_fen=100))
    assert pay(store, clock, 500)[1].offline_discount_fen == 100
    clock.advance(86_400)
    give(store, start_id=80)
    assert pay(store, clock, 500)[1].offline_discount_fen == 0


def test_a_discount_the_slice_can_no_longer_cover_queues_nothing(store, clock):
    """Two payments racing for the last of a slice: the loser's queueing fails as a whole (no gate
    opens on a discount nobody funds), and nothing of it is left in the store."""
    give(store, slice_data(granted=200))
    req = PaymentRequest(payment_id=uuid.uuid4(), amount_fen=1200,
                         credential=Credential(kind="face", customer_id=101), occurred_at=clock.now(), offline=True, offline_campaign_id=5, offline_discount_fen=300,
                         offline_split=[SplitLine(source="wallet", amount_fen=900)])
    with pytest.raises(SliceSpent):
        store.outbox.add_payment(req, status="queued", method="face", credential_key="face:101",
                                 customer_id=101, masked_name="张*三", business_day="2026-03-02",
                                 split=req.offline_split)
    assert store.outbox.queue_depth() == 0 and left(store) == {5: 200}


@pytest.mark.parametrize("bad", [
    {"granted_fen": -1}, {"granted_fen": 10**12}, {"granted_fen": "500"}, {"granted_fen": 5.0}, {"amount_fen": True}, {"kind": "lottery"},
    {"kind": "random", "min_fen": 400, "max_fen": 1}, {"kind": "percent", "percent_off": 100, "cap_fen": 1},
    {"amount_fen": 0}, {"merchant_ids": list(range(1001))}, {"scenes": ["beach"]}, {"methods": ["cash"]},
    {"terminal_id": None}, {"status": "maybe"}, {"starts_at": "yesterday"}, {"ends_at": "2026-03-02T12:00:00"},
    {"surprise": 1}, {"slice_id": 0}, {"per_customer_daily_limit": -1},
])
def test_a_bad_slice_is_refused_with_its_page(store, clock, bad):
    cursor = store.pull_cursor()
    page = Page(start_id=60).limits(per_payment_fen=1).add("campaign_slice", f"{TERMINAL_ID}:5",
                                                           {**slice_data(), **bad})
    with pytest.raises(BadChange):
        page.apply(store)
    assert store.pull_cursor() == cursor and left(store) == {}
    assert store.cache.offline_limits().per_payment_fen == 3000            # nothing of the page was applied


def test_a_truncated_slice_is_refused(store, clock):
    data = slice_data()
    del data["granted_fen"]
    with pytest.raises(BadChange):
        Page(start_id=60).add("campaign_slice", f"{TERMINAL_ID}:5", data).apply(store)
    assert left(store) == {}
