"""Power cut during a write of the terminal's SQLite file (kill -9 itself is covered by
tests/sync/test_crash.py). The store runs WAL with synchronous=FULL: a commit returns, and the
gate opens, only after its WAL frames are on disk. So a torn write can only hit a transaction
that had not yet returned. We reproduce the three shapes a torn WAL tail takes — cut short in the
middle of the last transaction, its last frame's bytes garbled, and half a frame of a next
transaction appended — and show the store opens to exactly the last committed state, passes
SQLite's integrity check, keeps working, and pushes every payment it holds to the backend once."""
from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from core.crypto import new_key

PAYMENTS = 5


def snapshot(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True)
    for name in ("terminal.db", "terminal.db-wal"):
        shutil.copyfile(src / name, dst / name)


@pytest.fixture(scope="module")
def written(site, tmp_path_factory):
    """A terminal that approved PAYMENTS offline payments; a copy of its files after each commit."""
    tmp = tmp_path_factory.mktemp("torn")
    key = new_key()
    diner = site.diner(wallet_fen=100_000)
    term = site.terminal(tmp / "live", key=key)
    term.decider.client = None                      # offline decisions: each one is one commit
    copies, ids = [], []
    for n in range(PAYMENTS):
        outcome = term.pay(diner, 300 + n)
        assert outcome.status == "approved" and outcome.offline
        ids.append(outcome.payment_id)
        snapshot(tmp / "live", tmp / f"after{n + 1}")
        copies.append(tmp / f"after{n + 1}")
    term.close()
    return key, copies, ids, tmp


def wal_size(d: Path) -> int:
    return (d / "terminal.db-wal").stat().st_size


def payment_ids(site, d: Path, key: bytes) -> list[str]:
    term = site.terminal(d, key=key, url="http://127.0.0.1:9")
    try:
        return [i.item_id for i in term.store.outbox.items(kind="payment")]
    finally:
        term.close()


def integrity(d: Path) -> str:
    with sqlite3.connect(d / "terminal.db") as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def tear(written, tmp: Path, how: str, rng: random.Random) -> Path:
    _key, copies, _ids, _ = written
    before, last = wal_size(copies[-2]), wal_size(copies[-1])
    assert last > before, "the last payment's frames are in the WAL (no checkpoint in between)"
    d = tmp / how
    snapshot(copies[-1], d)
    wal = d / "terminal.db-wal"
    data = bytearray(wal.read_bytes())
    if how == "cut short":
        data = data[:rng.randrange(before + 1, last)]
    elif how == "last frame garbled":
        for i in range(last - 64, last):
            data[i] ^= 0xA5
    elif how == "half a next frame appended":
        data += bytes(rng.randrange(256) for _ in range(2000))
    wal.write_bytes(bytes(data))
    return d


@pytest.mark.parametrize("how, survivors", [("cut short", PAYMENTS - 1), ("last frame garbled", PAYMENTS - 1),
                                            ("half a next frame appended", PAYMENTS)])
def test_a_torn_wal_tail_opens_to_the_last_committed_state(site, written, tmp_path, how, survivors):
    key, _copies, ids, _ = written
    d = tear(written, tmp_path, how, random.Random(how))
    recovered = payment_ids(site, d, key)
    assert recovered == ids[:survivors]             # nothing half-written, nothing earlier lost
    assert integrity(d) == "ok"
    term = site.terminal(d, key=key, url="http://127.0.0.1:9")
    term.decider.client = None
    try:
        assert term.pay(term.store.outbox.items(kind="payment")[0].customer_id, 100).status == "approved"
        assert len(term.store.outbox.items(kind="payment")) == survivors + 1   # the store keeps working
    finally:
        term.close()


def test_the_recovered_store_pushes_each_payment_once(site, written, tmp_path):
    key, _copies, ids, _ = written
    d = tear(written, tmp_path, "cut short", random.Random(7))
    term = site.terminal(d, key=key)
    terminal_id = term.store.identity().terminal_id
    term.engine.cycle()
    term.engine.cycle()                              # a second push changes nothing
    term.close()
    booked = site.payments(terminal_id)
    assert sorted(booked) == sorted(ids[:PAYMENTS - 1])
    assert site.ledger_problems() == []
