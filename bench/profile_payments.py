"""Server CPU per payment, measured in-process so a busy machine does not blur it.

    .venv/bin/python bench/profile_payments.py --db postgres --payments 300          # CPU ms per payment
    .venv/bin/python bench/profile_payments.py --db sqlite --profile 25              # + top 25 functions

One client, sequential signed POST /api/v1/terminal/payments through the whole ASGI app (middleware,
signature check, nonce, booking, response), with the thread pool run inline so every step is on
this thread. `time.process_time` is summed only while the app handles a request, so the client's
own signing and httpx work are not counted. Wall time would mostly measure other jobs on a shared
machine; CPU time per payment is what decides how many payments two cores can serve.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import anyio.to_thread
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.app import create_app  # noqa: E402
from backend.config import BackendSettings  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from bench.bench_payments import database, seed  # noqa: E402
from sync.auth import TerminalAuth  # noqa: E402
from core.crypto import key_to_text, new_key  # noqa: E402


async def _inline(func, *args, **_kwargs):  # noqa: ANN001, ANN202
    """anyio.to_thread.run_sync stand-in: run on this thread (one client, nothing to overlap)."""
    return func(*args)


class CpuMeter:
    """ASGI wrapper adding up the process CPU time spent inside the app."""

    def __init__(self, app):  # noqa: ANN001
        self.app, self.cpu_s = app, 0.0

    async def __call__(self, scope, receive, send):  # noqa: ANN001, ANN204
        started = time.process_time()
        try:
            await self.app(scope, receive, send)
        finally:
            self.cpu_s += time.process_time() - started


async def pay_many(app, seeded, n: int) -> int:  # noqa: ANN001
    terminal_id, key, diners = seeded[0]
    auth, approved = TerminalAuth(key, terminal_id), 0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
        for i in range(n):
            body = {"payment_id": str(uuid.uuid4()), "amount_fen": 1 + i % 900,
                    "credential": {"kind": "face", "customer_id": diners[i % len(diners)]},
                    "occurred_at": datetime.now(timezone.utc).isoformat(), "meal_period": "lunch"}
            response = await http.post("/api/v1/terminal/payments", json=body, auth=auth)
            approved += response.status_code == 200 and response.json()["status"] == "approved"
    return approved


def print_by_package(stats: pstats.Stats) -> None:
    """Own CPU time summed per library: where a payment's CPU goes, in one small table."""
    totals: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        parts = filename.split("site-packages/")
        package = parts[1].split("/")[0] if len(parts) > 1 else (
            filename.split(str(ROOT) + "/")[-1].split("/")[0] if str(ROOT) + "/" in filename else "python/builtins")
        totals[package] = totals.get(package, 0.0) + tottime
    whole = sum(totals.values())
    for package, seconds in sorted(totals.items(), key=lambda kv: -kv[1])[:15]:
        print(f"{package:24} {seconds / whole:6.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--profile", type=int, default=0, help="print the N most expensive functions (cProfile)")
    args = parser.parse_args()
    anyio.to_thread.run_sync = _inline
    keys = {"data_key": key_to_text(new_key()), "hash_key": key_to_text(new_key()),
            "card_hash_key": key_to_text(new_key())}
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = database(args.db, Path(tmp))
        try:
            upgrade(url)
            seeded = seed(url, keys, 1)
            app = CpuMeter(create_app(BackendSettings(database_url=url, log_json=True, **keys)))
            asyncio.run(pay_many(app, seeded, 20))    # warm-up: connections, caches, imports
            app.cpu_s = 0.0
            profiler = cProfile.Profile(time.process_time) if args.profile else None   # CPU, not wall
            if profiler:
                profiler.enable()
            approved = asyncio.run(pay_many(app, seeded, args.payments))
            if profiler:
                profiler.disable()
            print(f"{args.db}: {approved}/{args.payments} approved, server CPU "
                  f"{app.cpu_s * 1000 / args.payments:.2f} ms per payment"
                  f"{' (under cProfile: inflated)' if profiler else ''}")
            if profiler:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
                print_by_package(pstats.Stats(profiler))
            app.app.state.engine.dispose()
        finally:
            drop()


if __name__ == "__main__":
    main()
