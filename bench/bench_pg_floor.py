"""What PostgreSQL alone can do with the SQL of one online payment, on this machine.

    .venv/bin/python bench/bench_pg_floor.py                  # 8 clients, 20 s
    .venv/bin/python bench/bench_pg_floor.py --clients 1,8 --seconds 10

Seeds a scratch database exactly as bench/bench_payments.py does, then runs pgbench (a C client,
prepared statements) with bench/sql/payment.pgbench: the statements the backend sends for one
payment, in its two transactions. The payments/s it reaches is a ceiling for the whole backend
on this box, and the PostgreSQL CPU per payment is a cost no Python change removes: what is left
of two cores for the backend's own work is what decides the HTTP throughput. PostgreSQL:
GATEPAY_TEST_DATABASE_URL (a scratch database is created and dropped).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_payments import DINERS_PER_CLIENT, database, postgres_cpu_seconds, seed  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from core.crypto import key_to_text, new_key  # noqa: E402

SCRIPT = ROOT / "bench" / "sql" / "payment.pgbench"


def pgbench() -> str:
    found = shutil.which("pgbench") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None)
    if not found:
        raise SystemExit("pgbench not found (Debian: it comes with the postgresql server package)")
    return str(found)


def merchant_account(url: str) -> int:
    """The merchant's ledger account (made on its first payment, so made here)."""
    from backend.db import make_engine, make_sessionmaker
    from backend.services.ledger import merchant_account_id

    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        account = merchant_account_id(session, 1)
        session.commit()
    engine.dispose()
    return account


def run_pgbench(url: str, clients: int, seconds: int, terminals: int, merchant_account: int) -> tuple[float, float]:
    """(payments/s, mean latency ms) as pgbench reports them."""
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    out = subprocess.run(
        [pgbench(), "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
         "-D", f"diners={terminals * DINERS_PER_CLIENT}", "-D", f"terminals={terminals}",
         "-D", f"merchant_account={merchant_account}", "-f", str(SCRIPT), conninfo],
        capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"pgbench failed:\n{out.stdout}\n{out.stderr}")
    tps = float(re.search(r"tps = ([0-9.]+)", out.stdout).group(1))
    latency = float(re.search(r"latency average = ([0-9.]+) ms", out.stdout).group(1))
    return tps, latency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="8", help="comma-separated client counts")
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    keys = {"data_key": key_to_text(new_key()), "hash_key": key_to_text(new_key()),
            "card_hash_key": key_to_text(new_key())}
    print(f"{'clients':>7} {'pay/s':>8} {'mean ms':>8} {'pg cpu ms/pay':>13} {'load avg':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = database("postgres", Path(tmp))
        try:
            upgrade(url)
            terminals = max(counts)
            seed(url, keys, terminals)
            account = merchant_account(url)
            run_pgbench(url, max(counts), 3, terminals, account)      # warm-up: caches, plans
            for clients in counts:
                before = postgres_cpu_seconds()
                tps, latency = run_pgbench(url, clients, args.seconds, terminals, account)
                cpu_ms = (postgres_cpu_seconds() - before) * 1000 / (tps * args.seconds)
                print(f"{clients:>7} {tps:>8.0f} {latency:>8.1f} {cpu_ms:>13.2f} {os.getloadavg()[0]:>8.1f}",
                      flush=True)
        finally:
            drop()


if __name__ == "__main__":
    main()
