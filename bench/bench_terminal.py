"""Terminal core figures, without devices:

- decision + durable commit latency (p50/p95), offline (no backend) and online (the real backend
  process on loopback, SQLite);
- outbox commits per second, sustained (each one fsynced: WAL + synchronous FULL);
- catch-up: time to push 10,000 queued offline payments to the real backend.

    .venv/bin/python bench/bench_terminal.py                 # all
    .venv/bin/python bench/bench_terminal.py --catch-up 2000 --skip-online

Targets on the 2-core VM: offline decision+commit p95 < 15 ms; catch-up of 10,000 < 30 s.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sync.status import SyncTracker  # noqa: E402
from core.wire import Credential, PaymentRequest, SplitLine  # noqa: E402
from core.clock import SystemClock  # noqa: E402
from core.crypto import new_key  # noqa: E402
from terminal.decision import Decider, PaymentIntent  # noqa: E402
from terminal.store import Store  # noqa: E402
from bench.stats import percentile  # noqa: E402


def report(name: str, ms: list[float]) -> None:
    print(f"{name:<44} n={len(ms):>5}  p50={statistics.median(ms):7.2f} ms  p95={percentile(ms, 95):7.2f} ms  "
          f"max={max(ms):7.2f} ms")


def offline_store(tmp: Path, diners: int = 50) -> Store:
    from tests.terminal.helpers import Page, register_fake

    store = Store.open(tmp / "offline.db", new_key(), SystemClock())
    register_fake(store)
    page = Page().limits(per_payment_fen=5000, per_customer_day_fen=10_000_000, terminal_total_fen=1_000_000_000,
                         max_cache_age_s=86_400).program(1, per_meal_cap=300)
    for cid in range(1, diners + 1):
        page.face(cid, per_day=0).balance(cid, 10_000_000, {1: 1_000_000}, as_of=store.clock.now())
    page.apply(store)
    return store


def bench_offline(tmp: Path, n: int) -> None:
    store = offline_store(tmp)
    decider = Decider(store, store.clock, SyncTracker(), client=None)
    ms = []
    for i in range(n):
        t0 = time.perf_counter()
        out = decider.decide(PaymentIntent(Credential(kind="face", customer_id=1 + i % 50), 500, meal_period="lunch"))
        ms.append((time.perf_counter() - t0) * 1000)
        assert out.status == "approved", out
    report("offline decision + durable commit", ms)
    store.close()


def bench_commits(tmp: Path, seconds: float) -> None:
    store = Store.open(tmp / "commits.db", new_key(), SystemClock())
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        req = PaymentRequest(payment_id=uuid.uuid4(), amount_fen=500, credential=Credential(kind="face", customer_id=1),
                             occurred_at=store.clock.now(), offline=True,
                             offline_split=[SplitLine(source="wallet", amount_fen=500)])
        store.outbox.add_payment(req, status="queued", method="face", credential_key="face:1", customer_id=1,
                                 masked_name="张*三", business_day="2026-03-02", split=req.offline_split)
        count += 1
    elapsed = time.perf_counter() - t0
    print(f"{'outbox commits sustained (each fsynced)':<44} n={count:>5}  {count / elapsed:7.0f} commits/s "
          f"over {elapsed:.1f} s")
    store.close()


def bench_backend(tmp: Path, online_n: int, catch_up: int, db_url: str | None) -> None:
    from tests.sync.rig import Canteen

    site = Canteen(tmp, db_url=db_url)
    print(f"backend: {site.db_url.split('://')[0]} (uvicorn, 1 worker, loopback)")
    try:
        diners = [site.diner(wallet_fen=5_000_000, name=f"张小{i}") for i in range(20)]
        if online_n:
            term = site.terminal(tmp / "online")
            ms = []
            for i in range(online_n):
                t0 = time.perf_counter()
                out = term.pay(diners[i % 20], 500)
                ms.append((time.perf_counter() - t0) * 1000)
                assert out.status == "approved" and not out.offline, out
            report("online decision + durable commit (loopback)", ms)
            term.close()
        if catch_up:
            term = site.terminal(tmp / "catchup")
            offline = Decider(term.store, term.store.clock, SyncTracker(), client=None)
            for i in range(catch_up):
                out = offline.decide(PaymentIntent(Credential(kind="face", customer_id=diners[i % 20]), 100,
                                                   meal_period="lunch"))
                assert out.status == "approved", out
            assert term.store.outbox.queue_depth() == catch_up
            t0 = time.perf_counter()
            while term.store.outbox.queue_depth():
                report_ = term.engine.cycle()
                assert report_.failure is None, report_.failure
            elapsed = time.perf_counter() - t0
            booked = len(site.payments(term.store.identity().terminal_id))
            print(f"{'catch-up push of queued offline payments':<44} n={catch_up:>5}  {elapsed:7.1f} s  "
                  f"({catch_up / elapsed:.0f} payments/s, {booked} booked on the backend)")
            term.close()
    finally:
        site.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", type=int, default=1000, help="offline decisions to time")
    parser.add_argument("--online", type=int, default=300, help="online decisions to time")
    parser.add_argument("--commit-seconds", type=float, default=5.0)
    parser.add_argument("--catch-up", type=int, default=10_000)
    parser.add_argument("--skip-online", action="store_true", help="no backend process (offline figures only)")
    parser.add_argument("--db-url", default=None, help="backend database (default: a SQLite file); an empty "
                                                       "PostgreSQL database is migrated at start")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-terminal-") as d:
        tmp = Path(d)
        bench_offline(tmp, args.offline)
        bench_commits(tmp, args.commit_seconds)
        if not args.skip_online:
            bench_backend(tmp, args.online, args.catch_up, args.db_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
