"""What a campaign check adds to a payment: the one booking path (backend.services.payments.pay)
called in-process and committed, timed per payment, on SQLite and PostgreSQL, in three cases:

  none       no campaign at all (the check still runs its candidate query);
  elsewhere  five active campaigns, none of which applies here (another merchant);
  applied    one active fixed reduction that applies: the campaign row locked, its leg booked,
             the use recorded and the budget spent.

Prints p50/p99 per case (bench/stats.percentile) and the difference to `none`. In-process, so
the figures are the database and CPU cost of the booking itself, without HTTP or signatures.

    .venv/bin/python bench/bench_campaigns.py [--db sqlite|postgres|both] [--payments 400]
PostgreSQL: GATEPAY_TEST_DATABASE_URL (a scratch database is created and dropped).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.config import BackendSettings  # noqa: E402
from backend.corebanking import CoreBankingSimulator  # noqa: E402
from backend.db import make_engine, make_sessionmaker  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.models.campaigns import Campaign  # noqa: E402
from backend.services import merchants, sites  # noqa: E402
from backend.services.commit import commit_once  # noqa: E402
from backend.services.payments import Where, pay  # noqa: E402
from backend.services.vault import vault_of  # noqa: E402
from bench.load.seed import ScratchDatabase, new_keys, rich_diner  # noqa: E402
from bench.stats import percentile  # noqa: E402
from core.wire import Credential, PaymentRequest  # noqa: E402

PG_ADMIN = os.environ.get("GATEPAY_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CASES = ("none", "elsewhere", "applied")


def _campaign(merchant_id: int, amount_fen: int) -> Campaign:
    return Campaign(name="bench", funder_kind="bank", kind="fixed", mode="instant", amount_fen=amount_fen,
                    merchant_ids=[merchant_id], site_ids=[], scenes=[], methods=[], budget_fen=10**12,
                    spent_fen=0, status="active")


def run_case(url: str, case: str, payments: int) -> list[float]:
    """Milliseconds per payment (pay + commit) on a fresh database set up for `case`."""
    settings = BackendSettings(database_url=url, **new_keys())
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    now = datetime.now(timezone.utc)
    with sessions() as session:
        merchant = merchants.apply_merchant(session, name="bench canteen", kind="canteen",
                                            settlement_account_no="6222000011112222", settlement_bank_name="bench")
        merchants.approve(session, merchant, now=now)
        site = sites.create_site(session, merchant, name="bench site", kind="canteen")
        other = merchants.apply_merchant(session, name="other", kind="canteen")
        diners = [rich_diner(session, vault_of(settings), np.random.default_rng(d), f"食客{d}", f"bench-{d}",
                             50_000_000, 10**12, [], now) for d in range(8)]
        session.flush()
        if case == "elsewhere":
            session.add_all([_campaign(other.id, 100) for _ in range(5)])
        if case == "applied":
            session.add(_campaign(merchant.id, 100))
        session.commit()
        where = Where(merchant.id, site.id, None)
    bank, vault, timings = CoreBankingSimulator(), vault_of(settings), []
    for n in range(payments):
        req = PaymentRequest(payment_id=uuid.uuid4(), amount_fen=1500, occurred_at=datetime.now(timezone.utc),
                             credential=Credential(kind="face", customer_id=diners[n % len(diners)]))
        with sessions() as session:
            started = time.perf_counter()
            booked = commit_once(session, lambda: pay(session, bank, vault, req, where, datetime.now(timezone.utc)))
            timings.append((time.perf_counter() - started) * 1000)
        assert booked.result.status == "approved"
        assert (booked.result.discount_fen == 100) == (case == "applied")
    engine.dispose()
    return timings[len(timings) // 10:]          # the first tenth warms caches and the pool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--payments", type=int, default=400)
    args = parser.parse_args()
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        base = None
        for case in CASES:
            if db == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    timings = run_case(f"sqlite:///{tmp}/bench.db", case, args.payments)
            else:
                with ScratchDatabase(PG_ADMIN) as scratch:
                    timings = run_case(scratch.url, case, args.payments)
            p50, p99 = percentile(timings, 50), percentile(timings, 99)
            base = base or (p50, p99)
            print(f"{db:8} {case:9} payments={len(timings):4}  p50={p50:6.2f} ms  p99={p99:6.2f} ms  "
                  f"added: p50 {p50 - base[0]:+.2f} ms, p99 {p99 - base[1]:+.2f} ms", flush=True)


if __name__ == "__main__":
    main()
