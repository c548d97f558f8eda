"""Merchant lifecycle, settlement account and fee parameters, as an operator uses the API."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from backend.models.merchants import Merchant, MerchantFee
from backend.services.merchants import FeeRule, fee_fen, merchant_is_active
from tests.backend.helpers import bearer, make_app, operator_token

M = "/api/v1/merchants"
ACCOUNT = {"account_no": "6222020200112233", "bank_name": "县农商银行"}


@pytest.fixture
def api(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    with TestClient(app) as client:
        yield app, client, bearer(operator_token(app))


def _code(response) -> str:  # noqa: ANN001
    return response.json()["detail"]["code"]


def test_apply_approve_suspend_reinstate(api) -> None:  # noqa: ANN001
    app, client, op = api
    applied = client.post(M, headers=op, json={"name": "一中食堂", "kind": "canteen"})
    assert applied.status_code == 201 and applied.json()["status"] == "applied"
    mid = applied.json()["id"]
    with app.state.sessions() as s:
        assert not merchant_is_active(s, mid)

    # No settlement account yet: approval says what to do first.
    refused = client.post(f"{M}/{mid}/approve", headers=op)
    assert refused.status_code == 409 and _code(refused) == "settlement_account_missing"
    assert "结算账户" in refused.json()["detail"]["message_zh"]

    assert client.put(f"{M}/{mid}/settlement-account", headers=op, json=ACCOUNT).status_code == 200
    approved = client.post(f"{M}/{mid}/approve", headers=op)
    assert approved.json()["status"] == "approved" and approved.json()["approved_at"]
    with app.state.sessions() as s:
        assert merchant_is_active(s, mid)

    suspended = client.post(f"{M}/{mid}/suspend", headers=op, json={"reason": "合同到期"})
    assert suspended.json()["status"] == "suspended" and suspended.json()["status_reason"] == "合同到期"
    with app.state.sessions() as s:
        assert not merchant_is_active(s, mid)

    assert client.post(f"{M}/{mid}/reinstate", headers=op).json()["status"] == "approved"
    with app.state.sessions() as s:
        assert merchant_is_active(s, mid)


def test_wrong_transitions_are_refused_and_change_nothing(api) -> None:  # noqa: ANN001
    app, client, op = api
    mid = client.post(M, headers=op, json={"name": "P1", "kind": "parking",
                                           "settlement_account": ACCOUNT}).json()["id"]
    for action, body in (("suspend", {"reason": "x"}), ("reinstate", None)):
        response = client.post(f"{M}/{mid}/{action}", headers=op, json=body)
        assert response.status_code == 409 and _code(response) == "merchant_state"
    client.post(f"{M}/{mid}/approve", headers=op)
    again = client.post(f"{M}/{mid}/approve", headers=op)
    assert again.status_code == 409 and _code(again) == "merchant_state"
    with app.state.sessions() as s:
        assert s.get(Merchant, mid).status == "approved"


def test_unknown_merchant_is_404(api) -> None:  # noqa: ANN001
    _app, client, op = api
    for call in (lambda: client.get(f"{M}/999", headers=op),
                 lambda: client.post(f"{M}/999/approve", headers=op),
                 lambda: client.put(f"{M}/999/fees", headers=op, json={"fees": []})):
        response = call()
        assert response.status_code == 404 and _code(response) == "merchant_not_found"


BAD_APPLICATIONS = [
    {"name": "", "kind": "canteen"},
    {"name": "x", "kind": "bakery"},
    {"name": "x", "kind": "canteen", "timezone": "Mars/Olympus"},
    {"name": "x", "kind": "canteen", "business_day_cutoff": "25:00"},
    {"name": "x", "kind": "canteen", "settlement_account": {"account_no": "abc", "bank_name": "b"}},
    {"name": "x" * 201, "kind": "canteen"},
    {"name": "x", "kind": "canteen", "status": "approved"},   # cannot self-approve by a field
    {"name": 5, "kind": "canteen"},
    {"name": "食堂\x00", "kind": "canteen"},          # PostgreSQL would refuse the NUL: a 422, not a 500
    {"name": "x", "kind": "canteen", "settlement_account": {"account_no": "62220000", "bank_name": "b\nc"}},
    [],
]


def test_bad_applications_are_422_and_write_nothing(api) -> None:  # noqa: ANN001
    app, client, op = api
    for body in BAD_APPLICATIONS:
        response = client.post(M, headers=op, json=body)
        assert response.status_code == 422 and _code(response) == "invalid_request", body
    with app.state.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Merchant)) == 0


def test_fee_table_is_replaced_and_read_back(api) -> None:  # noqa: ANN001
    _app, client, op = api
    mid = client.post(M, headers=op, json={"name": "C", "kind": "canteen"}).json()["id"]
    fees = [{"method": "face", "rate_bp": 38, "min_fen": 1, "max_fen": 500},
            {"method": "bank_transfer", "rate_bp": 0, "fee_free": True}]
    put = client.put(f"{M}/{mid}/fees", headers=op, json={"fees": fees})
    assert put.status_code == 200, put.text
    got = {f["method"]: f for f in client.get(f"{M}/{mid}/fees", headers=op).json()}
    assert got["face"] == {"method": "face", "rate_bp": 38, "min_fen": 1, "max_fen": 500, "fee_free": False}
    assert got["bank_transfer"]["fee_free"] is True
    client.put(f"{M}/{mid}/fees", headers=op, json={"fees": [fees[0]]})
    assert [f["method"] for f in client.get(f"{M}/{mid}/fees", headers=op).json()] == ["face"]


BAD_FEES = [
    {"method": "face", "rate_bp": -1},
    {"method": "face", "rate_bp": 10_001},
    {"method": "face", "rate_bp": 10, "min_fen": 500, "max_fen": 100},
    {"method": "face", "rate_bp": 10, "max_fen": 10**15},
    {"method": "face", "rate_bp": 1.5},
    {"method": "face", "rate_bp": "10"},
    {"method": "bitcoin", "rate_bp": 10},
    {"method": "face", "rate_bp": 10, "surprise": 1},
]


def test_bad_fee_parameters_are_422_and_keep_the_old_table(api) -> None:  # noqa: ANN001
    app, client, op = api
    mid = client.post(M, headers=op, json={"name": "C", "kind": "canteen"}).json()["id"]
    client.put(f"{M}/{mid}/fees", headers=op, json={"fees": [{"method": "card", "rate_bp": 60}]})
    for fee in BAD_FEES:
        response = client.put(f"{M}/{mid}/fees", headers=op, json={"fees": [fee]})
        assert response.status_code == 422, (fee, response.text)
    with app.state.sessions() as s:
        assert [f.method for f in s.scalars(select(MerchantFee)).all()] == ["card"]


def test_duplicate_methods_are_refused(api) -> None:  # noqa: ANN001
    _app, client, op = api
    mid = client.post(M, headers=op, json={"name": "C", "kind": "canteen"}).json()["id"]
    response = client.put(f"{M}/{mid}/fees", headers=op,
                          json={"fees": [{"method": "face", "rate_bp": 1}, {"method": "face", "rate_bp": 2}]})
    assert response.status_code == 422


def test_fee_is_rate_rounded_half_up_then_clamped() -> None:
    rule = FeeRule("face", rate_bp=38, min_fen=1, max_fen=500)
    assert fee_fen(rule, 1000) == 4            # 3.8 fen -> 4
    assert fee_fen(rule, 10) == 1              # 0.038 -> minimum 1
    assert fee_fen(rule, 1_000_000) == 500     # 3800 -> capped at 500
    assert fee_fen(FeeRule("bank_transfer", 60, 0, 100, fee_free=True), 10_000) == 0
    assert fee_fen(None, 10_000) == 0


@given(amount=st.integers(0, 1_000_000), rate=st.integers(0, 10_000), lo=st.integers(0, 5000),
       span=st.integers(0, 1_000_000))
def test_fee_is_an_integer_within_bounds_and_never_above_the_amount(amount, rate, lo, span) -> None:  # noqa: ANN001
    fee = fee_fen(FeeRule("card", rate, lo, lo + span), amount)
    assert isinstance(fee, int) and 0 <= fee <= amount
    if amount:
        assert fee <= lo + span and (fee >= lo or fee == amount)
