"""The change feed: who sees which change, in order, and never a change skipped because a lower
id committed late (the hole-in-the-sequence guard)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from backend.db import make_engine, make_sessionmaker
from backend.models.base import utcnow
from backend.models.changes import SyncChange
from backend.services.changes import GAP_GRACE_S, changes_page, changes_since, record_change
from tests.backend.helpers import make_app, make_merchant_site


@pytest.fixture
def world(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    a, b = make_merchant_site(app, name="A"), make_merchant_site(app, name="B")
    with app.state.sessions() as s:   # start after the offline-limit records of the two new sites
        a["cursor"] = b["cursor"] = s.scalar(select(func.max(SyncChange.id)))
    yield app, a, b
    app.state.engine.dispose()


def _keys(rows) -> list[str]:  # noqa: ANN001
    return [r.key for r in rows]


def test_each_terminal_sees_bank_wide_and_its_own_changes_in_order(world) -> None:  # noqa: ANN001
    app, a, b = world
    with app.state.sessions() as s:
        record_change(s, "face_signing", "bank", {"n": 1})
        record_change(s, "subsidy_program", "a", {"n": 2}, merchant_id=a["merchant_id"])
        record_change(s, "meal_periods", "a-site", {"n": 3}, merchant_id=a["merchant_id"], site_id=a["site_id"])
        record_change(s, "offline_limits", "b-site", {"n": 4}, merchant_id=b["merchant_id"], site_id=b["site_id"])
        record_change(s, "face_signing", "bank2", {"n": 5}, deleted=True)
        s.commit()
    with app.state.sessions() as s:
        mine = changes_since(s, a["cursor"], 100, merchant_id=a["merchant_id"], site_id=a["site_id"])
        assert _keys(mine) == ["bank", "a", "a-site", "bank2"]
        assert mine[-1].deleted and mine[0].data == {"n": 1}
        theirs = changes_since(s, b["cursor"], 100, merchant_id=b["merchant_id"], site_id=b["site_id"])
        assert _keys(theirs) == ["bank", "b-site", "bank2"]
        # Paging: the cursor moves past what was read, and past other merchants' changes.
        first = changes_page(s, a["cursor"], 2, merchant_id=a["merchant_id"], site_id=a["site_id"])
        assert _keys(first.rows) == ["bank", "a"] and first.more
        rest = changes_page(s, first.cursor, 2, merchant_id=a["merchant_id"], site_id=a["site_id"])
        assert _keys(rest.rows) == ["a-site", "bank2"] and not rest.more
        assert rest.cursor == s.scalar(select(func.max(SyncChange.id)))
        empty = changes_page(s, rest.cursor, 2, merchant_id=a["merchant_id"], site_id=a["site_id"])
        assert empty.rows == [] and empty.cursor == rest.cursor


def test_a_change_exists_only_if_its_transaction_commits(world) -> None:  # noqa: ANN001
    app, a, _b = world
    with app.state.sessions() as s:
        record_change(s, "balance", 1, {"wallet_fen": 100}, merchant_id=a["merchant_id"])
        s.rollback()
        s.commit()
        record_change(s, "balance", 2, {"wallet_fen": 200}, merchant_id=a["merchant_id"])
        s.commit()
    with app.state.sessions() as s:
        assert _keys(changes_since(s, a["cursor"], 10, merchant_id=a["merchant_id"], site_id=a["site_id"])) == ["2"]
    with app.state.sessions() as s, pytest.raises(ValueError, match="ChangeKind"):
        record_change(s, "gossip", 1, {})


def _insert(session, change_id: int, when) -> None:  # noqa: ANN001
    session.add(SyncChange(id=change_id, kind="balance", key=str(change_id), data={}, created_at=when))


def test_pull_waits_at_a_fresh_hole_and_passes_an_old_one(world) -> None:  # noqa: ANN001
    app, a, _b = world
    now = utcnow()
    c = a["cursor"]
    with app.state.sessions() as s:   # c+1, c+2, then a hole at c+3 (a transaction still committing?), c+4
        for change_id in (c + 1, c + 2, c + 4):
            _insert(s, change_id, now)
        s.commit()
    with app.state.sessions() as s:
        page = changes_page(s, c, 10, merchant_id=a["merchant_id"], site_id=a["site_id"], now=now)
        assert _keys(page.rows) == [str(c + 1), str(c + 2)] and page.cursor == c + 2
        later = now + timedelta(seconds=GAP_GRACE_S + 1)   # a hole that old was a rollback
        assert _keys(changes_since(s, c + 2, 10, merchant_id=a["merchant_id"], site_id=a["site_id"],
                                   now=later)) == [str(c + 4)]


def test_hole_right_after_the_cursor_holds_the_pull(world) -> None:  # noqa: ANN001
    app, a, _b = world
    now = utcnow()
    c = a["cursor"]
    with app.state.sessions() as s:
        _insert(s, c + 1, now - timedelta(minutes=5))
        _insert(s, c + 3, now)
        s.commit()
    with app.state.sessions() as s:
        page = changes_page(s, c + 1, 10, merchant_id=a["merchant_id"], site_id=a["site_id"], now=now)
        assert page.rows == [] and page.cursor == c + 1


def test_a_late_committing_lower_id_is_not_skipped_on_postgres(pg_url: str) -> None:
    """Two real transactions: the one holding the lower id commits last; the pull in between
    must not move the cursor past it."""
    engine = make_engine(pg_url)
    sessions = make_sessionmaker(engine)
    slow, fast, reader = sessions(), sessions(), sessions()
    try:
        slow.add(SyncChange(kind="balance", key="slow", data={}, created_at=utcnow()))
        slow.flush()                                    # holds the lower id, not committed
        record_change(fast, "balance", "fast", {})
        fast.commit()
        page = changes_page(reader, 0, 10, merchant_id=1, site_id=1)
        assert page.rows == [] and page.cursor == 0
        reader.rollback()
        slow.commit()
        page = changes_page(reader, 0, 10, merchant_id=1, site_id=1)
        assert _keys(page.rows) == ["slow", "fast"]
    finally:
        for s in (slow, fast, reader):
            s.close()
        engine.dispose()


def test_a_change_recorded_in_a_rolled_back_savepoint_is_dropped(world) -> None:  # noqa: ANN001
    app, a, _b = world
    with app.state.sessions() as s:
        record_change(s, "balance", "kept", {})
        savepoint = s.begin_nested()
        record_change(s, "balance", "dropped", {})
        savepoint.rollback()
        with s.begin_nested():
            record_change(s, "balance", "released", {})
        s.commit()
    with app.state.sessions() as s:
        rows = changes_since(s, a["cursor"], 10, merchant_id=a["merchant_id"], site_id=a["site_id"])
        assert _keys(rows) == ["kept", "released"]


def test_a_merchant_status_change_goes_to_that_merchants_terminals_only(world) -> None:  # noqa: ANN001
    from backend.services.merchants import get_merchant, reinstate, suspend

    app, a, b = world
    with app.state.sessions() as s:
        suspend(s, get_merchant(s, a["merchant_id"]), "contract ended", now=datetime.now(timezone.utc))
        s.commit()
        reinstate(s, get_merchant(s, a["merchant_id"]))
        s.commit()
    with app.state.sessions() as s:
        mine = changes_since(s, a["cursor"], 100, merchant_id=a["merchant_id"], site_id=a["site_id"])
        assert [(r.kind, r.data["status"], r.data["reason"]) for r in mine] == [
            ("merchant_status", "suspended", "contract ended"), ("merchant_status", "approved", None)]
        assert changes_since(s, b["cursor"], 100, merchant_id=b["merchant_id"], site_id=b["site_id"]) == []
