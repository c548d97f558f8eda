"""Shared fixtures: fresh migrated databases (SQLite file and PostgreSQL), the real backend.

PostgreSQL cases run when GATEPAY_TEST_DATABASE_URL is set (CI sets it and also sets
GATEPAY_REQUIRE_POSTGRES=1, which turns an unreachable server into a failure, not a skip).
Each test gets its own database, cloned from a migrated template, so parallel test runs and
several developers on one server never see each other's rows.
"""
from __future__ import annotations

import gc
import os
import shutil
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PG_ADMIN_URL = os.environ.get("GATEPAY_TEST_DATABASE_URL", "")
REQUIRE_PG = os.environ.get("GATEPAY_REQUIRE_POSTGRES") == "1"
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True, scope="module")
def _release_what_a_module_left_open():
    """Apps, engines and stores a test module dropped are collected before the next module, so
    their database files and sockets close: one process runs the whole suite, and drivers that
    wait with select() fail once a descriptor number passes 1,024."""
    yield
    gc.collect()


def _pg_connect(url: str):  # noqa: ANN202
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                           connect_timeout=5)


def _pg_url_for(dbname: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


@pytest.fixture(scope="session")
def pg_template() -> str:
    """A migrated PostgreSQL template database for this test session; skipped (or failed in CI)
    when no server is configured."""
    if not PG_ADMIN_URL:
        if REQUIRE_PG:
            pytest.fail("GATEPAY_REQUIRE_POSTGRES=1 but GATEPAY_TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL not configured: set GATEPAY_TEST_DATABASE_URL to run these cases")
    try:
        admin = _pg_connect(PG_ADMIN_URL)
    except Exception as exc:  # noqa: BLE001
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL required but unreachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_URL}: {exc}")
    from backend.migrate import upgrade

    name = f"gp_tpl_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    upgrade(_pg_url_for(name))
    from sqlalchemy.pool import NullPool  # noqa: F401  - engines in upgrade() are disposed
    yield name
    admin.close()
    # A fresh connection: the server may have been restarted since (tests/reliability/test_pg_restart.py).
    with _pg_connect(PG_ADMIN_URL) as fresh:
        fresh.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from backend.migrate import upgrade

    path = tmp_path_factory.mktemp("tpl") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def new_sqlite_db(template: Path, directory: Path) -> str:
    path = directory / f"backend-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def new_pg_db(template: str) -> tuple[str, str]:
    name = f"gp_t_{uuid.uuid4().hex[:12]}"
    with _pg_connect(PG_ADMIN_URL) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name, _pg_url_for(name)


def drop_pg_db(name: str) -> None:
    with _pg_connect(PG_ADMIN_URL) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh migrated SQLite backend database file."""
    return new_sqlite_db(sqlite_template, tmp_path)


@pytest.fixture
def pg_url(pg_template: str):  # noqa: ANN201
    """A fresh migrated PostgreSQL database, dropped after the test."""
    name, url = new_pg_db(pg_template)
    yield url
    drop_pg_db(name)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
