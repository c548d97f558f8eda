"""Catch-up: a terminal back online with N queued offline payments (default 10,000) pushes them
to a real backend process on PostgreSQL; prints the time from the first push to the queue empty.

    .venv/bin/python bench/bench_catchup.py                          # 10,000 payments, batches of 200
    .venv/bin/python bench/bench_catchup.py --batch 500 --workers 2

The terminal side is the terminal's own: sync.client.SyncClient.push with signed requests, one
batch after another as terminal.sync_loops.SyncEngine.push_all sends them (the terminal's default
batch is 200; the wire allows 500). Its SQLite outbox is not in the timing (reading 200 rows and
marking them is milliseconds). Each payment is an offline face payment of one of 100 rich diners;
every one must come back booked. PostgreSQL: GATEPAY_TEST_DATABASE_URL (a scratch database).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load.seed import ScratchDatabase, new_keys, seed  # noqa: E402
from bench.stats import percentile  # noqa: E402
from core.wire import Credential, PaymentRequest, PushItem, PushRequest  # noqa: E402
from sync.auth import TerminalAuth  # noqa: E402
from sync.client import SyncClient  # noqa: E402
from terminal.demo.backend_process import BackendProcess  # noqa: E402

PG_ADMIN = os.environ.get("GATEPAY_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def queued(diners: list[int], count: int) -> list[PushItem]:
    """The offline queue: payments over the last hour, oldest first, seq 1..count."""
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    return [PushItem(seq=i, kind="payment", payment=PaymentRequest(
        payment_id=uuid.uuid4(), amount_fen=800 + i % 700, offline=True, terminal_seq=i, meal_period="lunch",
        credential=Credential(kind="face", customer_id=diners[i % len(diners)]),
        occurred_at=start + timedelta(seconds=i * 3600 / count))) for i in range(1, count + 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=200, help="items a push (the terminal's push_batch)")
    parser.add_argument("--workers", type=int, default=1, help="backend worker processes")
    args = parser.parse_args()
    keys = new_keys()
    with tempfile.TemporaryDirectory() as tmp, ScratchDatabase(PG_ADMIN) as db:
        terminal = seed(db.url, keys, 1, diners_per_terminal=100)[0]
        items = queued(terminal.diners, args.payments)
        env = {f"GATEPAY_{k.upper()}": v for k, v in keys.items()}
        backend = BackendProcess(db.url, Path(tmp), extra_env=env,
                                 serve_args=["--workers", str(args.workers), "--no-jobs"]).start()
        client = SyncClient(backend.url, TerminalAuth(terminal.key, terminal.terminal_id), timeout_s=120)
        statuses: dict[str, int] = {}
        batch_s: list[float] = []
        try:
            load = os.getloadavg()[0]
            started = time.perf_counter()
            for i in range(0, len(items), args.batch):
                sent = time.perf_counter()
                answer = client.push(PushRequest(items=items[i:i + args.batch]), timeout_s=120)
                batch_s.append(time.perf_counter() - sent)
                for result in answer.results:
                    statuses[result.status] = statuses.get(result.status, 0) + 1
            took = time.perf_counter() - started
        finally:
            client.close()
            backend.stop()
    print(f"catch-up: {args.payments} offline payments in batches of {args.batch}, {args.workers} backend "
          f"worker(s): queue empty after {took:.1f} s ({args.payments / took:.0f} payments/s); "
          f"batch p50 {percentile(batch_s, 50):.2f} s, p99 {percentile(batch_s, 99):.2f} s; "
          f"results {statuses}; load {load:.1f} -> {os.getloadavg()[0]:.1f}; target < 15 s", flush=True)
    sys.exit(0 if statuses.get("booked") == args.payments else 1)


if __name__ == "__main__":
    main()
