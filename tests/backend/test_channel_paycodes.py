"""Canteen pay codes through POST /api/v1/terminal/payments (SQLite and PostgreSQL, real API):
WeChat / Alipay / UnionPay codes are charged at the channel (the adapter over its simulator) and
booked once with one `channel` line; the bank's / campus one-time codes name a customer and pay by
the usual funding split. A lost or missing channel answer is settled by a query, never by a second
charge; garbage, expired and reused codes and channel refusals decline in words, booking nothing."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backend.channels import WechatNativeChannel, simulated_channel
from backend.models.ledger import Account, Entry, Posting
from backend.models.payments import Payment
from backend.services.ledger import balance_of, check_ledger
from backend.services.paycodes import CustomerPaycode
from tests.backend.money_helpers import canteen  # noqa: F401  (fixture over SQLite and PostgreSQL)

WECHAT, ALIPAY, UNIONPAY = "134567890123456789", "28765432109876543210", "6212345678901234567"


class Flaky(httpx.BaseTransport):
    """The network to the channel: each planned fault is used by one request, then it works again.
    lose_answer: the channel does the request, its answer is lost; down: the request never arrives."""

    def __init__(self, sim):  # noqa: ANN001
        self.sim, self.plan = sim, []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self.plan.pop(0) if self.plan else "ok"
        if fault == "down":
            raise httpx.ConnectError("channel down", request=request)
        response = self.sim.handle_request(request)
        if fault == "lose_answer":
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


def flaky_channel(c) -> tuple[Flaky, object]:  # noqa: ANN001
    real, sim = simulated_channel()
    net = Flaky(sim)
    c.app.state.channels.install("wechat", WechatNativeChannel(real.keys, transport=net), sim)
    return net, sim


def code_body(code: str, amount: int = 850, payment_id: str | None = None, **kw) -> dict:  # noqa: ANN003
    return {"payment_id": payment_id or str(uuid.uuid4()), "amount_fen": amount,
            "credential": {"kind": "paycode", "paycode": code}, "meal_period": "lunch",
            "occurred_at": datetime.now(timezone.utc).isoformat(), **kw}


def pay(c, body: dict, expect: int = 200) -> dict:  # noqa: ANN001
    r = c.client.post("/api/v1/terminal/payments", json=body, auth=c.auth)
    assert r.status_code == expect, r.text
    return r.json()


def ledger_of(c, payment_id: str) -> list[tuple]:  # noqa: ANN001
    with c.app.state.sessions() as s:
        return [tuple(r) for r in s.execute(
            select(Account.code, Entry.side, Entry.amount_fen).join(Account, Account.id == Entry.account_id)
            .join(Posting, Posting.id == Entry.posting_id).where(Posting.ref == f"payment:{payment_id}")
            .order_by(Entry.side))]


def postings(c) -> int:  # noqa: ANN001
    with c.app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(Posting))


def test_wallet_codes_are_charged_at_their_own_channel_and_booked_once(canteen):  # noqa: ANN001, F811
    c = canteen
    for code, channel in ((WECHAT, "wechat"), (ALIPAY, "alipay"), (UNIONPAY, "unionpay")):
        sim = c.app.state.channels.simulator(channel)
        body = code_body(code)
        first, again = pay(c, body), pay(c, body)
        assert first == again and first["status"] == "approved", first
        assert first["split"] == [{"source": "channel", "program_id": None, "amount_fen": 850}]
        assert ledger_of(c, body["payment_id"]) == [(f"merchant:{c.merchant_id}", "C", 850),
                                                    (f"channel_clearing:{channel}", "D", 850)]
        assert list(sim.orders) == [uuid.UUID(body["payment_id"]).hex]   # charged at its own channel, once
    assert c.ledger_ok() == []


def test_a_code_whose_channel_is_not_configured_declines_in_words(canteen, tmp_path):  # noqa: ANN001, F811
    """Settings that leave a channel out: its codes are declined, nothing is approved by a simulator."""
    c = canteen
    del c.app.state.channels.adapters["alipay"]
    declined = pay(c, code_body(ALIPAY))
    assert (declined["status"], declined["reason"]) == ("declined", "channel_not_configured")
    assert "不支持" in declined["message_zh"] and "not taken here" in declined["message_en"]
    assert postings(c) == 0 and c.ledger_ok() == []


def test_channel_refusals_and_garbage_decline_in_words_and_book_nothing(canteen):  # noqa: ANN001, F811
    c = canteen
    flaky_channel(c)
    poor = pay(c, code_body("134567890123450000"))
    assert (poor["status"], poor["reason"]) == ("declined", "channel_insufficient_funds")
    assert "余额不足" in poor["message_zh"] and "Not enough money" in poor["message_en"]
    for code in ("999967890123456789", "hello", "88" + "1" * 18, "１３４５６７８９０１２３４５６７８９", "13456789012345678 "):
        declined = pay(c, code_body(code))
        assert declined["status"] == "declined" and declined["reason"] == "paycode_unknown", (code, declined)
        assert declined["message_zh"] and declined["message_en"]
    for code in ("", "1" * 65):
        r = c.client.post("/api/v1/terminal/payments", json=code_body(code), auth=c.auth)
        assert r.status_code == 422 and (not code or code not in r.text)  # a pay code is never echoed
    offline = pay(c, code_body(WECHAT, offline=True, terminal_seq=1))
    assert (offline["status"], offline["reason"]) == ("declined", "paycode_offline")
    assert postings(c) == 0 and c.ledger_ok() == []


def test_lost_answer_is_settled_by_the_query_and_never_charged_twice(canteen):  # noqa: ANN001, F811
    c = canteen
    net, sim = flaky_channel(c)
    net.plan = ["lose_answer"]                     # the channel took the money, the answer got lost
    body = code_body(WECHAT)
    assert pay(c, body)["status"] == "approved"
    assert len(sim.orders) == 1 and len(ledger_of(c, body["payment_id"])) == 2

    unreachable = ["down"] * (c.app.state.channels.wait.queries + 1)   # every query and the reverse
    net.plan = ["lose_answer", *unreachable]       # taken, answer lost, and no query gets through
    body = code_body(WECHAT, 420)
    r = c.client.post("/api/v1/terminal/payments", json=body, auth=c.auth)
    assert r.status_code == 503 and r.json()["detail"]["code"] == "channel_outcome_unknown", r.text
    assert "不会重复扣款" in r.json()["detail"]["message_zh"]
    assert ledger_of(c, body["payment_id"]) == []                      # nothing stored: the retry decides
    retried = pay(c, body)                                             # the terminal retries the same payment
    assert retried["status"] == "approved" and len(sim.orders) == 2    # the channel's order, found not re-charged
    assert pay(c, body) == retried and len(ledger_of(c, body["payment_id"])) == 2

    net.plan = ["down", *unreachable]              # the charge never reached the channel, nor any query
    body = code_body(WECHAT, 300)
    assert c.client.post("/api/v1/terminal/payments", json=body, auth=c.auth).status_code == 503
    net.plan = ["down", "ok"]                      # again down, but now the query says: no such order
    declined = pay(c, body)
    assert (declined["status"], declined["reason"]) == ("declined", "channel_not_charged")
    assert len(sim.orders) == 2 and c.ledger_ok() == []


def issue(c, customer_id: int) -> str:  # noqa: ANN001
    r = c.client.post(f"/api/v1/customers/{customer_id}/paycode", headers=c.staff)
    assert r.status_code == 201, r.text
    assert r.json()["ttl_s"] == 60 and len(r.json()["paycode"]) == 20
    return r.json()["paycode"]


def test_own_one_time_code_pays_from_the_customer_once(canteen):  # noqa: ANN001, F811
    c = canteen
    now = datetime.now(timezone.utc)
    c.at(now)
    cid = c.customer(wallet_fen=5000)
    code = issue(c, cid)
    paid = pay(c, code_body(code, 700))
    assert paid["status"] == "approved" and paid["customer_id"] == cid
    assert paid["split"] == [{"source": "wallet", "program_id": None, "amount_fen": 700}]
    assert c.view(cid)["wallet_fen"] == 4300
    reused = pay(c, code_body(code, 700))
    assert reused["reason"] == "paycode_used" and "已使用" in reused["message_zh"]
    late = issue(c, cid)
    c.at(now + timedelta(seconds=61))
    expired = pay(c, code_body(late, 700))
    assert expired["reason"] == "paycode_expired" and "expired" in expired["message_en"]
    unsigned = c.post("/api/v1/customers", {"name": "李四"})["id"]
    assert pay(c, code_body(issue(c, unsigned), 100))["reason"] == "not_signed"
    assert c.view(cid)["wallet_fen"] == 4300 and c.ledger_ok() == []
    with c.app.state.sessions() as s:                                  # only keyed hashes are kept
        hashes = s.scalars(select(CustomerPaycode.code_hash)).all()
        assert len(hashes) == 3 and code not in hashes and late not in hashes
        assert s.scalar(select(func.count()).select_from(Payment).where(Payment.status == "approved")) == 1
        assert check_ledger(s) == []


def test_issuing_a_code_needs_bank_staff_and_a_customer(canteen):  # noqa: ANN001, F811
    c = canteen
    assert c.client.post("/api/v1/customers/1/paycode").status_code == 401
    r = c.client.post("/api/v1/customers/999999/paycode", headers=c.staff)
    assert r.status_code == 404


def test_refund_of_a_code_payment_goes_back_through_the_channel_once(canteen):  # noqa: ANN001, F811
    c = canteen
    net, sim = flaky_channel(c)
    body = code_body(WECHAT, 900)
    assert pay(c, body)["status"] == "approved"
    refund = {"refund_id": str(uuid.uuid4()), "payment_id": body["payment_id"], "amount_fen": 300,
              "reason": "wrong dish", "occurred_at": datetime.now(timezone.utc).isoformat()}
    net.plan = ["down"]                                                 # the channel cannot be reached
    r = c.client.post("/api/v1/terminal/refunds", json=refund, auth=c.auth)
    assert r.status_code == 503 and "同一退款编号" in r.json()["detail"]["message_zh"]
    assert sim.refunds == {} and postings(c) == 1                       # nothing given back, nothing booked
    first = c.client.post("/api/v1/terminal/refunds", json=refund, auth=c.auth).json()
    again = c.client.post("/api/v1/terminal/refunds", json=refund, auth=c.auth).json()
    assert first == again and first["status"] == "refunded" and first["split"][0]["source"] == "channel"
    assert [r["amount"]["refund"] for r in sim.refunds.values()] == [300]
    too_much = c.client.post("/api/v1/terminal/refunds", auth=c.auth,
                             json={**refund, "refund_id": str(uuid.uuid4()), "amount_fen": 601}).json()
    assert too_much["reason"] == "refund_exceeds_payment" and len(sim.refunds) == 1
    with c.app.state.sessions() as s:
        clearing = s.scalar(select(Account.id).where(Account.code == "channel_clearing:wechat"))
        assert balance_of(s, clearing) == -600                          # the channel still owes 600 of 900
        assert check_ledger(s) == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code=st.text(min_size=1, max_size=64).filter(lambda t: t.strip()))
def test_any_scanned_text_declines_in_words_or_pays_once(canteen, code: str):  # noqa: ANN001, F811
    c = canteen
    before = postings(c)
    r = c.client.post("/api/v1/terminal/payments", json=code_body(code), auth=c.auth)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        return
    answer = r.json()
    assert answer["status"] == "declined" and answer["message_zh"] and answer["message_en"]
    assert postings(c) == before
    assert len(code.strip()) < 12 or code.strip() not in r.text       # a pay code is never echoed
