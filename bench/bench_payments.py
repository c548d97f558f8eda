"""Payments booked through the HTTP API of a real backend (uvicorn, N workers) with 1, 8 and 32
concurrent clients, on SQLite and on PostgreSQL. Prints payments/s and p50/p99 latency.

    .venv/bin/python bench/bench_payments.py                       # SQLite and PostgreSQL (if reachable)
    .venv/bin/python bench/bench_payments.py --db sqlite --clients 8 --payments 400 --workers 2

Each client has its own HTTP connection and its own registered terminal, signs every request
(core.signing) and pays from its own diners' wallets (face credential), so the figures include
signature checks, the nonce insert, the split, the ledger posting and the change-feed row of each
payment. PostgreSQL: GATEPAY_TEST_DATABASE_URL (a scratch database is created and dropped).

Two client kinds (--client):
  presigned  (default) every request is signed before the clock starts and sent over a raw
             keep-alive socket by asyncio: in the field each client is a terminal with its own
             CPU, so on one shared 2-core box the clients should take as little of it as they can;
  httpx      a thread per client signing with sync.auth.TerminalAuth through httpx, as the
             terminal's own SyncClient does (the clients then take ~2-3 ms CPU a request).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.config import BackendSettings  # noqa: E402
from backend.db import make_engine, make_sessionmaker  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.services import merchants, sites  # noqa: E402
from backend.services.vault import vault_of  # noqa: E402
from sync.auth import TerminalAuth  # noqa: E402
from core.signing import sign_headers  # noqa: E402
from core.crypto import key_to_text, new_key  # noqa: E402
from terminal.demo.backend_process import BackendProcess  # noqa: E402
from bench.load.seed import registered_terminal, rich_diner  # noqa: E402
from bench.stats import percentile  # noqa: E402

DINERS_PER_CLIENT = 4
PG_ADMIN = os.environ.get("GATEPAY_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def seed(url: str, keys: dict[str, str], clients: int):  # noqa: ANN201
    """A canteen, one terminal per client and DINERS_PER_CLIENT rich diners per client."""
    import numpy as np

    settings = BackendSettings(database_url=url, **keys)
    engine = make_engine(url)
    now = datetime.now(timezone.utc)
    out = []
    with make_sessionmaker(engine)() as session:
        merchant = merchants.apply_merchant(session, name="bench canteen", kind="canteen",
                                            settlement_account_no="6222000011112222", settlement_bank_name="bench")
        merchants.approve(session, merchant, now=now)
        site = sites.create_site(session, merchant, name="bench site", kind="canteen")
        vault = vault_of(settings)
        rng = np.random.default_rng(0)
        for c in range(clients):
            terminal_id, key = registered_terminal(session, settings.keys["hash"], site, f"bench {c}", "bench", now)
            diners = [rich_diner(session, vault, rng, f"食客{c}-{d}", f"bench-{c}-{d}", 50_000_000, 100_000_000, [], now)
                      for d in range(DINERS_PER_CLIENT)]
            out.append((terminal_id, key, diners))
        session.commit()
    engine.dispose()
    return out


class Server(BackendProcess):
    """The backend with N workers, on the product's own launch path (backend/workers.py), with
    the backend's own channel settings (no simulators) and JSON logs."""

    def __init__(self, url: str, keys: dict[str, str], workers: int, workdir: Path):
        super().__init__(url, workdir, extra_env={"GATEPAY_LOG_JSON": "true",
                                                  **{f"GATEPAY_{k.upper()}": v for k, v in keys.items()}},
                         serve_args=["--no-migrate", "--host", "127.0.0.1", "--workers", str(workers)],
                         simulators={})
        self.start(timeout=60)

    def cpu_seconds(self) -> float:
        """CPU time (user+system) of the server and its worker processes so far (Linux /proc)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in [self.proc.pid, *self._children()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def _children(self) -> list[int]:
        try:
            return [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]
        except OSError:
            return []


def run(server_url: str, seeded, clients: int, payments: int) -> tuple[float, list[float], int]:  # noqa: ANN001
    per_client = max(1, payments // clients)
    latencies: list[float] = []
    declined = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        terminal_id, key, diners = seeded[i]
        auth = TerminalAuth(key, terminal_id)
        mine = []
        with httpx.Client(base_url=server_url, timeout=30) as http:
            http.get("/health")
            barrier.wait()
            for n in range(per_client):
                body = {"payment_id": str(uuid.uuid4()), "amount_fen": 1 + n % 900,
                        "credential": {"kind": "face", "customer_id": diners[n % len(diners)]},
                        "occurred_at": datetime.now(timezone.utc).isoformat(), "meal_period": "lunch"}
                t0 = time.perf_counter()
                response = http.post("/api/v1/terminal/payments", json=body, auth=auth)
                mine.append(time.perf_counter() - t0)
                if response.status_code != 200 or response.json()["status"] != "approved":
                    with lock:
                        declined[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies, declined[0]


PAY_PATH = "/api/v1/terminal/payments"


def presigned_requests(seeded_client, count: int) -> list[bytes]:  # noqa: ANN001
    """`count` complete HTTP/1.1 payment requests of one terminal, signed now."""
    terminal_id, key, diners = seeded_client
    out = []
    for n in range(count):
        body = json.dumps({"payment_id": str(uuid.uuid4()), "amount_fen": 1 + n % 900,
                           "credential": {"kind": "face", "customer_id": diners[n % len(diners)]},
                           "occurred_at": datetime.now(timezone.utc).isoformat(),
                           "meal_period": "lunch"}).encode()
        headers = sign_headers(key, terminal_id, "POST", PAY_PATH, body)
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        out.append(f"POST {PAY_PATH} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n{head}\r\n".encode() + body)
    return out


async def _send_all(host: str, port: int, requests: list[bytes], start: asyncio.Event,
                    latencies: list[float], declined: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    await start.wait()
    for raw in requests:
        t0 = time.perf_counter()
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        body = await reader.readexactly(length)
        latencies.append(time.perf_counter() - t0)
        if head[9:12] != b"200" or b'"status":"approved"' not in body:
            declined[0] += 1
    writer.close()


def run_presigned(server_url: str, seeded, clients: int, payments: int) -> tuple[float, list[float], int]:  # noqa: ANN001
    per_client = max(1, payments // clients)
    batches = [presigned_requests(seeded[i], per_client) for i in range(clients)]
    host, port = server_url.removeprefix("http://").split(":")
    latencies: list[float] = []
    declined = [0]

    async def main() -> float:
        start = asyncio.Event()
        tasks = [asyncio.create_task(_send_all(host, int(port), b, start, latencies, declined)) for b in batches]
        await asyncio.sleep(0.2)             # every connection open before the clock starts
        started = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
        return time.perf_counter() - started

    return asyncio.run(main()), latencies, declined[0]


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL server process on this machine (Linux /proc), including
    connection processes that have exited (their time is added to the postmaster's children
    time). Every database on the server counts, so it means something only on an idle server."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres)" in text:
            fields = text.rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15]) / ticks   # utime stime cutime cstime
    return total


def database(kind: str, workdir: Path):  # noqa: ANN201
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}", lambda: None
    import psycopg

    name = f"gp_bench_{uuid.uuid4().hex[:8]}"
    admin_url = PG_ADMIN.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"{PG_ADMIN.rpartition('/')[0]}/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", default="1,8,32", help="comma-separated client counts")
    parser.add_argument("--payments", type=int, default=600, help="payments per run")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--client", choices=["presigned", "httpx"], default="presigned",
                        help="how the clients send (see the module text)")
    args = parser.parse_args()
    send = run_presigned if args.client == "presigned" else run
    counts = [int(c) for c in args.clients.split(",")]
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    keys = {"data_key": key_to_text(new_key()), "hash_key": key_to_text(new_key()),
            "card_hash_key": key_to_text(new_key())}
    print(f"{'db':9} {'workers':>7} {'clients':>7} {'payments':>8} {'pay/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'declined':>8} {'server cpu ms/pay':>17} {'pg cpu ms/pay':>13} {'load avg':>8}")
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp:
            url, drop = database(kind, Path(tmp))
            try:
                upgrade(url)
                seeded = seed(url, keys, max(counts))
                server = Server(url, keys, args.workers, Path(tmp))
                try:
                    send(server.url, seeded, max(counts), 4 * max(counts))   # warm-up: connections, caches
                    for clients in counts:
                        cpu_before, pg_before = server.cpu_seconds(), postgres_cpu_seconds()
                        elapsed, lat, declined = send(server.url, seeded, clients, args.payments)
                        cpu_ms = (server.cpu_seconds() - cpu_before) * 1000 / len(lat)
                        pg_ms = (postgres_cpu_seconds() - pg_before) * 1000 / len(lat) if kind == "postgres" else 0
                        print(f"{kind:9} {args.workers:>7} {clients:>7} {len(lat):>8} {len(lat) / elapsed:>8.0f} "
                              f"{percentile(lat, 50) * 1000:>8.1f} {percentile(lat, 99) * 1000:>8.1f} {declined:>8} "
                              f"{cpu_ms:>17.1f} {pg_ms:>13.1f} "
                              f"{os.getloadavg()[0]:>8.1f}", flush=True)   # a shared box: say how busy
                finally:
                    server.stop()
            finally:
                drop()


if __name__ == "__main__":
    main()
