"""What signing costs the backend: signed GET /api/v1/terminal/time (verify Ed25519, store the
nonce in its own commit) against unsigned GET /health, in-process over the real app.

    .venv/bin/python -m bench.bench_terminal_auth [N] [POSTGRES_ADMIN_URL]

Prints median and p95 milliseconds for SQLite (a temp file) and, when a PostgreSQL admin URL is
given (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test), for a scratch database there.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from fastapi.testclient import TestClient

from backend.migrate import upgrade
from sync.auth import TerminalAuth
from tests.backend.helpers import make_app, make_merchant_site, register_terminal


def _timed(call, n: int) -> list[float]:  # noqa: ANN001
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return samples


def _row(label: str, samples: list[float]) -> str:
    p95 = statistics.quantiles(samples, n=20)[-1]
    return f"| {label} | {len(samples)} | {statistics.median(samples):.2f} | {p95:.2f} |"


def run(db_url: str, n: int, label: str) -> None:
    upgrade(db_url)
    app = make_app(db_url, log_json=True)
    with TestClient(app) as client:
        ids = make_merchant_site(app)
        terminal_id, key = register_terminal(client, app, ids["merchant_id"], ids["site_id"])
        auth = TerminalAuth(key, terminal_id)
        _timed(lambda: client.get("/health"), 20)     # warm up
        unsigned = _timed(lambda: client.get("/health"), n)
        signed = _timed(lambda: client.get("/api/v1/terminal/time", auth=auth), n)
    app.state.engine.dispose()
    print(_row(f"{label} unsigned /health", unsigned))
    print(_row(f"{label} signed /terminal/time", signed))


def main() -> None:
    import logging

    import structlog

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    print("| case | requests | median ms | p95 ms |\n| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        run(f"sqlite:///{Path(tmp) / 'bench.db'}", n, "SQLite")
    if len(sys.argv) > 2:
        import psycopg

        admin_url = sys.argv[2]
        name = f"gp_bench_{uuid.uuid4().hex[:8]}"
        plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            run(f"{admin_url.rpartition('/')[0]}/{name}", n, "PostgreSQL")
        finally:
            with psycopg.connect(plain, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
