"""Settlement of 1,000,000 payments across 300 merchants on PostgreSQL, and the export of a
month's subsidy report (per beneficiary), timed.

    .venv/bin/python bench/bench_settlement.py                          # 1,000,000 payments, 3 runs
    .venv/bin/python bench/bench_settlement.py --payments 200000 --runs 1 --beneficiaries 20000

A scratch database is created on GATEPAY_TEST_DATABASE_URL's server, migrated, filled with COPY
(merchants with fee tables, payments with one funding line each, and per beneficiary a subsidy
account with a grant and a spend on the ledger), and dropped at the end. Only the settlement run
(backend.settlement.run.settle_day for every merchant, one commit each) and the report export
(CSV written through the same code as the API's stream) are timed. Between settlement runs the
closed days, their items and their postings are removed (TRUNCATE) so each run does the full
work on a settlement history as empty as the first run's.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from backend.db import make_engine, make_sessionmaker  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.reports.catalog import Params, get_report  # noqa: E402
from backend.reports.export import csv_lines  # noqa: E402
from backend.settlement.run import settle_day  # noqa: E402

DAY = date(2026, 3, 10)
METHODS = ("face", "card", "paycode", "plate")


def _copy(conn: psycopg.Connection, table: str, columns: str, rows) -> None:  # noqa: ANN001
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def fill(url: str, n_payments: int, n_merchants: int, n_people: int) -> None:
    at = datetime(2026, 3, 10, 4, 0, tzinfo=timezone.utc)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=False) as conn:
        _copy(conn, "merchants", "id, name, kind, status, timezone, business_day_cutoff, settlement_account_no, "
                                 "settlement_bank_name, created_at",
              ((m, f"食堂 {m}", "canteen", "approved", "Asia/Shanghai", "00:00", f"62220000{m:08d}", "bench bank", at)
               for m in range(1, n_merchants + 1)))
        _copy(conn, "merchant_fees", "merchant_id, method, rate_bp, min_fen, max_fen, fee_free",
              ((m, method, 30 + m % 50, 5, 2000, method == "plate")
               for m in range(1, n_merchants + 1) for method in METHODS))
        _copy(conn, "subsidy_programs", "id, name, funder, kind, merchant_ids, meal_periods, expiry_policy, "
                                        "timezone, status, created_at",
              [(1, "午餐补贴", "school", "monthly", "[]", "[]", "month_end", "Asia/Shanghai", "active", at)])
        _copy(conn, "customers", "id, status, name_sealed, masked_name, created_at",
              ((c, "active", b"sealed", "张*三", at) for c in range(1, n_people + 1)))
        _copy(conn, "ledger_accounts", "id, code, kind, customer_id, program_id, merchant_id, balance_fen, created_at",
              [(c, f"subsidy:{c}:1", "subsidy", c, 1, None, 500, at) for c in range(1, n_people + 1)]
              + [(n_people + 1, "funder:1", "subsidy_funding", None, 1, None, 0, at),
                 (n_people + 2, "merchant:1", "merchant", None, None, 1, 0, at),
                 (n_people + 3, "wallet:1", "wallet", 1, None, None, 0, at)])
        # per beneficiary: a grant (2000) and a spend (1500) on the ledger
        _copy(conn, "ledger_postings", "id, ref, kind, memo, created_at",
              ((2 * c - 1 + k, f"bench:{c}:{k}", ("subsidy_grant", "payment")[k], "", at + timedelta(days=1))
               for c in range(1, n_people + 1) for k in (0, 1)))
        _copy(conn, "ledger_entries", "posting_id, account_id, side, amount_fen",
              (row for c in range(1, n_people + 1) for row in (
                  (2 * c - 1, n_people + 1, "D", 2000), (2 * c - 1, c, "C", 2000),
                  (2 * c, c, "D", 1500), (2 * c, n_people + 2, "C", 1500))))
        conn.execute("SELECT setval(pg_get_serial_sequence('ledger_postings', 'id'), (SELECT MAX(id) FROM ledger_postings))")
        conn.execute("SELECT setval(pg_get_serial_sequence('ledger_accounts', 'id'), (SELECT MAX(id) FROM ledger_accounts))")
        conn.execute("SELECT setval(pg_get_serial_sequence('merchants', 'id'), (SELECT MAX(id) FROM merchants))")
        day = DAY.isoformat()
        _copy(conn, "payments", "id, payment_uuid, request_hash, merchant_id, customer_id, method, amount_fen, "
                                "refunded_fen, status, offline, business_date, meal_period, occurred_at, result, created_at",
              ((p, str(uuid.UUID(int=p)), "h", 1 + p % n_merchants, 1, METHODS[p % 4], 500 + p % 2500, 0, "approved",
                False, day, "lunch", at, "{}", at) for p in range(1, n_payments + 1)))
        _copy(conn, "payment_lines", "payment_id, position, source, program_id, account_id, amount_fen, refunded_fen",
              ((p, 0, "subsidy" if p % 2 else "wallet", 1 if p % 2 else None, 1 if p % 2 else n_people + 3,
                500 + p % 2500, 0) for p in range(1, n_payments + 1)))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def reset_settlement(url: str) -> None:
    """Back to 'nothing settled' as a fresh database has it (TRUNCATE, not DELETE: a million dead
    rows in the unique index would slow the next run's anti-join, which no real day sees)."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("DELETE FROM ledger_entries WHERE posting_id IN (SELECT id FROM ledger_postings WHERE kind = 'settlement')")
        conn.execute("UPDATE settlement_days SET posting_id = NULL")
        conn.execute("DELETE FROM ledger_postings WHERE kind = 'settlement'")
        conn.execute("TRUNCATE settlement_items, settlement_days")
        conn.execute("VACUUM ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--merchants", type=int, default=300)
    parser.add_argument("--beneficiaries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    admin_url = os.environ.get("GATEPAY_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = f"gp_bench_{uuid.uuid4().hex[:8]}"
    base = admin_url.rpartition("/")[0]
    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    try:
        upgrade(url)
        started = time.perf_counter()
        fill(url, args.payments, args.merchants, args.beneficiaries)
        print(f"filled {args.payments:,} payments, {args.merchants} merchants, {args.beneficiaries:,} beneficiaries "
              f"in {time.perf_counter() - started:.1f} s (COPY)")
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        now = datetime(2026, 3, 11, 9, 0, tzinfo=timezone.utc)
        runs = []
        for n in range(args.runs):
            if n:
                reset_settlement(url)
            with sessions() as session:
                t0 = time.perf_counter()
                outcome = settle_day(session, DAY.isoformat(), now)
                runs.append(time.perf_counter() - t0)
            settled = sum(d.payments for d in outcome.closed)
            print(f"settlement run {n + 1}: {runs[-1]:.2f} s for {settled:,} payments, {len(outcome.closed)} merchants")
        print(f"settlement of {args.payments:,} payments: median {statistics.median(runs):.2f} s "
              f"(min {min(runs):.2f}, max {max(runs):.2f}; target < 60 s)")
        report = get_report("subsidy-beneficiaries")
        exports = []
        for _ in range(3):
            with sessions() as session:
                t0 = time.perf_counter()
                size = rows = 0
                for line in csv_lines(report.header, report.rows(session, Params(month="2026-03"))):
                    size += len(line.encode())
                    rows += 1
                exports.append(time.perf_counter() - t0)
        print(f"subsidy report per beneficiary, one month: {rows - 1:,} rows, {size / 1e6:.1f} MB CSV, "
              f"median {statistics.median(exports):.2f} s over 3 exports")
        engine.dispose()
    finally:
        with psycopg.connect(plain, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
