"""A pay code authorised through each simulated channel, end to end: a signed terminal request
(POST /api/v1/terminal/payments) to a real backend process on loopback, which charges the code at
the channel adapter (WeChat Pay v3 / Alipay RSA2 / UnionPay ACP, each over its simulator: signature
made, checked by the simulator, answer signed and checked back; the bank's mobile-banking code
through the core simulator: an in-bank transfer by compare-and-set on the shared store), books it
on the ledger and answers. One client, sequential, keep-alive; prints p50/p99 per channel.

    .venv/bin/python bench/bench_channels.py --payments 200

The channel leg is an in-process httpx transport (the simulator), so the figures are the
backend's own cost (two RSA-2048 signatures made and two checked per payment, the booking and
its commit), not a network round trip to Tencent, Ant or UnionPay (tens of ms more in the field).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.migrate import upgrade  # noqa: E402
from bench.stats import percentile  # noqa: E402
from sync.auth import TerminalAuth  # noqa: E402
from tests.backend.helpers import TEST_KEYS, make_app, make_merchant_site, register_terminal  # noqa: E402
from terminal.demo.backend_process import BackendProcess  # noqa: E402

CODES = {"wechat": lambda n: f"13{n:016d}"[:14] + "9876", "alipay": lambda n: f"28{n:018d}"[:16] + "9876",
         "unionpay": lambda n: f"62{n:017d}"[:15] + "9876"}
PAYER = "6228480000000000077"


def bank_codes(url: str, count: int) -> list[str]:
    """The customer's mobile banking issues codes: written to the bank simulator's store, which the
    backend process shares (backend/channels/bank_sim.py)."""
    from backend.channels.bank_sim import BankCodeCoreSimulator
    from backend.channels.sim_store import DatabaseStore, simulator_engine

    engine = simulator_engine(url)
    try:
        core = BankCodeCoreSimulator(DatabaseStore(engine, "bank"))
        core.open_account(PAYER, 10**9)
        return [core.issue_code(PAYER) for _ in range(count)]
    finally:
        engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--payments", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        seed = make_app(url)
        ids = make_merchant_site(seed)
        env = {f"GATEPAY_{k.upper()}": v for k, v in TEST_KEYS.items()}
        with BackendProcess(url, Path(tmp), extra_env={**env, "GATEPAY_LOG_JSON": "true"}) as backend, \
                httpx.Client(base_url=backend.url, timeout=30) as client:
            tid, key = register_terminal(client, seed, ids["merchant_id"], ids["site_id"], ids["lane_id"])
            auth = TerminalAuth(key, tid)
            print(f"{args.payments} pay codes per channel, one client, SQLite, backend on loopback")
            issued = bank_codes(url, args.payments + 10)
            for channel, code in {**CODES, "bank": lambda n: issued[n]}.items():
                times = []
                for n in range(args.payments + 10):
                    body = {"payment_id": str(uuid.uuid4()), "amount_fen": 850, "meal_period": "lunch",
                            "credential": {"kind": "paycode", "paycode": code(n)},
                            "occurred_at": datetime.now(timezone.utc).isoformat()}
                    start = time.perf_counter()
                    r = client.post("/api/v1/terminal/payments", json=body, auth=auth)
                    took = time.perf_counter() - start
                    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
                    if n >= 10:                       # the first ten warm up connections and caches
                        times.append(took * 1000)
                times.sort()
                print(f"{channel:9s} p50 {statistics.median(times):6.1f} ms   p99 {percentile(times, 99):6.1f} ms   "
                      f"max {times[-1]:6.1f} ms")


if __name__ == "__main__":
    main()
