"""Engine and sessions. SQLite pragmas are set here and nowhere else (WAL, synchronous FULL)."""
from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from core.private_files import private_sqlite

POOL_RECYCLE_S = 300


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            private_sqlite(path)   # 0600 (its -wal and -shm follow), a new folder 0700
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        # SQLite has one writer: take the write lock at BEGIN so two writers queue instead of
        # failing with "database is locked" when a reader upgrades.
        @event.listens_for(engine, "begin")
        def _begin_immediate(conn):  # noqa: ANN001
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        engine.dialect._gatepay_sqlite = True  # type: ignore[attr-defined]
        return engine
    # Pre-ping stays, although it costs a round trip per checkout: without it every pooled
    # connection broken by a server restart fails the first request that uses it (measured with
    # tests/reliability/test_pg_restart.py: the first read after the restart raised AdminShutdown),
    # and it saved only ~0.2 ms of CPU per payment (docs/BENCHMARKS.md).
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_recycle=POOL_RECYCLE_S)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
