"""The change feed's cursor scan (migration 0011): a pull reads its merchant's and the bank-wide
changes through ix_sync_changes_merchant_id_id, and small pages over interleaved changes of the
bank, this merchant, its other site and another merchant still give exactly its own, in order."""
from __future__ import annotations

from sqlalchemy import func, inspect, select, text

from backend.models.changes import SyncChange
from backend.models.merchants import Merchant
from backend.services.changes import changes_page, record_change
from backend.services.sites import create_site
from tests.backend.helpers import make_app, make_merchant_site


def _world(db_url: str):  # noqa: ANN202
    app = make_app(db_url)
    a, b = make_merchant_site(app, name="A"), make_merchant_site(app, name="B")
    with app.state.sessions() as s:
        a["other_site_id"] = create_site(s, s.get(Merchant, a["merchant_id"]), name="A north", kind="canteen").id
        s.commit()
        cursor = s.scalar(select(func.max(SyncChange.id)))
    return app, a, b, cursor


def test_small_pages_give_the_bank_s_and_own_changes_in_order_and_nothing_else(db_url: str) -> None:
    app, a, b, cursor = _world(db_url)
    expected = []
    with app.state.sessions() as s:
        for i in range(7):
            record_change(s, "face_signing", f"bank{i}", {})
            record_change(s, "balance", f"b{i}", {}, merchant_id=b["merchant_id"])
            record_change(s, "balance", f"b-more{i}", {}, merchant_id=b["merchant_id"])
            record_change(s, "balance", f"a{i}", {}, merchant_id=a["merchant_id"])
            record_change(s, "meal_periods", f"b-site{i}", {}, merchant_id=b["merchant_id"], site_id=b["site_id"])
            record_change(s, "meal_periods", f"a-north{i}", {}, merchant_id=a["merchant_id"],
                          site_id=a["other_site_id"])
            record_change(s, "meal_periods", f"a-site{i}", {}, merchant_id=a["merchant_id"], site_id=a["site_id"])
            expected += [f"bank{i}", f"a{i}", f"a-site{i}"]
        s.commit()
    seen = []
    with app.state.sessions() as s:
        for limit in (1, 2, 3, 500):
            seen, at = [], cursor
            while True:
                page = changes_page(s, at, limit, merchant_id=a["merchant_id"], site_id=a["site_id"])
                seen += [r.key for r in page.rows]
                assert page.cursor >= at
                at = page.cursor
                if not page.more:
                    break
            assert seen == expected, limit
            assert at == s.scalar(select(func.max(SyncChange.id)))   # past B's changes too
    app.state.engine.dispose()


def test_migration_adds_the_cursor_index_and_the_pull_uses_it(db_url: str) -> None:
    app, a, _b, cursor = _world(db_url)
    engine = app.state.engine
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("sync_changes")}
    assert indexes["ix_sync_changes_merchant_id_id"] == ["merchant_id", "id"]
    statements = []

    def grab(_conn, _cursor, statement, parameters, _context, _many):  # noqa: ANN001, ANN202
        if "FROM sync_changes" in statement and "LIMIT" in statement:
            statements.append((statement, parameters))
    from sqlalchemy import event

    event.listen(engine, "before_cursor_execute", grab)
    with app.state.sessions() as s:
        changes_page(s, cursor, 50, merchant_id=a["merchant_id"], site_id=a["site_id"])
    event.remove(engine, "before_cursor_execute", grab)
    statement, parameters = statements[-1]
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":   # a small table: tell the planner scans cost what they do later
            cur.execute("SET enable_seqscan = off")
            cur.execute("EXPLAIN " + statement, parameters)
        else:
            cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        plan = "\n".join(str(row) for row in cur.fetchall())
        cur.close()
        conn.execute(text("SELECT 1"))
    assert plan.count("ix_sync_changes_merchant_id_id") >= 2, plan   # both halves: bank-wide and own
    app.state.engine.dispose()
