"""How long the analytics page's figures take over a busy canteen's quarter: backend.services.
analytics.analytics over 92 business days, on PostgreSQL and SQLite, with N approved payments
(default 200,000: 20 sites, 2,000 diners, three meals a day) and their subsidy lines inserted in
bulk. Prints the median of 5 runs, bank-wide and for one merchant.

    .venv/bin/python bench/bench_analytics.py [--db sqlite|postgres|both] [--payments 200000]
PostgreSQL: GATEPAY_TEST_DATABASE_URL (a scratch database is created and dropped).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.db import make_engine, make_sessionmaker  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.models.customers import Customer  # noqa: E402
from backend.models.ledger import Account  # noqa: E402
from backend.models.merchants import Merchant, Site  # noqa: E402
from backend.models.payments import Payment, PaymentLine  # noqa: E402
from backend.models.subsidies import SubsidyProgram  # noqa: E402
from backend.services.analytics import Window, analytics  # noqa: E402
from bench.load.seed import ScratchDatabase  # noqa: E402

PG_ADMIN = os.environ.get("GATEPAY_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
END = date(2026, 3, 31)
DAYS, MERCHANTS, SITES_EACH, DINERS = 92, 5, 4, 2000
MEALS = ((7, "breakfast", 600), (12, "lunch", 1500), (18, "dinner", 1300))


def seed(url: str, payments: int) -> int:
    """The rows, bulk inserted; returns the first merchant's id."""
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        merchants = [Merchant(name=f"canteen {m}", kind="canteen", status="approved", settlement_account_no="1",
                              settlement_bank_name="b") for m in range(MERCHANTS)]
        session.add_all(merchants)
        session.flush()
        sites = [Site(merchant_id=m.id, name=f"site {m.id}.{s}", kind="canteen") for m in merchants
                 for s in range(SITES_EACH)]
        session.add_all(sites)
        program = SubsidyProgram(name="lunch", funder="school", kind="monthly", merchant_ids=[])
        session.add(program)
        account = Account(code="bench", kind="wallet")
        session.add(account)
        session.flush()
        customers = session.execute(insert(Customer.__table__).returning(Customer.__table__.c.id),
                                    [{"name_sealed": b"x", "masked_name": "x*", "status": "active",
                                      "created_at": datetime.now(timezone.utc)} for _ in range(DINERS)]).scalars().all()
        rows, lines = [], []
        for n in range(payments):
            day = END - timedelta(days=n % DAYS)
            hour, meal, price = MEALS[n % 3]
            site = sites[(n // 7) % len(sites)]
            at = datetime(day.year, day.month, day.day, hour, n % 60, tzinfo=timezone(timedelta(hours=8)))
            rows.append({"id": n + 1, "payment_uuid": f"b-{n}", "request_hash": "h", "merchant_id": site.merchant_id,
                         "site_id": site.id, "customer_id": customers[(n * 7919) % DINERS], "method": "face",
                         "amount_fen": price, "refunded_fen": 0, "status": "approved", "offline": False,
                         "business_date": day.isoformat(), "meal_period": meal, "occurred_at": at, "result": {},
                         "created_at": at})
            if n % 2 == 0:
                lines.append({"payment_id": n + 1, "position": 0, "source": "subsidy", "program_id": program.id,
                              "account_id": account.id, "amount_fen": price // 2, "refunded_fen": 0})
        for chunk in range(0, len(rows), 20_000):
            session.execute(insert(Payment.__table__), rows[chunk:chunk + 20_000])
        for chunk in range(0, len(lines), 20_000):
            session.execute(insert(PaymentLine.__table__), lines[chunk:chunk + 20_000])
        session.commit()
        first = merchants[0].id
    engine.dispose()
    return first


def timed(url: str, window: Window) -> float:
    engine = make_engine(url)
    runs = []
    with make_sessionmaker(engine)() as session:
        for _ in range(5):
            started = time.perf_counter()
            analytics(session, window, with_grants=True)
            runs.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--payments", type=int, default=200_000)
    args = parser.parse_args()
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        with ExitStack() as stack:
            if db == "sqlite":
                url = f"sqlite:///{stack.enter_context(tempfile.TemporaryDirectory())}/a.db"
                upgrade(url)
            else:
                url = stack.enter_context(ScratchDatabase(PG_ADMIN)).url
            merchant = seed(url, args.payments)
            start = END - timedelta(days=DAYS - 1)
            print(f"{db:8} payments={args.payments}  bank-wide {timed(url, Window(start, END)):7.1f} ms  "
                  f"one merchant {timed(url, Window(start, END, merchant)):7.1f} ms (median of 5)", flush=True)


if __name__ == "__main__":
    main()
