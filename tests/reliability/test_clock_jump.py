"""The terminal's clock jumps by hours (a dead RTC battery, a wrong manual setting, NTP stepping
back). Both the decisions and the request signatures follow that clock, as on a real box.

What happens: the backend refuses signatures more than 5 minutes off (401 "clock"), so the
terminal works offline: it approves within its offline limits (a jump beyond the cache's
maximum age declines instead), queues the payments, and its sync status shows the skew. Once the
clock is right again the queue is pushed and each payment is booked exactly once, with the time
the terminal recorded. The ledger balances throughout."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sync.auth import TerminalAuth
from sync.client import SyncClient
from terminal.sync_loops import SyncEngine
from core.signing import private_key_from_bytes
from sync.status import SyncTracker
from core.clock import ManualClock
from terminal.decision import Decider


def jumped_terminal(site, data_dir):  # noqa: ANN001, ANN201
    """A registered terminal (cache pulled) whose decisions and signatures follow a ManualClock."""
    term = site.terminal(data_dir)
    clock = ManualClock(datetime.now(timezone.utc))
    term.store.cache.mark_pulled(clock.now(), clock.monotonic())   # its last pull, on its own clock
    identity = term.store.identity()
    auth = TerminalAuth(private_key_from_bytes(term.store.get_secret("device_key")), identity.terminal_id,
                        clock=lambda: clock.now().timestamp())
    client = SyncClient(site.url, auth)
    tracker = SyncTracker(probe_interval_s=0)
    term.store.clock = clock
    decider = Decider(term.store, clock, tracker, client, authorise_timeout_s=2.0)
    engine = SyncEngine(term.store, client, tracker, clock, push_timeout_s=10)
    return term, clock, decider, engine, tracker


@pytest.mark.parametrize("jump_h", [+3, -5])
def test_a_clock_hours_off_works_offline_then_books_once_when_corrected(site, tmp_path, jump_h):
    from terminal.decision import PaymentIntent
    from core.wire import Credential

    diner = site.diner(wallet_fen=50_000)
    term, clock, decider, engine, _ = jumped_terminal(site, tmp_path / "t")
    terminal_id = term.store.identity().terminal_id
    right = clock.now()
    clock.set(right + timedelta(hours=jump_h))
    outcomes = [decider.decide(PaymentIntent(Credential(kind="face", customer_id=diner), 500, meal_period="lunch"))
                for _ in range(3)]
    assert [o.status for o in outcomes] == ["approved"] * 3 and all(o.offline for o in outcomes)
    engine.cycle()                                           # the backend answers 401 "clock"
    assert site.payments(terminal_id) == {}                 # refused while the clock is off ...
    assert term.store.outbox.queue_depth() == 3             # ... and kept, not dropped

    clock.set(right + timedelta(seconds=30))                # NTP puts it right
    engine.cycle()
    booked = site.payments(terminal_id)
    assert sorted(booked) == sorted(o.payment_id for o in outcomes)
    assert set(booked.values()) == {"approved"}
    assert term.store.outbox.queue_depth() == 0
    assert site.wallet(diner) == 50_000 - 1_500
    assert site.ledger_problems() == []
    term.close()


def test_a_jump_beyond_the_cache_age_declines_offline_in_plain_words(site, tmp_path):
    from terminal.decision import PaymentIntent
    from core.wire import Credential

    diner = site.diner(wallet_fen=50_000)
    term, clock, decider, _engine, _ = jumped_terminal(site, tmp_path / "t")
    clock.set(clock.now() + timedelta(hours=30))            # max_cache_age_s is 24 h in this site
    outcome = decider.decide(PaymentIntent(Credential(kind="face", customer_id=diner), 500, meal_period="lunch"))
    assert outcome.status == "declined" and outcome.message_zh and outcome.message_en
    assert term.store.outbox.queue_depth() == 0
    term.close()
