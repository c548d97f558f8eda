"""Backend faults, with the backend on PostgreSQL as in production:

- the backend process is killed (SIGKILL) while a terminal pushes a day's queue: the push fails,
  the items stay queued, the restarted backend books the rest and answers 'duplicate' for what
  it had already committed — every payment booked once;
- a terminal's cache is far behind (thousands of changes, a revoked signing and a new diner since
  its last pull): one sync cycle catches up page by page, after which its offline decisions
  follow the backend (the revoked diner is declined, the new one approved, balances equal)."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from backend.models.customers import Customer
from backend.services.customers import deposit, publish_balance
from tests.backend.helpers import wait_for
from tests.reliability.helpers import drain
from tests.sync.rig import Canteen

pytestmark = pytest.mark.postgres
PAYMENTS = 120
CHANGES = 700       # more than one pull page of 500


@pytest.fixture
def pg_site(tmp_path_factory, pg_template):  # noqa: ANN001
    # One database per test: the kill below leaves a hole in the change-id sequence (the killed
    # transaction's ids), and a pull waits GAP_GRACE_S before reading past a fresh hole — a
    # shared database would make the catch-up test depend on how fast the kill test ran.
    from tests.conftest import drop_pg_db, new_pg_db

    name, url = new_pg_db(pg_template)
    canteen = Canteen(tmp_path_factory.mktemp("pg"), db_url=url)
    yield canteen
    canteen.close()
    drop_pg_db(name)


def test_backend_killed_during_a_push_batch_books_each_payment_once(pg_site, tmp_path):
    site = pg_site
    diners = [site.diner(wallet_fen=1_000_000, name=f"孙小{i}") for i in range(20)]
    term = site.terminal(tmp_path / "t")
    terminal_id = term.store.identity().terminal_id
    term.decider.client = None                                  # the day's payments, queued offline
    ids = [term.pay(diners[n % 20], 100 + n).payment_id for n in range(PAYMENTS)]
    assert term.store.outbox.queue_depth() == PAYMENTS
    term.engine.batch = 20                                       # several batches: one is cut by the kill

    pushing = threading.Thread(target=term.engine.cycle)
    pushing.start()
    wait_for(lambda: site.payments(terminal_id), 30, every_s=0.01)   # the first batch is being booked
    site.backend.kill()                                          # kill -9 in the middle of the push
    pushing.join(60)
    landed = len(site.payments(terminal_id))
    assert 0 < landed < PAYMENTS, landed
    assert term.store.outbox.queue_depth() > 0                   # nothing dropped by the failed push

    site.backend.start()
    drain(term)
    booked = site.payments(terminal_id)
    assert sorted(booked) == sorted(ids) and set(booked.values()) == {"approved"}
    assert {i.status for i in term.store.outbox.items(kind="payment")} <= {"booked", "duplicate"}
    assert sum(site.wallet(d) for d in diners) == 20 * 1_000_000 - sum(100 + n for n in range(PAYMENTS))
    assert site.ledger_problems() == []
    term.close()


def test_a_cache_far_behind_catches_up_in_one_cycle(pg_site, tmp_path):
    site = pg_site
    old = site.diner(wallet_fen=50_000, name="周老")
    gone = site.diner(wallet_fen=50_000, name="吴去")
    term = site.terminal(tmp_path / "t")
    term.decider.client = None
    cursor_before = term.store.pull_cursor()

    # While the terminal is away: CHANGES balance changes, a revocation, a new diner.
    now = datetime.now(timezone.utc)
    with site.app.state.sessions() as s:
        person = s.get(Customer, old)
        for n in range(CHANGES):
            deposit(s, person, f"far-{n}", 1, now)
            publish_balance(s, old, now)
        s.commit()
    site.revoke(gone)
    new = site.diner(wallet_fen=2_000, name="郑新")

    report = term.engine.cycle()
    assert report.failure is None and report.bad_change is None, report
    assert term.store.pull_cursor() > cursor_before + CHANGES
    assert term.pay(gone).status == "declined"
    assert term.pay(new, 1_500).status == "approved"
    assert term.pay(old, 50_000 + CHANGES).status == "declined"     # over the per-payment limit, not a stale balance
    outcome = term.pay(old, 4_000)
    assert outcome.status == "approved" and outcome.wallet_balance_fen == 50_000 + CHANGES - 4_000
    term.close()
