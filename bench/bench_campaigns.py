"""What a campaign check adds to a payment: the one booking path (backend.services.payments.pay)
called in-process and committed, timed per payment, on SQLite and PostgreSQL, in three cases:

  none       no campaign at all (the check still runs its candidate query);
  elsewhere  five active campaigns, none of which applies here (another merchant);
  applied    one active fixed reduction that applies: the campaign row locked, its leg booked,
             the use recorded and the budget spent.

The cases' payments run in turn (one each, round after round) so a busy machine slows them
alike. Prints p50/p99 per case (bench/stats.percentile) and the difference to `none`. In-process, so
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
from contextlib import ExitStack
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


class Case:
    """One fresh database set up for a case, and one payment at a time on it."""

    def __init__(self, url: str, case: str):
        self.case, self.settings = case, BackendSettings(database_url=url, **new_keys())
        upgrade(url)
        self.engine = make_engine(url)
        self.sessions = make_sessionmaker(self.engine)
        now = datetime.now(timezone.utc)
        with self.sessions() as session:
            merchant = merchants.apply_merchant(session, name="bench canteen", kind="canteen",
                                                settlement_account_no="6222000011112222", settlement_bank_name="bench")
            merchants.approve(session, merchant, now=now)
            site = sites.create_site(session, merchant, name="bench site", kind="canteen")
            other = merchants.apply_merchant(session, name="other", kind="canteen")
            self.diners = [rich_diner(session, vault_of(self.settings), np.random.default_rng(d), f"食客{d}",
                                      f"bench-{d}", 50_000_000, 10**12, [], now) for d in range(8)]
            session.flush()
            if case == "elsewhere":
                session.add_all([_campaign(other.id, 100) for _ in range(5)])
            if case == "applied":
                session.add(_campaign(merchant.id, 100))
            session.commit()
            self.where = Where(merchant.id, site.id, None)
        self.bank, self.vault, self.timings, self.n = CoreBankingSimulator(), vault_of(self.settings), [], 0

    def pay_once(self) -> None:
        """Milliseconds of one payment (pay + commit), kept in self.timings."""
        self.n += 1
        req = PaymentRequest(payment_id=uuid.uuid4(), amount_fen=1500, occurred_at=datetime.now(timezone.utc),
                             credential=Credential(kind="face", customer_id=self.diners[self.n % len(self.diners)]))
        with self.sessions() as session:
            started = time.perf_counter()
            booked = commit_once(session, lambda: pay(session, self.bank, self.vault, req, self.where,
                                                      datetime.now(timezone.utc)))
            self.timings.append((time.perf_counter() - started) * 1000)
        assert booked.result.status == "approved"
        assert (booked.result.discount_fen == 100) == (self.case == "applied")


def run(urls: list[str], payments: int) -> dict[str, list[float]]:
    """The three cases' payments in turn (none, elsewhere, applied, none, ...), so a busy machine
    slows each case alike; the first tenth warms caches and the pool and is dropped."""
    cases = [Case(url, case) for url, case in zip(urls, CASES)]
    for _ in range(payments):
        for case in cases:
            case.pay_once()
    for case in cases:
        case.engine.dispose()
    return {case.case: case.timings[payments // 10:] for case in cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--payments", type=int, default=400)
    args = parser.parse_args()
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        with ExitStack() as stack:
            if db == "sqlite":
                tmp = stack.enter_context(tempfile.TemporaryDirectory())
                urls = [f"sqlite:///{tmp}/{case}.db" for case in CASES]
            else:
                urls = [stack.enter_context(ScratchDatabase(PG_ADMIN)).url for _ in CASES]
            results = run(urls, args.payments)
        base = None
        for case, timings in results.items():
            p50, p99 = percentile(timings, 50), percentile(timings, 99)
            base = base or (p50, p99)
            print(f"{db:8} {case:9} payments={len(timings):4}  p50={p50:6.2f} ms  p99={p99:6.2f} ms  "
                  f"added: p50 {p50 - base[0]:+.2f} ms, p99 {p99 - base[1]:+.2f} ms", flush=True)


if __name__ == "__main__":
    main()
