"""Upgrades never lose the queue: a store at the previous schema version holding queued
payments is upgraded at start, and every payment is still queued with its id and number."""
from __future__ import annotations

import uuid

import pytest

from core.wire import Credential, PaymentRequest, SplitLine
from core.clock import ManualClock
from terminal.schema import SCHEMA_VERSION
from terminal.store import Store
from tests.terminal.helpers import KEY


def _queue(store: Store, n: int) -> list[str]:
    ids = []
    for i in range(n):
        req = PaymentRequest(payment_id=uuid.uuid4(), amount_fen=100 + i,
                             credential=Credential(kind="face", customer_id=101),
                             occurred_at=store.clock.now(), offline=True,
                             offline_split=[SplitLine(source="wallet", amount_fen=100 + i)])
        store.outbox.add_payment(req, status="queued", method="face", credential_key="face:101",
                                 customer_id=101, masked_name="张*三", business_day="2026-03-02",
                                 split=req.offline_split)
        ids.append(str(req.payment_id))
    return ids


def test_upgrade_from_previous_version_keeps_every_queued_payment(tmp_path):
    path = tmp_path / "terminal.db"
    old = Store.open(path, KEY, ManualClock(), migrate_to=SCHEMA_VERSION - 1)
    assert old.schema_version() == SCHEMA_VERSION - 1
    ids = _queue(old, 25)
    seqs_before = [item.seq for item in old.outbox.pending(100)]
    old.close()

    new = Store.open(path, KEY, ManualClock())
    assert new.schema_version() == SCHEMA_VERSION
    pending = new.outbox.pending(100)
    assert [str(p.payment.payment_id) for p in pending] == ids
    assert [p.seq for p in pending] == seqs_before
    assert [p.payment.amount_fen for p in pending] == [100 + i for i in range(25)]
    assert all(p.payment.offline for p in pending)
    # the sequence keeps increasing after the upgrade
    [next_id] = _queue(new, 1)
    assert new.outbox.get(next_id).seq > max(seqs_before)


def test_a_store_from_a_newer_program_is_refused(tmp_path):
    path = tmp_path / "terminal.db"
    store = Store.open(path, KEY, ManualClock())
    store.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store.close()
    with pytest.raises(RuntimeError, match="newer"):
        Store.open(path, KEY, ManualClock())
