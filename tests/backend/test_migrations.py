"""Upgrading a database that holds a day's data, from every earlier revision to head, on SQLite and
PostgreSQL: the schema changes, nothing is lost and the ledger still balances. (The test templates
are migrated empty, which hid that SQLite's table rebuilds failed on a database holding data.)"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, false, func, select

from backend.migrate import alembic_config, upgrade
from backend.models import Payment
from backend.services import campaign_slices, campaigns, offers, payers, payments
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


def _before(start: str, revision: str) -> bool:
    return REVISIONS.index(start) < REVISIONS.index(revision)


def _as_the_code_of(start: str, old_code: pytest.MonkeyPatch) -> None:
    """Run today's code as the code of revision `start` did: without the tables it did not have."""
    if _before(start, "0010_campaigns"):             # no campaigns: no offer, a day's sum of prices
        old_code.setattr(campaigns, "best_offer", lambda *args, **kwargs: None)
        old_code.setattr(payments, "_MERCHANT_TERMS", payments.merchant_terms_statement(false()))
        paid = Payment.__table__.c
        old_code.setattr(payers, "_SPENT_TODAY", select(func.coalesce(func.sum(paid.amount_fen - paid.refunded_fen), 0))
                         .where(paid.signing_id == bindparam("signing_id"),
                                paid.business_date == bindparam("business_date"), paid.status != "declined"))
    if _before(start, "0013_campaign_slices"):       # no budget slices to hand out at registration
        old_code.setattr(campaign_slices, "refresh_terminal", lambda *args, **kwargs: None)
    if _before(start, "0014_habit_offers"):          # no offers from habits
        old_code.setattr(offers, "attach", lambda session, result, *args, **kwargs: result)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("start", REVISIONS[1:-1] if len(REVISIONS) > 2 else REVISIONS[:1])
def test_a_database_holding_payments_upgrades_to_head(kind: str, start: str, tmp_path: Path,
                                                      request: pytest.FixtureRequest,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    url = _empty_database(kind, tmp_path, request)
    upgrade(url, start)
    app = make_app(url)
    with TestClient(app) as client, monkeypatch.context() as old_code:   # a canteen with a diner who has paid
        _as_the_code_of(start, old_code)
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
