"""A pay code at the canteen terminal through POST /api/v1/terminal/payments, for each channel,
and each outcome its simulator plays: the backend follows the channel's unknown-outcome rule
(query while the payer types a password, then reverse / cancel), books what was taken once and
nothing else, and a refund goes back through the channel that took the money."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from backend.models.ledger import Posting
from tests.backend.money_helpers import canteen  # noqa: F401  (fixture over SQLite and PostgreSQL)

CODES = {"wechat": "13456789012345", "alipay": "2876543210987654", "unionpay": "621234567890123"}  # + 4 digits: plan


def code_body(code: str, amount: int = 850) -> dict:
    return {"payment_id": str(uuid.uuid4()), "amount_fen": amount, "credential": {"kind": "paycode", "paycode": code},
            "meal_period": "lunch", "occurred_at": datetime.now(timezone.utc).isoformat()}


def pay(c, body: dict) -> dict:  # noqa: ANN001
    r = c.client.post("/api/v1/terminal/payments", json=body, auth=c.auth)
    assert r.status_code == 200, r.text
    return r.json()


def postings(c) -> int:  # noqa: ANN001
    with c.app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(Posting))


def _code(c, channel: str, plan: str) -> str:  # noqa: ANN001
    if channel != "bank":
        return CODES[channel] + plan
    bank = c.app.state.channels.simulator("bank")       # the customer's mobile banking shows a code
    try:
        bank.balance("6228480000000000099")
    except KeyError:
        bank.open_account("6228480000000000099", 5000)   # 50 yuan
    return bank.issue_code("6228480000000000099", plan)


@pytest.mark.parametrize("channel", ["wechat", "alipay", "unionpay", "bank"])
def test_each_outcome_of_a_pay_code_ends_booked_once_or_not_charged(canteen, channel):  # noqa: ANN001, F811
    c = canteen
    sim = c.app.state.channels.simulator(channel)
    expected = {"9876": ("approved", None, "SUCCESS"),             # paid at once
                "1111": ("approved", None, "SUCCESS"),             # password, then confirmed: found by query
                "1112": ("declined", "channel_not_charged", "REVOKED"),   # walked away: reversed / cancelled
                "2222": ("approved", None, "SUCCESS"),             # answer lost: the query finds the money
                "3333": ("declined", "channel_not_charged", None),        # request lost: unknown there
                "4444": ("approved", None, "SUCCESS"),             # system error, money taken: query
                "0000": ("declined", "channel_insufficient_funds", None)}
    booked = 0
    for plan, (status, reason, at_channel) in expected.items():
        body = code_body(_poor_bank_code(c) if (channel, plan) == ("bank", "0000") else _code(c, channel, plan))
        answer = pay(c, body)
        assert (answer["status"], answer["reason"]) == (status, reason), (plan, answer)
        assert pay(c, body) == answer                               # the terminal's retry: the same answer
        order = sim.orders.get(uuid.UUID(body["payment_id"]).hex)
        state = order.state if order else None
        assert state == at_channel or (at_channel == "REVOKED" and state == "CLOSED"), (plan, state)
        booked += status == "approved"
        assert postings(c) == booked                                # booked once, declines book nothing
    assert c.ledger_ok() == []


def _poor_bank_code(c) -> str:  # noqa: ANN001
    bank = c.app.state.channels.simulator("bank")
    bank.open_account("6228480000000000100", 100)       # 1 yuan
    return bank.issue_code("6228480000000000100")


@pytest.mark.parametrize("channel", ["wechat", "alipay", "unionpay", "bank"])
def test_a_refund_goes_back_through_the_channel_that_took_the_money(canteen, channel):  # noqa: ANN001, F811
    c = canteen
    body = code_body(_code(c, channel, "9876"), 900)
    assert pay(c, body)["status"] == "approved"
    refund = {"refund_id": str(uuid.uuid4()), "payment_id": body["payment_id"], "amount_fen": 300,
              "reason": "wrong dish", "occurred_at": datetime.now(timezone.utc).isoformat()}
    first = c.client.post("/api/v1/terminal/refunds", json=refund, auth=c.auth).json()
    assert first["status"] == "refunded" and first["split"][0]["source"] == "channel"
    assert len(c.app.state.channels.simulator(channel).refunds) == 1
    for other in {"wechat", "alipay", "unionpay", "bank"} - {channel}:
        assert c.app.state.channels.simulator(other).refunds == {}  # never through another channel
    assert c.ledger_ok() == []


QR = {"alipay": ("https://qr.alipay.com/", (200, "success"), (200, "fail")),
      "unionpay": ("https://qr.95516.com/", (200, "ok"), (400, "fail")),
      "bank": ("https://pay.nxy.example/aggr/", (200, '{"ok":true}'), (400, '{"ok":false}'))}


@pytest.mark.parametrize("channel", ["alipay", "unionpay", "bank"])
def test_a_qr_order_is_booked_once_from_its_signed_notifications(sqlite_url, channel):  # noqa: ANN001
    """The lane's QR code made by Alipay or UnionPay (settings: qr = that channel): the form
    notification the channel POSTs is verified and booked once, a repeat is acknowledged again and
    books nothing, and a forged one is refused and changes nothing."""
    from fastapi.testclient import TestClient

    from backend.channels.compose import all_simulated
    from sync.auth import TerminalAuth
    from tests.backend.helpers import make_app, make_merchant_site, register_terminal

    chosen = all_simulated(query_every_s=0)
    chosen["channels"]["qr"] = channel
    prefix, accepted, refused = QR[channel]
    app = make_app(sqlite_url, simulated=False, **chosen)
    with TestClient(app) as client:
        ids = make_merchant_site(app, kind="parking")
        tid, key = register_terminal(client, app, ids["merchant_id"], ids["site_id"], ids["lane_id"], scene="parking")
        auth = TerminalAuth(key, tid)
        body = {"order_id": str(uuid.uuid4()), "plate": "京A12345", "amount_fen": 700,
                "session_id": str(uuid.uuid4()), "occurred_at": datetime.now(timezone.utc).isoformat()}
        order = client.post("/api/v1/terminal/parking/orders", json=body, auth=auth).json()
        assert order["qr_text"].startswith(prefix)
        sim = app.state.channels.simulator(channel)
        headers, note = sim.pay(sim.order_for_code(order["qr_text"]))
        forged = note.replace(b"700", b"7") if b"700" in note else note + b"&x=1"
        r = client.post(f"/api/v1/parking/channel/{channel}/notify", content=forged, headers=headers)
        assert (r.status_code, r.text) == refused and postings_of(app) == 0
        for _ in range(2):                                           # the channel sends it again
            r = client.post(f"/api/v1/parking/channel/{channel}/notify", content=note, headers=headers)
            assert (r.status_code, r.text) == accepted
        assert postings_of(app) == 1
        poll = client.get(f"/api/v1/terminal/parking/orders/{order['order_id']}", auth=auth).json()
        assert poll["status"] == "paid"


def postings_of(app) -> int:  # noqa: ANN001
    with app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(Posting))
