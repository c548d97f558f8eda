"""The local store: durability settings, keys at rest, the append-only audit log, the cache."""
from __future__ import annotations

import os
import sqlite3
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.wire import Change
from terminal.cache import BadChange
from core.clock import ManualClock
from core.crypto import new_key
from terminal.store import DATA_KEY_ENV, Store, StoreKeyError, load_data_key
from tests.terminal.helpers import Page, open_store, register_fake, seeded_store


def test_wal_and_synchronous_full_are_on(tmp_path):
    store = open_store(tmp_path / "t.db")
    assert store.pragma("journal_mode") == "wal"
    assert store.pragma("synchronous") == 2          # FULL
    # and they stay on for a reopened file (set in one place at every open)
    store.close()
    again = open_store(tmp_path / "t.db")
    assert again.pragma("journal_mode") == "wal" and again.pragma("synchronous") == 2


def test_key_file_is_created_private_and_reused(tmp_path):
    key = load_data_key(tmp_path, environ={})
    path = tmp_path / "terminal.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_data_key(tmp_path, environ={}) == key


def test_key_file_readable_by_others_is_refused(tmp_path):
    load_data_key(tmp_path, environ={})
    os.chmod(tmp_path / "terminal.key", 0o644)
    with pytest.raises(StoreKeyError, match="chmod 600"):
        load_data_key(tmp_path, environ={})


def test_key_from_environment_wins(tmp_path):
    from core.crypto import key_to_text

    key = new_key()
    assert load_data_key(tmp_path, environ={DATA_KEY_ENV: key_to_text(key)}) == key
    assert not (tmp_path / "terminal.key").exists()


def test_wrong_key_is_refused_at_open_not_mid_payment(tmp_path):
    open_store(tmp_path / "t.db").close()
    with pytest.raises(StoreKeyError, match="terminal.key"):
        Store.open(tmp_path / "t.db", new_key(), ManualClock())


def test_device_key_and_face_templates_are_sealed_at_rest(tmp_path):
    store = seeded_store(tmp_path)
    store.put_secret("device_key", b"SECRET-DEVICE-KEY-BYTES-0123456789")
    gallery = dict(store.cache.face_gallery())
    assert len(gallery[101][0]) == 512                     # 128 float32, readable in memory
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("terminal.db*"))
    assert b"SECRET-DEVICE-KEY" not in raw
    assert gallery[101][0][:16] not in raw
    from tests.terminal.helpers import template
    assert template(101).encode()[:40] not in raw


def test_audit_log_refuses_update_and_delete(tmp_path):
    store = open_store(tmp_path / "t.db")
    store.audit.record("cashier", "refund", payment_id="p1", amount_fen=100, card_hash="never-stored")
    [entry] = store.audit.entries()
    assert entry.action == "refund" and "card_hash" not in entry.detail
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("UPDATE audit SET action = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("DELETE FROM audit")
    assert len(store.audit.entries()) == 1


def test_identity_survives_reopen(tmp_path):
    store = open_store(tmp_path / "t.db")
    assert store.identity() is None
    register_fake(store, terminal_id=42)
    store.close()
    assert open_store(tmp_path / "t.db").identity().terminal_id == 42


def test_a_bad_change_refuses_the_whole_page_and_keeps_the_cursor(tmp_path):
    clock = ManualClock()
    store = seeded_store(tmp_path, clock)
    cursor = store.pull_cursor()
    page = Page(start_id=cursor + 1).face(103).add("balance", 103, {"customer_id": 103, "wallet_fen": "lots"})
    with pytest.raises(BadChange, match="wallet_fen"):
        page.apply(store)
    assert store.cache.face_signing(103) is None           # the good change before it was not applied
    assert store.pull_cursor() == cursor


def test_revocation_and_deletion_apply(tmp_path):
    store = seeded_store(tmp_path)
    Page(start_id=100).face(101, status="revoked").add("card_signing", "c-102", deleted=True).apply(store)
    assert store.cache.face_signing(101).status == "revoked"
    assert store.cache.card_signing("c-102") is None
    assert [cid for cid, _ in store.cache.face_gallery()] == [102]


def test_older_balance_snapshot_never_overwrites_a_newer_one(tmp_path):
    clock = ManualClock()
    store = seeded_store(tmp_path, clock)
    newer = clock.now()
    Page(start_id=50).balance(101, 1234, as_of=newer).apply(store)
    Page(start_id=60).balance(101, 9999, as_of=newer.replace(year=2025)).apply(store)
    assert store.cache.balance(101).wallet_fen == 1234


def test_other_scenes_kinds_are_kept_for_them(tmp_path):
    store = open_store(tmp_path / "t.db")
    page = Page()
    page.changes.append(Change(id=1, kind="tariff", key="3", data={"free_minutes": 15}))
    page._id = 2
    page.apply(store)
    assert store.cache.items("tariff") == {"3": {"free_minutes": 15}}


def test_revoked_signing_sent_as_deleted_is_kept_as_revoked(tmp_path):
    store = seeded_store(tmp_path)
    data = {"customer_id": 101, "masked_name": "张*三", "status": "revoked", "templates": [],
            "per_payment_limit_fen": 1, "per_day_limit_fen": 1}
    page = Page(start_id=100)
    page.add("face_signing", 101, data, deleted=True)
    page.apply(store)
    assert store.cache.face_signing(101).status == "revoked"
    assert 101 not in dict(store.cache.face_gallery())


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                     max_leaves=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["face_signing", "card_signing", "plate_signing", "balance", "subsidy_program",
                             "meal_periods", "offline_limits", "tariff"]),
       data=st.dictionaries(st.text(max_size=12), _json, max_size=6), deleted=st.booleans())
def test_garbage_pulled_data_is_applied_whole_or_refused_whole(tmp_path_factory, kind, data, deleted):
    store = open_store(tmp_path_factory.mktemp("g") / "t.db")
    before = (store.pull_cursor(), store.cache.counts())
    try:
        Page(start_id=5).add(kind, "1", data, deleted=deleted).apply(store)
    except BadChange:
        assert (store.pull_cursor(), store.cache.counts()) == before
    else:
        assert store.pull_cursor() == 5
    store.close()
