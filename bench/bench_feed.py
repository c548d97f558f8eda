"""The change feed at 300 terminals: rows served per pull and the pull's cost, on PostgreSQL.

    .venv/bin/python bench/bench_feed.py                        # diners signed at their canteen's merchant
    .venv/bin/python bench/bench_feed.py --signed anywhere      # every signing allows any merchant
    .venv/bin/python bench/bench_feed.py --drop-index           # without migration 0011's index (the plan before)

The organisation is the load bench's (bench.load.seed: 300 terminals, 10 terminals a site, 3 sites a
merchant, 2 diners a terminal). Each round is 5 s of a rush at 150 payments/s: 750 payments spread
over all terminals' diners, each publishing the balance change a payment publishes
(backend.services.customers.publish_snapshot, called by the booking path), committed one payment a
transaction; then every terminal pulls once from its cursor (backend.services.changes.changes_page
and newest_per_key, as GET /sync/pull does) until no page is left. Prints, per round: rows read by
the feed query, rows served after coalescing per key, pull time p50/p99; and EXPLAIN ANALYZE of one
pull. PostgreSQL: GATEPAY_TEST_DATABASE_URL (a scratch database is created and dropped).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402

from backend.db import make_engine, make_sessionmaker  # noqa: E402
from backend.models.terminals import Terminal  # noqa: E402
from backend.services import changes  # noqa: E402
from backend.services.customers import balance_snapshot, publish_snapshot  # noqa: E402
from bench.load.seed import ScratchDatabase, current_cursor, new_keys, seed  # noqa: E402
from bench.stats import percentile  # noqa: E402

PG_ADMIN = os.environ.get("GATEPAY_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pay_round(session, diners: list[int], start: int, count: int) -> None:  # noqa: ANN001
    now = datetime.now(timezone.utc)
    for i in range(start, start + count):
        customer_id = diners[(i * 7919) % len(diners)]   # spread over every terminal's diners
        publish_snapshot(session, balance_snapshot(session, customer_id, now))
        session.commit()


def pull_all(session, scope: tuple[int, int], cursor: int, limit: int, later: datetime) -> tuple[int, int, int]:  # noqa: ANN001
    """One terminal's pull to the end: (next cursor, rows read, rows served)."""
    merchant_id, site_id = scope
    read = served = 0
    while True:
        page = changes.changes_page(session, cursor, limit, merchant_id=merchant_id, site_id=site_id, now=later)
        read += len(page.rows)
        served += len(changes.newest_per_key(page.rows))
        cursor = page.cursor
        session.commit()
        if not page.more:
            return cursor, read, served


def explain(session, scope: tuple[int, int], cursor: int, limit: int) -> str:  # noqa: ANN001
    """EXPLAIN ANALYZE of the page query one pull runs (the statement changes_page executes)."""
    statements: list[tuple[str, object]] = []
    from sqlalchemy import event

    def grab(_conn, _cursor, statement, parameters, _context, _many):  # noqa: ANN001, ANN202
        if "FROM sync_changes" in statement and "ORDER BY" in statement and "LIMIT" in statement:
            statements.append((statement, parameters))
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", grab)
    try:
        changes.changes_page(session, cursor, limit, merchant_id=scope[0], site_id=scope[1],
                             now=datetime.now(timezone.utc) + timedelta(seconds=60))
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    statement, parameters = statements[-1]
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + statement, parameters)
        plan = "\n".join(r[0] for r in cur.fetchall())
    session.commit()
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=300)
    parser.add_argument("--signed", choices=["merchant", "anywhere"], default="merchant")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--payments", type=int, default=750, help="payments between two pulls (150/s x 5 s)")
    parser.add_argument("--limit", type=int, default=500, help="page size (the terminal's default)")
    parser.add_argument("--drop-index", action="store_true", help="measure without ix_sync_changes_merchant_id_id")
    args = parser.parse_args()
    with ScratchDatabase(PG_ADMIN) as db:
        fleet = seed(db.url, new_keys(), args.terminals, signed_at_own_merchant=args.signed == "merchant")
        diners = [d for t in fleet for d in t.diners]
        engine = make_engine(db.url)
        try:
            with make_sessionmaker(engine)() as session:
                if args.drop_index:
                    session.execute(text("DROP INDEX ix_sync_changes_merchant_id_id"))
                session.commit()
                scopes = {t.id: (t.merchant_id, t.site_id) for t in session.scalars(select(Terminal))}
                start_cursor = current_cursor(db.url)
                cursors = {t.terminal_id: start_cursor for t in fleet}
                print(f"{args.terminals} terminals, {len(set(s[0] for s in scopes.values()))} merchants, "
                      f"{len(diners)} diners signed {'at their merchant' if args.signed == 'merchant' else 'anywhere'}, "
                      f"{args.payments} payments between pulls, index {'dropped' if args.drop_index else 'kept'}; "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
                print(f"{'round':>5} {'rows read/pull':>14} {'rows served/pull':>16} {'pull p50 ms':>11} "
                      f"{'pull p99 ms':>11}")
                for r in range(args.rounds):
                    last_round_from = dict(cursors)
                    pay_round(session, diners, r * args.payments, args.payments)
                    later = datetime.now(timezone.utc) + timedelta(seconds=changes.GAP_GRACE_S + 1)
                    reads, served, took = [], [], []
                    for t in fleet:
                        started = time.perf_counter()
                        cursors[t.terminal_id], n_read, n_served = pull_all(
                            session, scopes[t.terminal_id], cursors[t.terminal_id], args.limit, later)
                        took.append(time.perf_counter() - started)
                        reads.append(n_read)
                        served.append(n_served)
                    print(f"{r + 1:>5} {sum(reads) / len(reads):>14.1f} {sum(served) / len(served):>16.1f} "
                          f"{percentile(took, 50) * 1000:>11.2f} {percentile(took, 99) * 1000:>11.2f}", flush=True)
                first = fleet[0].terminal_id
                print("EXPLAIN ANALYZE of one pull's page query (the last round, from its cursor):")
                print(explain(session, scopes[first], last_round_from[first], args.limit))
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
