"""Bad input to the operator side (issue 12, item 2): signings naming a merchant that does not
exist, refund amounts that are not whole fen, the last operator token, search terms in the URL,
`settle --day` in another date format, any text in a program name. Each is a clear 4xx in Chinese
and English (or a refusal that says what to do), and nothing is booked."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from tests.backend.bad_input_helpers import assert_clear_422, count
from tests.backend.helpers import bearer, make_app, make_merchant_site, operator_token
from tests.backend.money_helpers import CONSENT_AT, canteen, template  # noqa: F401 - canteen is a fixture


# --- signings, refunds, operators ----------------------------------------------------------------

def test_a_signing_naming_a_merchant_that_does_not_exist_is_refused(canteen, db_url: str) -> None:  # noqa: ANN001
    cid = canteen.post("/api/v1/customers", {"name": "王五"})["id"]
    limits = {"per_payment_limit_fen": 100, "per_day_limit_fen": 1000, "merchant_ids": [canteen.merchant_id, 99999]}
    for kind, extra in (("face", {"consent_at": CONSENT_AT, "consent_text_version": "v1", "templates": [template(5)]}),
                        ("card", {"card_hash": "ef" * 16}),
                        ("plate", {"plate": "京B12345", "plate_colour": "blue"})):
        response = canteen.client.post(f"/api/v1/customers/{cid}/signings/{kind}", headers=canteen.staff,
                                       json={**limits, **extra})
        assert response.status_code == 422, response.text
        assert response.json()["detail"]["code"] == "merchant_not_found" and "99999" in response.json()["detail"]["message_zh"]
    assert count(db_url, "signings") == 0


def test_consent_withdrawal_works_even_when_a_signing_names_a_vanished_merchant(canteen, db_url: str) -> None:  # noqa: ANN001
    """A card signing stored before merchants were checked names merchant 99999. Revoking the
    diner's face signing (the diner withdraws consent) republishes their balance to the merchants
    their live signings name: that used to break the commit (a 500, the face stayed active)."""
    cid = canteen.customer(wallet_fen=100)
    card = canteen.post(f"/api/v1/customers/{cid}/signings/card", {
        "card_hash": "cd" * 16, "per_payment_limit_fen": 100, "per_day_limit_fen": 1000,
        "merchant_ids": [canteen.merchant_id]})
    engine = create_engine(db_url)
    with engine.begin() as conn:
        value = ":ids" if db_url.startswith("sqlite") else "CAST(:ids AS JSON)"
        conn.execute(text(f"UPDATE signings SET merchant_ids = {value} WHERE id = :id"),
                     {"ids": "[%d, 99999]" % canteen.merchant_id, "id": card["id"]})
    engine.dispose()
    [face] = [s for s in canteen.client.get(f"/api/v1/customers/{cid}/signings", headers=canteen.staff).json()
              if s["kind"] == "face"]
    response = canteen.client.post(f"/api/v1/signings/{face['id']}/revoke", headers=canteen.staff,
                                   json={"reason": "本人撤回同意"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "revoked" and response.json()["templates"] == 0
    assert count(db_url, "face_templates") == 0


@pytest.mark.parametrize("amount", ["100", 100.0, True, "1e2"])
def test_an_operator_refund_amount_must_be_a_whole_number_of_fen(canteen, db_url: str, amount) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=5000)
    paid = canteen.pay(cid, 500)
    response = canteen.client.post(f"/api/v1/payments/{paid['payment_id']}/refunds", headers=canteen.staff,
                                   json={"refund_id": str(uuid.uuid4()), "amount_fen": amount, "reason": "错扣"})
    assert_clear_422(response)
    assert count(db_url, "refunds") == 0 and canteen.view(cid)["wallet_fen"] == 4500
    ok = canteen.client.post(f"/api/v1/payments/{paid['payment_id']}/refunds", headers=canteen.staff,
                             json={"refund_id": str(uuid.uuid4()), "amount_fen": 100, "reason": "错扣"})
    assert ok.status_code == 200, ok.text


def test_the_last_active_operator_token_cannot_be_deactivated(db_url: str) -> None:
    app = make_app(db_url)
    with TestClient(app) as client:
        first = operator_token(app, name="甲")
        ids = make_merchant_site(app)
        merchant_admin = operator_token(app, role="merchant_admin", merchant_id=ids["merchant_id"])
        assert merchant_admin
        me = client.get("/api/v1/operators", headers=bearer(first)).json()
        [first_id] = [o["id"] for o in me if o["name"] == "甲"]
        refused = client.post(f"/api/v1/operators/{first_id}/deactivate", headers=bearer(first))
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"]["code"] == "last_operator" and refused.json()["detail"]["message_en"]
        assert client.get("/api/v1/operators", headers=bearer(first)).status_code == 200   # still works
        second = client.post("/api/v1/operators", headers=bearer(first), json={"name": "乙", "role": "operator"})
        assert second.status_code == 201
        assert client.post(f"/api/v1/operators/{first_id}/deactivate", headers=bearer(first)).status_code == 200
        again = client.post(f"/api/v1/operators/{second.json()['id']}/deactivate",
                            headers=bearer(second.json()["token"]))
        assert again.status_code == 409


def test_customer_search_takes_the_id_number_and_phone_in_the_body_never_the_url(canteen) -> None:  # noqa: ANN001
    created = canteen.post("/api/v1/customers", {"name": "欧阳小明", "phone": "13812345678"})
    listed = canteen.client.get("/api/v1/customers", headers=canteen.staff)
    assert listed.status_code == 200 and [c["masked_name"] for c in listed.json()] == ["欧**明"]
    in_url = canteen.client.get("/api/v1/customers", params={"phone": "13812345678"}, headers=canteen.staff)
    assert in_url.status_code == 422 and in_url.json()["detail"]["code"] == "search_in_body"
    assert "POST /api/v1/customers/search" in in_url.json()["detail"]["message_en"]
    found = canteen.client.post("/api/v1/customers/search", json={"phone": "13812345678"}, headers=canteen.staff)
    assert [c["id"] for c in found.json()] == [created["id"]]
    assert_clear_422(canteen.client.post("/api/v1/customers/search", json={"phone": "138\x001234"},
                                         headers=canteen.staff))


# --- `gatepay backend settle --day`: one date format ---------------------------------------------

@pytest.mark.parametrize("day", ["20260302", "2026-3-2", "2026-W10-1", "02/03/2026", "2026-03-02T00:00", " 2026-03-02"])
def test_settle_takes_one_date_format_and_closes_nothing_otherwise(sqlite_url: str, tmp_path: Path, day: str) -> None:
    """`settle --day 20261201` used to close the day, write no files, then say it was not settled."""
    from backend.cli import app as backend_cli
    from tests.backend.helpers import TEST_KEYS

    make_merchant_site(make_app(sqlite_url))
    env = {"GATEPAY_DATABASE_URL": sqlite_url, "GATEPAY_DATA_KEY": TEST_KEYS["data_key"],
           "GATEPAY_HASH_KEY": TEST_KEYS["hash_key"], "GATEPAY_CARD_HASH_KEY": TEST_KEYS["card_hash_key"]}
    result = CliRunner().invoke(backend_cli, ["settle", "--day", day, "--out", str(tmp_path / "out")], env=env)
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output
    assert not (tmp_path / "out").exists()
    assert count(sqlite_url, "settlement_days") == 0


# --- any text at all: a 2xx or a clear 4xx, never a 500 ----------------------------------------

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=0, max_size=120))
@example(name="午餐\x00补贴")
@example(name="\x1b[31m")
@example(name="=cmd|' /C calc'!A0")
def test_any_text_in_a_program_name_is_stored_or_refused_never_a_500(pg_url: str, name: str) -> None:
    app = make_app(pg_url)
    with TestClient(app) as client:
        response = client.post("/api/v1/subsidy-programs", headers=bearer(_token(app)),
                               json={"name": name, "funder": "学校", "kind": "monthly"})
        assert response.status_code in (201, 422), response.text
        if any(ord(c) < 32 or ord(c) == 127 for c in name) or not name or len(name) > 100:
            assert response.status_code == 422


_TOKENS: dict[str, str] = {}


def _token(app) -> str:  # noqa: ANN001
    """One operator per database across hypothesis examples."""
    url = app.state.settings.database_url
    if url not in _TOKENS:
        _TOKENS[url] = operator_token(app)
    return _TOKENS[url]
