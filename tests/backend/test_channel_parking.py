"""Parking money on the double-entry ledger (SQLite and PostgreSQL, through the real API): a paid QR
exit order, a QR renewal and an exit pay code are each booked once — channel clearing debited,
the car park merchant's payable credited — however often the paid notification arrives and the
lane polls; settlement then pays the parking revenue out like any other payment."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from backend.models.ledger import Account, Entry, Posting
from backend.models.parking import MemberRenewal
from backend.models.payments import Payment, PaymentLine
from backend.services.ledger import balance_of, check_ledger
from tests.backend.parking_helpers import RULES, car_park

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def park(db_url: str):  # noqa: ANN201
    with car_park(db_url, RULES) as p:
        yield p


def order_body(amount: int = 700, **kw) -> dict:  # noqa: ANN003
    return {"order_id": str(uuid.uuid4()), "plate": "京A12345", "amount_fen": amount,
            "session_id": str(uuid.uuid4()), "occurred_at": T0.isoformat(), **kw}


def bookings(p: dict, payment_id: str) -> dict:
    """What the ledger and the payments table hold for one payment id."""
    with p["app"].state.sessions() as s:
        postings = s.scalar(select(func.count()).select_from(Posting).where(Posting.ref == f"payment:{payment_id}"))
        entries = s.execute(select(Account.code, Entry.side, Entry.amount_fen).join(Account, Account.id == Entry.account_id)
                            .join(Posting, Posting.id == Entry.posting_id)
                            .where(Posting.ref == f"payment:{payment_id}").order_by(Entry.side)).all()
        payments = s.scalars(select(Payment).where(Payment.payment_uuid == payment_id)).all()
        lines = s.scalars(select(PaymentLine.source).join(Payment, Payment.id == PaymentLine.payment_id)
                          .where(Payment.payment_uuid == payment_id)).all()
        return {"postings": postings, "entries": [tuple(e) for e in entries], "lines": list(lines),
                "payments": [(x.status, x.method, x.amount_fen) for x in payments], "problems": check_ledger(s)}


def paid_twice_and_polled(p: dict, order: dict) -> None:
    """The driver pays; the channel's notification arrives twice, and the lane polls twice."""
    c, sim = p["client"], p["app"].state.channels.simulator("wechat")
    headers, body = sim.pay(sim.order_for_code(order["qr_text"]))
    for _ in range(2):
        r = c.post("/api/v1/parking/channel/notify", content=body, headers=headers)
        assert r.status_code == 200 and r.json()["code"] == "SUCCESS"
        poll = c.get(f"/api/v1/terminal/parking/orders/{order['order_id']}", auth=p["auth"])
        assert poll.json()["status"] == "paid"


def test_qr_exit_fee_is_on_the_ledger_once(park):  # noqa: ANN001
    p = park
    order = p["client"].post("/api/v1/terminal/parking/orders", json=order_body(700), auth=p["auth"]).json()
    assert bookings(p, order["order_id"])["postings"] == 0             # nothing booked before it is paid
    paid_twice_and_polled(p, order)
    got = bookings(p, order["order_id"])
    assert got["postings"] == 1 and got["problems"] == []
    assert got["entries"] == [(f"merchant:{p['merchant_id']}", "C", 700), ("channel_clearing:wechat", "D", 700)]
    assert got["payments"] == [("approved", "qr", 700)] and got["lines"] == ["channel"]
    r = p["client"].get(f"/api/v1/payments/{order['order_id']}", headers=p["op"])
    assert r.status_code == 200 and r.json()["result"]["split"] == [{"source": "channel", "program_id": None,
                                                                     "amount_fen": 700}]


def test_poll_alone_books_a_payment_whose_notification_was_lost(park):  # noqa: ANN001
    p = park
    c = p["client"]
    order = c.post("/api/v1/terminal/parking/orders", json=order_body(900), auth=p["auth"]).json()
    sim = p["app"].state.channels.simulator("wechat")
    sim.pay(sim.order_for_code(order["qr_text"]))                       # the notification never arrives
    for _ in range(3):
        assert c.get(f"/api/v1/terminal/parking/orders/{order['order_id']}", auth=p["auth"]).json()["status"] == "paid"
    assert bookings(p, order["order_id"])["postings"] == 1


def test_qr_renewal_is_on_the_ledger_once_and_extends_once(park):  # noqa: ANN001
    p = park
    order = p["client"].post("/api/v1/terminal/parking/orders", auth=p["auth"],
                             json=order_body(30000, purpose="renewal", plan="monthly", session_id=None)).json()
    paid_twice_and_polled(p, order)
    got = bookings(p, order["order_id"])
    assert got["postings"] == 1 and got["problems"] == [] and got["payments"] == [("approved", "qr", 30000)]
    with p["app"].state.sessions() as s:
        assert s.scalar(select(func.count()).select_from(MemberRenewal)) == 1


def test_exit_pay_code_is_booked_once_and_a_declined_one_books_nothing(park):  # noqa: ANN001
    p = park
    c = p["client"]
    body = {**order_body(700), "paycode": "134567890123456789"}
    body.pop("session_id")
    for _ in range(2):
        assert c.post("/api/v1/terminal/parking/paycode", json=body, auth=p["auth"]).json()["status"] == "paid"
    assert c.get(f"/api/v1/terminal/parking/orders/{body['order_id']}", auth=p["auth"]).json()["status"] == "paid"
    got = bookings(p, body["order_id"])
    assert got["postings"] == 1 and got["payments"] == [("approved", "paycode", 700)]
    poor = {**body, "order_id": str(uuid.uuid4()), "paycode": "134567890123450000"}
    declined = c.post("/api/v1/terminal/parking/paycode", json=poor, auth=p["auth"]).json()
    assert declined["reason"] == "channel_insufficient_funds"
    assert bookings(p, poor["order_id"]) == {**bookings(p, poor["order_id"]), "postings": 0, "payments": []}


def test_an_exit_pay_code_with_an_unknown_outcome_stays_pending_and_the_poll_finds_it_paid(park):  # noqa: ANN001
    """The channel answers a system error although it took the money (…4444): the order is not
    closed on that answer (the canteen's flow would ask too); the lane's poll asks the channel and
    books it once."""
    p = park
    c = p["client"]
    body = {**order_body(700), "paycode": "134567890123454444"}
    body.pop("session_id")
    first = c.post("/api/v1/terminal/parking/paycode", json=body, auth=p["auth"]).json()
    assert (first["status"], first["reason"]) == ("pending", None)
    polled = c.get(f"/api/v1/terminal/parking/orders/{body['order_id']}", auth=p["auth"]).json()
    assert polled["status"] == "paid"
    assert bookings(p, body["order_id"])["payments"] == [("approved", "paycode", 700)]


def test_unpaid_or_closed_orders_book_nothing(park):  # noqa: ANN001
    p = park
    c = p["client"]
    order = c.post("/api/v1/terminal/parking/orders", json=order_body(), auth=p["auth"]).json()
    assert c.post(f"/api/v1/terminal/parking/orders/{order['order_id']}/close", auth=p["auth"]).json()["status"] \
        == "closed"
    assert bookings(p, order["order_id"])["postings"] == 0
    with p["app"].state.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Posting)) == 0


def test_settlement_pays_out_parking_revenue(park):  # noqa: ANN001
    p = park
    order = p["client"].post("/api/v1/terminal/parking/orders", json=order_body(1200), auth=p["auth"]).json()
    paid_twice_and_polled(p, order)
    from backend.settlement.run import settle_day
    with p["app"].state.sessions() as s:
        day = s.scalar(select(Payment.business_date).where(Payment.payment_uuid == order["order_id"]))
        settle_day(s, day, datetime.now(timezone.utc) + timedelta(days=2))
    with p["app"].state.sessions() as s:
        merchant = s.scalar(select(Account.id).where(Account.code == f"merchant:{p['merchant_id']}"))
        assert balance_of(s, merchant) == 0                             # the payable was paid out
        assert check_ledger(s) == []
    days = p["client"].get("/api/v1/settlement/days", params={"business_date": day}, headers=p["op"]).json()
    mine = [d for d in days if d["merchant_id"] == p["merchant_id"]]
    assert mine and mine[0]["gross_fen"] == 1200 and mine[0]["channel_fen"] == 1200


def test_operator_refund_of_a_qr_exit_fee_goes_back_through_the_channel(park):  # noqa: ANN001
    p = park
    order = p["client"].post("/api/v1/terminal/parking/orders", json=order_body(700), auth=p["auth"]).json()
    paid_twice_and_polled(p, order)
    body = {"refund_id": str(uuid.uuid4()), "amount_fen": 700, "reason": "barrier fault, driver charged"}
    for _ in range(2):
        r = p["client"].post(f"/api/v1/payments/{order['order_id']}/refunds", json=body, headers=p["op"])
        assert r.status_code == 200 and r.json()["status"] == "refunded", r.text
    sim = p["app"].state.channels.simulator("wechat")
    assert [x["amount"]["refund"] for x in sim.refunds.values()] == [700]
    with p["app"].state.sessions() as s:
        for code in ("channel_clearing:wechat", f"merchant:{p['merchant_id']}"):
            assert balance_of(s, s.scalar(select(Account.id).where(Account.code == code))) == 0
        assert check_ledger(s) == []
