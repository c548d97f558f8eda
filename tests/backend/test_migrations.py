"""Upgrading a database that holds a day's data, from every earlier revision to head, on SQLite and
PostgreSQL: the schema changes, nothing is lost and the ledger still balances. (The test templates
are migrated empty, which hid that SQLite's table rebuilds failed on a database holding data.)"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import false

from backend.migrate import alembic_config, upgrade
from backend.services import campaigns, payments
from tests.backend.helpers import make_app
from tests.backend.money_helpers import open_canteen

REVISIONS = [r.revision for r in reversed(list(
    ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()))]


def _empty_database(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    from tests.conftest import PG_ADMIN_URL, _pg_connect, _pg_url_for, drop_pg_db

    request.getfixturevalue("pg_template")            # skips (or fails in CI) without PostgreSQL
    name = f"gp_m_{uuid.uuid4().hex[:12]}"
    with _pg_connect(PG_ADMIN_URL) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    request.addfinalizer(lambda: drop_pg_db(name))
    return _pg_url_for(name)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("start", REVISIONS[1:-1] if len(REVISIONS) > 2 else REVISIONS[:1])
def test_a_database_holding_payments_upgrades_to_head(kind: str, start: str, tmp_path: Path,
                                                      request: pytest.FixtureRequest,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    url = _empty_database(kind, tmp_path, request)
    upgrade(url, start)
    app = make_app(url)
    with TestClient(app) as client, monkeypatch.context() as old_code:   # a canteen with a diner who has paid
        if REVISIONS.index(start) < REVISIONS.index("0010_campaigns"):
            # The code of that revision had no campaigns: pay as it did (no campaigns table yet).
            old_code.setattr(campaigns, "best_offer", lambda *args, **kwargs: None)
            old_code.setattr(payments, "_MERCHANT_TERMS", payments.merchant_terms_statement(false()))
        shop = open_canteen(app, client)
        cid = shop.customer(wallet_fen=5_000)
        paid = shop.pay(cid, 1_200)
        assert paid["status"] == "approved"
    app.state.engine.dispose()

    upgrade(url)                                       # to head, with the data in place

    app = make_app(url)
    with TestClient(app) as client:
        shop = open_canteen(app, client)
        assert shop.view(cid)["wallet_fen"] == 3_800
        assert shop.pay(cid, 800)["status"] == "approved"
        assert shop.ledger_ok() == []
    app.state.engine.dispose()
