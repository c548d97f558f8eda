"""The backend is out of reach for a whole simulated day while the canteen keeps serving: a meal
every 10 minutes for 26 hours, across 10 diners, plus one diner trying a big spend and one an
amount over the per-payment limit. The offline limits the backend set apply (per payment, per
diner per day, the cache's maximum age of 24 h: after it every payment is declined in plain
words). When the network is back the queue is pushed in batches: every approval booked once,
nothing declined booked, wallets on the backend equal what the terminal took, ledger balanced."""
from __future__ import annotations

from collections import Counter
from zoneinfo import ZoneInfo
from datetime import datetime, timezone

from sync.client import SyncClient
from terminal.sync_loops import SyncEngine
from sync.status import SyncTracker
from core.wire import Credential
from core.clock import ManualClock
from terminal.decision import Decider, PaymentIntent
from terminal.enrol import device_auth
from tests.sync.rig import LIMITS

MEAL = 500
SHANGHAI = ZoneInfo("Asia/Shanghai")   # business days are the merchant's local days


def test_a_day_without_the_backend(site, tmp_path):
    diners = [site.diner(wallet_fen=100_000, name=f"赵小{i}") for i in range(10)]
    big = site.diner(wallet_fen=1_000_000, name="钱多多")
    term = site.terminal(tmp_path / "t")                       # cache pulled now
    terminal_id = term.store.identity().terminal_id
    clock = ManualClock(datetime.now(timezone.utc))
    term.store.clock = clock
    dead = SyncClient("http://127.0.0.1:9", device_auth(term.store))
    decider = Decider(term.store, clock, SyncTracker(probe_interval_s=0), dead, authorise_timeout_s=0.5)

    def pay(customer: int, amount: int):  # noqa: ANN202
        return decider.decide(PaymentIntent(Credential(kind="face", customer_id=customer), amount, meal_period="lunch"))

    results: list[tuple[float, int, int, object]] = []
    start = clock.now()
    for n in range(26 * 6):                                    # every 10 minutes for 26 hours
        hours = (clock.now() - start).total_seconds() / 3600
        who = diners[n % len(diners)]
        results.append((hours, who, MEAL, pay(who, MEAL)))
        if n % 3 == 0 and hours < 23:
            results.append((hours, big, LIMITS["per_payment_fen"], pay(big, LIMITS["per_payment_fen"])))
        if n == 7:
            results.append((hours, who, LIMITS["per_payment_fen"] + 1, pay(who, LIMITS["per_payment_fen"] + 1)))
        clock.advance(minutes=10)

    approved = [(h, c, a, o) for h, c, a, o in results if o.status == "approved"]
    declined = Counter(o.reason for _, _, _, o in results if o.status == "declined")
    assert all(o.offline for *_, o in approved)
    assert all(h < 24 for h, *_ in approved)                    # nothing approved on a cache 24 h old
    assert declined["stale_cache"] == sum(1 for h, *_ in results if h >= 24)
    assert declined["offline_per_payment"] == 1                 # the one amount over the per-payment limit
    big_days = Counter()
    for _, c, a, o in approved:
        if c == big:
            big_days[o.at.astimezone(SHANGHAI).date()] += a
    assert max(big_days.values()) == LIMITS["per_customer_day_fen"]   # the daily cap held the big spender
    assert declined["offline_per_day"] >= 1
    assert all(o.message_zh and o.message_en for *_, o in results if o.status == "declined")

    # The network is back (and the clock right): push the whole day in batches.
    engine = SyncEngine(term.store, SyncClient(site.url, device_auth(term.store)), SyncTracker(probe_interval_s=0),
                        clock, push_timeout_s=30)
    for _ in range(10):
        engine.cycle()
        if term.store.outbox.queue_depth() == 0:
            break
    assert term.store.outbox.queue_depth() == 0
    booked = site.payments(terminal_id)
    assert sorted(booked) == sorted(o.payment_id for *_, o in approved)
    assert set(booked.values()) == {"approved"}
    for who in [*diners, big]:
        took = sum(a for _, c, a, _ in approved if c == who)
        assert site.wallet(who) == (1_000_000 if who == big else 100_000) - took
    assert site.ledger_problems() == []
    print(f"offline day: {len(results)} attempts, {len(approved)} approved offline, declined {dict(declined)}")
    term.close()
