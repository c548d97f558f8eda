"""Refunds through the real API: back to the sources they came from, never more than paid."""
from __future__ import annotations

import uuid

from tests.backend.helpers import bearer, make_merchant_site, operator_token
from tests.backend.money_helpers import canteen  # noqa: F401 - canteen is a fixture


def test_partial_then_full_refund_go_back_where_the_money_came_from(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=2000)
    program = canteen.program()
    canteen.grant(program, [(cid, 1000)])
    paid = canteen.pay(cid, 1500)        # subsidy 1000 + wallet 500
    first = canteen.refund(paid["payment_id"], 700)
    assert first["status"] == "refunded"
    # the diner's own money comes back first, then the subsidy, each to its own account
    assert first["split"] == [{"source": "wallet", "program_id": None, "amount_fen": 500},
                              {"source": "subsidy", "program_id": program, "amount_fen": 200}]
    view = canteen.view(cid)
    assert view["wallet_fen"] == 2000 and view["subsidies"] == [{"program_id": program, "balance_fen": 200}]
    too_much = canteen.refund(paid["payment_id"], 801)
    assert (too_much["status"], too_much["reason"]) == ("declined", "refund_exceeds_payment")
    rest = canteen.refund(paid["payment_id"], 800)
    assert rest["split"] == [{"source": "subsidy", "program_id": program, "amount_fen": 800}]
    assert canteen.view(cid)["subsidies"] == [{"program_id": program, "balance_fen": 1000}]
    assert canteen.refund(paid["payment_id"], 1)["reason"] == "refund_exceeds_payment"
    assert canteen.ledger_ok() == []


def test_refund_is_idempotent_by_refund_id(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=1000)
    paid = canteen.pay(cid, 600)
    rid = str(uuid.uuid4())
    assert canteen.refund(paid["payment_id"], 300, rid) == canteen.refund(paid["payment_id"], 300, rid)
    assert canteen.view(cid)["wallet_fen"] == 700
    clash = canteen.client.post("/api/v1/terminal/refunds", auth=canteen.auth, json={
        "refund_id": rid, "payment_id": paid["payment_id"], "amount_fen": 200, "reason": "x",
        "occurred_at": "2026-03-01T12:00:00+08:00"})
    assert clash.status_code == 409 and clash.json()["detail"]["code"] == "refund_id_reused"


def test_declined_payment_and_unknown_payment_cannot_be_refunded(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=100)
    declined = canteen.pay(cid, 500)
    assert canteen.refund(declined["payment_id"], 100)["reason"] == "payment_not_approved"
    response = canteen.client.post("/api/v1/terminal/refunds", auth=canteen.auth, json={
        "refund_id": str(uuid.uuid4()), "payment_id": str(uuid.uuid4()), "amount_fen": 100, "reason": "x",
        "occurred_at": "2026-03-01T12:00:00+08:00"})
    assert response.status_code == 404 and response.json()["detail"]["code"] == "payment_not_found"
    assert canteen.view(cid)["wallet_fen"] == 100


def test_operator_refund_and_merchant_admin_scope(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=1000)
    paid = canteen.pay(cid, 400)
    path = f"/api/v1/payments/{paid['payment_id']}/refunds"
    body = {"refund_id": str(uuid.uuid4()), "amount_fen": 100, "reason": "cold soup"}
    other_admin = operator_token(canteen.app, "merchant_admin", merchant_id=_other_merchant(canteen))
    assert canteen.client.post(path, json=body, headers=bearer(other_admin)).status_code == 404
    own_admin = operator_token(canteen.app, "merchant_admin", merchant_id=canteen.merchant_id)
    response = canteen.client.post(path, json=body, headers=bearer(own_admin))
    assert response.status_code == 200 and response.json()["status"] == "refunded"
    auditor = operator_token(canteen.app, "auditor")
    assert canteen.client.post(path, json={**body, "refund_id": str(uuid.uuid4())},
                               headers=bearer(auditor)).status_code == 403
    assert canteen.view(cid)["wallet_fen"] == 700


def _other_merchant(canteen) -> int:  # noqa: ANN001
    return make_merchant_site(canteen.app, "canteen", name="another canteen")["merchant_id"]
