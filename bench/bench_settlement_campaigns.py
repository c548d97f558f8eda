"""Settlement with merchant-funded campaigns: what the set-off adds to a day's run, A/B.

The scratch database of bench_settlement.py (one business day of N payments at 300 merchants)
plus, per merchant, one campaign it funds, and a campaign use (1.00 off) on every 10th payment.
Timed, alternating on the same data (settlement tables emptied before each run): `settle_day`
as it was before campaigns (a copy of backend/settlement/run.py from before, given with
--before) and as it is now (which also claims each use as a set-off item of its funder's day,
sums the day's campaign sources and books the set-off per campaign).

    git show c36d69d~1:backend/settlement/run.py > /tmp/run_before.py
    .venv/bin/python bench/bench_settlement_campaigns.py --before /tmp/run_before.py --payments 200000
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402

import bench_settlement as base  # noqa: E402
from backend.db import make_engine, make_sessionmaker  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.settlement.run import settle_day  # noqa: E402

USE_EVERY = 10
DISCOUNT_FEN = 100


def add_campaigns(url: str, n_merchants: int) -> int:
    """One merchant-funded campaign per merchant (id = merchant id) and a use on every 10th payment."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("""
            INSERT INTO campaigns (id, name, funder_kind, funder_merchant_id, kind, mode, amount_fen, merchant_ids,
                                   site_ids, scenes, methods, budget_fen, spent_fen, status, created_at)
            SELECT m, 'bench', 'merchant', m, 'fixed', 'instant', %s, '[]', '[]', '[]', '[]', 100000000, 0, 'active', now()
            FROM generate_series(1, %s) m""", (DISCOUNT_FEN, n_merchants))
        conn.execute("""
            INSERT INTO campaign_uses (payment_id, campaign_id, customer_id, business_date, price_fen, discount_fen,
                                       returned_fen, status, created_at)
            SELECT p.id, p.merchant_id, p.customer_id, p.business_date, p.amount_fen, %s, 0, 'applied', now()
            FROM payments p WHERE p.id %% %s = 0""", (DISCOUNT_FEN, USE_EVERY))
        conn.execute("VACUUM ANALYZE")
        return conn.execute("SELECT COUNT(*) FROM campaign_uses").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="run.py from before campaigns")
    parser.add_argument("--payments", type=int, default=200_000)
    parser.add_argument("--merchants", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("settlement_run_before", args.before)
    before = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = before
    spec.loader.exec_module(before)
    admin_url = os.environ.get("GATEPAY_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = f"gp_bench_{uuid.uuid4().hex[:8]}"
    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{admin_url.rpartition('/')[0]}/{name}"
    try:
        upgrade(url)
        base.fill(url, args.payments, args.merchants, 20_000)
        uses = add_campaigns(url, args.merchants)
        print(f"filled {args.payments:,} payments at {args.merchants} merchants, {uses:,} merchant-funded uses")
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        now = datetime(2026, 3, 11, 9, 0, tzinfo=timezone.utc)
        times: dict[str, list[float]] = {"before": [], "now": []}
        for n in range(2 * args.pairs):
            which = ("before", "now")[n % 2]
            base.reset_settlement(url)
            with sessions() as session:
                t0 = time.perf_counter()
                outcome = (before.settle_day if which == "before" else settle_day)(session, base.DAY.isoformat(), now)
                times[which].append(time.perf_counter() - t0)
            setoff = sum(d.campaign_setoff_fen or 0 for d in outcome.closed)
            print(f"{which}: {times[which][-1]:.2f} s, set off {setoff:,} fen")
        for which, runs in times.items():
            print(f"{which}: median {statistics.median(runs):.2f} s ({', '.join(f'{t:.2f}' for t in runs)})")
        print(f"now / before: {statistics.median(times['now']) / statistics.median(times['before']):.2f}; "
              f"load average {os.getloadavg()[0]:.1f}")
        engine.dispose()
    finally:
        with psycopg.connect(plain, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
