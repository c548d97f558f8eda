"""Payments through the real API: split by funding order, idempotency, limits, declines."""
from __future__ import annotations

import uuid

from tests.backend.money_helpers import canteen, payment_body  # noqa: F401 - canteen is a fixture


def test_subsidy_first_payment_spends_subsidy_then_wallet_and_shows_what_is_left(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=2000)
    program = canteen.program()
    canteen.grant(program, [(cid, 1000)])
    result = canteen.pay(cid, 1500)
    assert result["status"] == "approved"
    assert result["split"] == [{"source": "subsidy", "program_id": program, "amount_fen": 1000},
                               {"source": "wallet", "program_id": None, "amount_fen": 500}]
    assert result["masked_name"] == "张*三"
    assert result["balances"]["wallet_fen"] == 1500
    assert result["balances"]["subsidies"] == [{"program_id": program, "balance_fen": 0}]
    assert canteen.ledger_ok() == []


def test_same_payment_twice_is_booked_once_and_a_different_body_is_refused(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=1000)
    pid = str(uuid.uuid4())
    first = canteen.pay(cid, 600, pid)
    again = canteen.pay(cid, 600, pid)
    assert first == again and first["status"] == "approved"
    assert canteen.view(cid)["wallet_fen"] == 400
    clash = canteen.pay_raw(cid, 700, pid)
    assert clash.status_code == 409 and clash.json()["detail"]["code"] == "payment_id_reused"
    assert canteen.view(cid)["wallet_fen"] == 400


def test_insufficient_funds_is_declined_with_words_and_nothing_booked(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=300)
    result = canteen.pay(cid, 500)
    assert (result["status"], result["reason"]) == ("declined", "insufficient_funds")
    assert "余额不足" in result["message_zh"] and result["message_en"]
    assert canteen.view(cid)["wallet_fen"] == 300


def test_signing_limits_per_payment_and_per_day(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=10_000, per_payment=2000, per_day=3000)
    over = canteen.pay(cid, 2500)
    assert over["reason"] == "over_payment_limit" and "20.00 元" in over["message_zh"]    # the diner's own limit
    assert canteen.pay(cid, 2000)["status"] == "approved"
    over_today = canteen.pay(cid, 1500)
    assert over_today["reason"] == "over_day_limit" and "30.00 yuan" in over_today["message_en"]
    assert canteen.pay(cid, 1000)["status"] == "approved"
    assert canteen.view(cid)["wallet_fen"] == 7000


def test_revoked_signing_and_suspended_merchant_are_declined(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=5000)
    signing = canteen.client.get(f"/api/v1/customers/{cid}/signings", headers=canteen.staff).json()[0]
    canteen.post(f"/api/v1/signings/{signing['id']}/suspend", {"reason": "lost phone"}, expect=200)
    assert canteen.pay(cid, 100)["reason"] == "signing_suspended"
    canteen.post(f"/api/v1/signings/{signing['id']}/resume", {"reason": "found"}, expect=200)
    assert canteen.pay(cid, 100)["status"] == "approved"
    canteen.post(f"/api/v1/signings/{signing['id']}/revoke", {"reason": "left school"}, expect=200)
    result = canteen.pay(cid, 100)
    assert result["reason"] == "signing_revoked" and "解除" in result["message_zh"]

    other = canteen.customer("李四", wallet_fen=5000)
    canteen.post(f"/api/v1/merchants/{canteen.merchant_id}/suspend", {"reason": "audit"}, expect=200)
    result = canteen.pay(other, 100)
    assert result["reason"] == "merchant_suspended" and result["message_en"]
    assert canteen.view(other)["wallet_fen"] == 5000


def test_funding_order_of_the_group_applies(canteen) -> None:  # noqa: ANN001
    group = canteen.post("/api/v1/customer-groups", {"name": "staff", "funding_order": "own_first"})["id"]
    cid = canteen.customer(wallet_fen=500, group_id=group)
    program = canteen.program()
    canteen.grant(program, [(cid, 1000)])
    result = canteen.pay(cid, 800)
    assert [(s["source"], s["amount_fen"]) for s in result["split"]] == [("wallet", 500), ("subsidy", 300)]
    canteen.client.patch(f"/api/v1/customer-groups/{group}", json={"funding_order": "subsidy_only"},
                         headers=canteen.staff)
    assert canteen.pay(cid, 800)["reason"] == "insufficient_funds"
    assert canteen.pay(cid, 700)["split"] == [{"source": "subsidy", "program_id": program, "amount_fen": 700}]


def test_unknown_customer_is_not_signed(canteen) -> None:  # noqa: ANN001
    result = canteen.pay(99_999, 100)
    assert (result["status"], result["reason"]) == ("declined", "not_signed")


BAD_CHANGES = [
    {"amount_fen": 0}, {"amount_fen": -5}, {"amount_fen": 10**12}, {"amount_fen": "100"}, {"amount_fen": 1.5},
    {"amount_fen": True}, {"amount_fen": None}, {"payment_id": "not-a-uuid"}, {"credential": {"kind": "face"}},
    {"credential": {"kind": "iris", "customer_id": 1}}, {"credential": {"kind": "face", "customer_id": "7"}},
    {"occurred_at": "2026-03-01T12:00:00"}, {"occurred_at": 12}, {"meal_period": "x" * 33}, {"surprise": 1},
]


def test_bad_payment_bodies_are_a_clear_422_and_nothing_is_booked(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=1000)
    for change in BAD_CHANGES:
        body = payment_body(cid, 100)
        body.update(change)
        response = canteen.client.post("/api/v1/terminal/payments", json=body, auth=canteen.auth)
        assert response.status_code == 422, change
        detail = response.json()["detail"]
        assert detail["code"] == "invalid_request" and detail["message_zh"] and detail["message_en"]
    assert canteen.view(cid)["wallet_fen"] == 1000
    assert canteen.ledger_ok() == []


def test_not_json_and_unsigned_calls_are_refused(canteen) -> None:  # noqa: ANN001
    response = canteen.client.post("/api/v1/terminal/payments", content=b"\xff{garbage", auth=canteen.auth,
                                   headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    response = canteen.client.post("/api/v1/terminal/payments", json=payment_body(1, 100))
    assert response.status_code == 401


def test_ids_and_sequence_numbers_beyond_32_bits_do_not_break_the_database(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=1000)
    assert canteen.pay(2**40, 100)["reason"] == "not_signed"
    big_seq = canteen.pay(cid, 100, terminal_seq=2**40)
    assert big_seq["status"] == "approved"
    assert canteen.view(cid)["wallet_fen"] == 900
