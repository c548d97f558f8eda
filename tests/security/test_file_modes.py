"""Files at rest readable by their owner only (issue 12, item 4): the backend's SQLite database and
its -wal/-shm, the terminal's store and its -wal/-shm, and the payout files (full account numbers)
are 0600, in folders made 0700; files an older version left 0644 are narrowed when opened. Run
with the usual umask 022, under which Python and SQLite would otherwise make them 0644/0755."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from backend.db import make_engine
from backend.migrate import upgrade
from core.clock import ManualClock
from core.crypto import new_key
from terminal.store import Store, load_data_key
from tests.backend.helpers import TEST_KEYS, make_app, make_merchant_site


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask():  # noqa: ANN201
    old = os.umask(0o022)
    yield
    os.umask(old)


def _sqlite_files(db: Path) -> dict[str, int]:
    return {p.name: mode(p) for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"))
            if p.exists()}


def test_a_new_backend_database_and_its_wal_and_shm_are_0600_in_a_0700_folder(tmp_path: Path) -> None:
    db = tmp_path / "var" / "data" / "backend.db"
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x TEXT)"))
        conn.execute(text("INSERT INTO t VALUES ('张三')"))
        files = _sqlite_files(db)                 # while the connection is open: -wal and -shm exist
    engine.dispose()
    assert files == {"backend.db": 0o600, "backend.db-wal": 0o600, "backend.db-shm": 0o600}
    assert mode(tmp_path / "var") == 0o700 and mode(tmp_path / "var" / "data") == 0o700


def test_an_existing_backend_database_left_0644_is_narrowed_when_opened(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    db = tmp_path / "backend.db"
    upgrade(f"sqlite:///{db}")
    for path in (db, db.with_name("backend.db-wal")):
        path.touch()
        os.chmod(path, 0o644)
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        assert set(_sqlite_files(db).values()) == {0o600}
    engine.dispose()
    assert mode(tmp_path) == 0o755        # an existing folder (maybe /var/lib) is not ours to close


def test_the_terminal_store_and_its_wal_and_shm_are_0600_in_a_0700_folder(tmp_path: Path) -> None:
    folder = tmp_path / "terminal" / "data"
    key = load_data_key(folder, environ={})
    store = Store.open(folder / "terminal.db", key, ManualClock())
    store.set_meta(probe="written")
    files = _sqlite_files(folder / "terminal.db")
    store.db.conn.close()
    assert files == {"terminal.db": 0o600, "terminal.db-wal": 0o600, "terminal.db-shm": 0o600}
    assert mode(folder / "terminal.key") == 0o600
    assert mode(tmp_path / "terminal") == 0o700 and mode(folder) == 0o700


def test_an_existing_terminal_store_left_0644_is_narrowed(tmp_path: Path) -> None:
    key = new_key()
    Store.open(tmp_path / "terminal.db", key, ManualClock()).db.conn.close()
    os.chmod(tmp_path / "terminal.db", 0o644)
    store = Store.open(tmp_path / "terminal.db", key, ManualClock())
    store.set_meta(probe="again")
    files = _sqlite_files(tmp_path / "terminal.db")
    store.db.conn.close()
    assert set(files.values()) == {0o600} and "terminal.db-wal" in files


def test_payout_files_are_0600_in_a_0700_folder(sqlite_url: str, tmp_path: Path) -> None:
    from backend.cli import app as backend_cli

    make_merchant_site(make_app(sqlite_url))          # one approved merchant: a payout row
    out = tmp_path / "payout" / "2026"
    env = {"GATEPAY_DATABASE_URL": sqlite_url, "GATEPAY_DATA_KEY": TEST_KEYS["data_key"],
           "GATEPAY_HASH_KEY": TEST_KEYS["hash_key"], "GATEPAY_CARD_HASH_KEY": TEST_KEYS["card_hash_key"]}
    result = CliRunner().invoke(backend_cli, ["settle", "--day", "2026-03-02", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    written = sorted(out.iterdir())
    assert [p.name for p in written] == ["payout-2026-03-02.csv", "payout-2026-03-02.xlsx"]
    assert {mode(p) for p in written} == {0o600}
    assert mode(out) == 0o700 and mode(out.parent) == 0o700
    assert b"6222000011112222" in written[0].read_bytes()          # the account number is in there
