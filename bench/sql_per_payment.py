"""The SQL statements one payment sends, listed in order (a SQLAlchemy event listener on the engine).

    .venv/bin/python bench/sql_per_payment.py --db postgres

One signed POST /api/v1/terminal/payments through the whole ASGI app, after a warm-up, on a
seeded canteen (bench.bench_payments.seed: face credential, wallet payer). Prints each statement's
first line (and the BEGIN/COMMIT the driver sends) and the count; docs/BENCHMARKS.md says what
each one is for.
"""
from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
from pathlib import Path

import anyio.to_thread
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.app import create_app  # noqa: E402
from backend.config import BackendSettings  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from bench.bench_payments import database, seed  # noqa: E402
from bench.profile_payments import _inline, pay_many  # noqa: E402
from bench.load.seed import new_keys  # noqa: E402


def short(statement: str) -> str:
    """One line: the verb and the tables, the column lists elided."""
    flat = re.sub(r"\s+", " ", statement).strip()
    flat = re.sub(r"SELECT .*? FROM", "SELECT … FROM", flat, count=1)
    flat = re.sub(r"\(([^()]*)\) VALUES", "(…) VALUES", flat)
    return flat[:150]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    args = parser.parse_args()
    anyio.to_thread.run_sync = _inline
    keys = new_keys()
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = database(args.db, Path(tmp))
        try:
            upgrade(url)
            seeded = seed(url, keys, 1)
            app = create_app(BackendSettings(database_url=url, log_json=True, **keys))
            asyncio.run(pay_many(app, seeded, 10))   # warm-up: connections, caches, the terminal's first nonce
            sent: list[str] = []
            engine = app.state.engine
            event.listen(engine, "before_cursor_execute", lambda *a: sent.append(short(a[2])))
            event.listen(engine, "commit", lambda *_: sent.append("COMMIT"))
            event.listen(engine, "begin", lambda *_: sent.append("BEGIN"))
            approved = asyncio.run(pay_many(app, seeded, 1))
            for i, line in enumerate(sent, 1):
                print(f"{i:>2}. {line}")
            statements = [s for s in sent if s not in ("BEGIN", "COMMIT")]
            print(f"{args.db}: {approved}/1 approved; {len(statements)} statements, "
                  f"{sent.count('COMMIT')} commit(s), {len(sent)} round trips with BEGIN/COMMIT")
            engine.dispose()
        finally:
            drop()


if __name__ == "__main__":
    main()
