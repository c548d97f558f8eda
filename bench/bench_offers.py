"""What offers from habits add to a payment: the one booking path (backend.services.payments.pay)
called in-process and committed, timed per payment, on SQLite and PostgreSQL, in four cases:

  off     offers.attach skipped (the booking path as it was before offers);
  none    no habit-offer campaign (attach's SAVEPOINT and its one campaign query);
  held    a habit-offer campaign; every diner has a habit and already holds an unused offer
          coupon (the steady state: one query finds nothing to give). The campaign allows one
          use per diner, so after the warm-up the held coupon is no longer applied: its use
          (a campaign's cost, bench_campaigns) is kept out of the offer's figures;
  given   the same, but the diner's offer coupons are deleted before each payment (untimed), so
          every payment reads the habit and issues a coupon: the most an offer can cost.

Every case has the same active coupon campaign (so the campaign check costs alike); held and
given choose it for offers. The cases' payments run in turn (one each, round after round) so a busy machine slows them alike.
Prints p50/p99 per case (bench/stats.percentile) and the difference to `off`.

    .venv/bin/python bench/bench_offers.py [--db sqlite|postgres|both] [--payments 300]
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
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from sqlalchemy import delete

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.config import BackendSettings  # noqa: E402
from backend.corebanking import CoreBankingSimulator  # noqa: E402
from backend.db import make_engine, make_sessionmaker  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.models.campaigns import Campaign, Coupon  # noqa: E402
from backend.models.offers import HabitOfferCampaign  # noqa: E402
from backend.services import merchants, offers, payments, sites  # noqa: E402
from backend.services.commit import commit_once  # noqa: E402
from backend.services.payments import Where, pay  # noqa: E402
from backend.services.vault import vault_of  # noqa: E402
from bench.load.seed import ScratchDatabase, new_keys, rich_diner  # noqa: E402
from bench.stats import percentile  # noqa: E402
from core.wire import Credential, PaymentRequest  # noqa: E402

PG_ADMIN = os.environ.get("GATEPAY_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CASES = ("off", "none", "held", "given")
REAL_ATTACH = offers.attach


class Case:
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
            self.diners = [rich_diner(session, vault_of(self.settings), np.random.default_rng(d), f"食客{d}",
                                      f"bench-{d}", 50_000_000, 10**12, [], now) for d in range(8)]
            # every case: an active coupon campaign (only held and given choose it for offers), so
            # the campaign check before the split costs the same in all four
            if True:
                camp = Campaign(name="habit", funder_kind="bank", kind="fixed", mode="coupon", amount_fen=1,
                                merchant_ids=[merchant.id], site_ids=[], scenes=[], methods=[], budget_fen=10**12,
                                spent_fen=0, status="active", per_customer_limit=1)
                session.add(camp)
                session.flush()
                if case in ("held", "given"):
                    session.add(HabitOfferCampaign(campaign_id=camp.id))
            session.commit()
            self.where = Where(merchant.id, site.id, None)
        self.bank, self.vault, self.timings, self.n = CoreBankingSimulator(), vault_of(self.settings), [], 0
        for days_ago in (3, 2, 1):                       # a habit: lunch on three past days
            for diner in self.diners:
                self._pay(diner, now - timedelta(days=days_ago), offline=True)

    def _pay(self, diner: int, at: datetime, offline: bool = False):  # noqa: ANN202
        req = PaymentRequest(payment_id=uuid.uuid4(), amount_fen=1500, occurred_at=at, meal_period="lunch",
                             offline=offline, credential=Credential(kind="face", customer_id=diner))
        with self.sessions() as session:
            started = time.perf_counter()
            booked = commit_once(session, lambda: pay(session, self.bank, self.vault, req, self.where,
                                                      datetime.now(timezone.utc)))
            elapsed = (time.perf_counter() - started) * 1000
        assert booked.result.status == "approved"
        return booked, elapsed

    def pay_once(self) -> None:
        self.n += 1
        diner = self.diners[self.n % len(self.diners)]
        if self.case == "given":
            with self.sessions() as session:
                session.execute(delete(Coupon).where(Coupon.customer_id == diner, Coupon.source == "offer"))
                session.commit()
        payments.offers.attach = (lambda session, result, payment, now: result) if self.case == "off" else REAL_ATTACH
        booked, elapsed = self._pay(diner, datetime.now(timezone.utc))
        payments.offers.attach = REAL_ATTACH
        self.timings.append(elapsed)
        if self.case == "given":
            assert booked.result.offer is not None


def run(urls: list[str], count: int) -> dict[str, list[float]]:
    cases = [Case(url, case) for url, case in zip(urls, CASES)]
    for _ in range(count):
        for case in cases:
            case.pay_once()
    for case in cases:
        case.engine.dispose()
    return {case.case: case.timings[count // 10:] for case in cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--payments", type=int, default=300)
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
            print(f"{db:8} {case:5} payments={len(timings):4}  p50={p50:6.2f} ms  p99={p99:6.2f} ms  "
                  f"added: p50 {p50 - base[0]:+.2f} ms, p99 {p99 - base[1]:+.2f} ms", flush=True)


if __name__ == "__main__":
    main()
