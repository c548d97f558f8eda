"""Channel reconciliation against the bank core's statement (every kind of difference, the
automatic reversal), the statement parser on bad files, and terminal shift close."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.reconciliation.channel_file import (RecordingBankSimulator, StatementError, StatementRow,
                                                 parse_statement, write_statement)
from tests.backend.helpers import bearer, make_app, operator_token
from tests.backend.money_helpers import open_canteen

CARD = "6222021234567890123"
SHANGHAI = timezone(timedelta(hours=8))


@pytest.fixture
def canteen(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    app.state.corebanking = RecordingBankSimulator()
    with TestClient(app) as client:                # the bank and channel simulators write statements
        yield open_canteen(app, client, pin=False)  # dated by the real clock


@pytest.fixture
def diner(canteen) -> int:  # noqa: ANN001
    return canteen.card_holder(CARD, bank_fen=100_000)


def today() -> str:
    return datetime.now(SHANGHAI).date().isoformat()


def upload(canteen, raw: bytes, token: str | None = None):  # noqa: ANN001, ANN201
    return canteen.client.post("/api/v1/reconciliation/channel-statements", content=raw,
                               headers={**(bearer(token) if token else canteen.staff), "Content-Type": "text/csv"})


def test_every_kind_of_difference_and_the_automatic_reversal(canteen, diner: int) -> None:  # noqa: ANN001
    bank = canteen.app.state.corebanking
    matched = canteen.pay(diner, 1000)
    differs = canteen.pay(diner, 2000)
    never_taken = canteen.pay(diner, 3000)
    short = canteen.pay(diner, 4000)
    bank.forget(never_taken["payment_id"])          # the core lost it: status says not_found
    statement = parse_statement(bank.statement(today()))
    rows = [r for r in statement.rows if r.ref not in (short["payment_id"],)]
    rows = [StatementRow(r.ref, r.kind, 2100 if r.ref == differs["payment_id"] else r.amount_fen, r.settled_at,
                         r.txn_id) for r in rows]
    stranger = StatementRow(str(uuid.uuid4()), "payment", 555, datetime.now(SHANGHAI), "CB-X")
    raw = write_statement("bank_card", today(), rows + [stranger])
    response = upload(canteen, raw)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["counts"] == {"matched": 1, "missing_ours": 1, "missing_theirs": 2, "amount_differs": 1,
                                "reversed": 1}
    kinds = {i["ref"]: (i["kind"], i["action"]) for i in result["items"]}
    assert kinds[stranger.ref] == ("missing_ours", "for_person")
    assert kinds[differs["payment_id"]] == ("amount_differs", "for_person")
    assert kinds[never_taken["payment_id"]] == ("missing_theirs", "reversed")
    assert kinds[short["payment_id"]] == ("missing_theirs", "for_person")    # the core has it: a person looks
    assert matched["payment_id"] not in kinds
    reversed_payment = canteen.client.get(f"/api/v1/payments/{never_taken['payment_id']}", headers=canteen.staff)
    assert reversed_payment.json()["status"] == "declined"
    assert canteen.ledger_ok() == []
    again = upload(canteen, raw).json()                 # the same file: the first result, nothing redone
    assert again["id"] == result["id"] and again["counts"] == result["counts"]
    listed = canteen.client.get("/api/v1/reconciliation/differences", headers=canteen.staff,
                                params={"action": "for_person"}).json()
    assert {i["ref"] for i in listed} == {stranger.ref, differs["payment_id"], short["payment_id"]}


def test_differences_are_scoped_for_a_merchant_admin_and_uploads_need_bank_staff(canteen, diner: int) -> None:  # noqa: ANN001
    canteen.pay(diner, 1000)
    raw = write_statement("bank_card", today(), [])
    assert upload(canteen, raw).status_code == 200
    own = operator_token(canteen.app, "merchant_admin", merchant_id=canteen.merchant_id)
    other = open_canteen(canteen.app, canteen.client)
    stranger = operator_token(canteen.app, "merchant_admin", merchant_id=other.merchant_id)
    assert upload(canteen, raw, own).status_code == 403
    assert upload(canteen, raw, operator_token(canteen.app, "auditor")).status_code == 403
    assert canteen.client.post("/api/v1/reconciliation/channel-statements", content=raw).status_code == 401
    seen = canteen.client.get("/api/v1/reconciliation/differences", headers=bearer(own)).json()
    assert len(seen) == 1 and seen[0]["kind"] == "missing_theirs"
    assert canteen.client.get("/api/v1/reconciliation/differences", headers=bearer(stranger)).json() == []


@pytest.mark.parametrize("raw, where", [
    (b"", "not a statement"),
    (b"\xff\xfe garbage", "UTF-8"),
    (b"GPSTMT1,bank_card,2026-03-10\nref,kind,amount_fen,settled_at,txn_id\nabc,payment,100,2026-03-10T10:00:00+08:00,x\n",
     "incomplete"),
    (b"GPSTMT1,bank_card,2026-03-10\nref,kind,amount_fen,settled_at,txn_id\nabc,payment,-5,2026-03-10T10:00:00+08:00,x\nEND,1,-5\n",
     "amount"),
    (b"GPSTMT1,bank_card,2026-03-10\nref,kind,amount_fen,settled_at,txn_id\nabc,payment,100,yesterday,x\nEND,1,100\n",
     "settled_at"),
    (b"GPSTMT1,bank_card,2026-03-10\nref,kind,amount_fen,settled_at,txn_id\nabc,payment,100,2026-03-10T10:00:00+08:00,x\nEND,2,100\n",
     "count or sum"),
    (b"GPSTMT1,paypal,2026-03-10\nref,kind,amount_fen,settled_at,txn_id\nEND,0,0\n", "not a statement"),
])
def test_bad_statement_files_are_refused_with_the_reason(raw: bytes, where: str) -> None:
    with pytest.raises(StatementError) as caught:
        parse_statement(raw)
    assert where in caught.value.en and caught.value.zh


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_garbage_never_crashes_the_parser(raw: bytes) -> None:
    try:
        parse_statement(raw)
    except StatementError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 10**8), max_size=20), st.integers(0, 200))
def test_written_statements_read_back_and_any_truncation_is_caught(amounts: list[int], cut: int) -> None:
    at = datetime(2026, 3, 10, 10, tzinfo=SHANGHAI)
    rows = [StatementRow(f"ref-{n}", "payment", a, at, f"T{n}") for n, a in enumerate(amounts)]
    raw = write_statement("bank_card", "2026-03-10", rows)
    assert sorted(parse_statement(raw).rows, key=lambda r: r.ref) == sorted(rows, key=lambda r: r.ref)
    if 1 < cut < len(raw):                  # any cut beyond the last line end loses the END line
        with pytest.raises(StatementError):
            parse_statement(raw[:-cut])


# --- terminal shift close ----------------------------------------------------------------------

def shift_body(shift_id: str, opened: datetime, payments: list[dict], queued: list[str], totals: list[dict]) -> dict:
    return {"shift_id": shift_id, "opened_at": opened.isoformat(), "closed_at": datetime.now(timezone.utc).isoformat(),
            "payments": payments, "queued_payment_ids": queued, "totals": totals}


def test_shift_close_itemises_differences_and_balances_after_the_push(canteen) -> None:  # noqa: ANN001
    opened = datetime.now(timezone.utc) - timedelta(minutes=5)
    cid = canteen.customer(wallet_fen=50_000)
    booked = canteen.pay(cid, 1000)
    unknown = canteen.pay(cid, 700)                    # booked, but the terminal lost its record
    queued_id, lost_id = str(uuid.uuid4()), str(uuid.uuid4())
    taken = [{"payment_id": booked["payment_id"], "method": "face", "amount_fen": 1000},
             {"payment_id": queued_id, "method": "face", "amount_fen": 1200},
             {"payment_id": lost_id, "method": "face", "amount_fen": 300}]
    body = shift_body("day-1", opened, taken, [queued_id], [{"method": "face", "count": 3, "amount_fen": 2500}])
    response = canteen.client.post("/api/v1/terminal/shift-close", json=body, auth=canteen.auth)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "differences" and result["push_payment_ids"] == [queued_id]
    kinds = {(d["kind"], d["payment_id"]) for d in result["differences"]}
    assert kinds == {("push_needed", queued_id), ("not_booked", lost_id),
                     ("unknown_to_terminal", unknown["payment_id"]), ("totals_differ", None)}
    assert all(d["message_zh"] and d["message_en"] for d in result["differences"])
    assert result["lines"] == [{"method": "face", "terminal_count": 3, "terminal_fen": 2500,
                                "backend_count": 2, "backend_fen": 1700}]
    # the terminal pushes what was queued and closes again with a full record: balanced
    canteen.pay(cid, 1200, queued_id)
    taken = [t for t in taken if t["payment_id"] != lost_id] + [
        {"payment_id": unknown["payment_id"], "method": "face", "amount_fen": 700}]
    body = shift_body("day-1", opened, taken, [], [{"method": "face", "count": 3, "amount_fen": 2900}])
    again = canteen.client.post("/api/v1/terminal/shift-close", json=body, auth=canteen.auth).json()
    assert again["status"] == "balanced" and again["differences"] == []
    shifts = canteen.client.get("/api/v1/reconciliation/shifts", headers=canteen.staff).json()
    assert [(s["shift_id"], s["status"]) for s in shifts] == [("day-1", "balanced")]


def test_shift_close_refuses_unsigned_and_malformed_bodies(canteen) -> None:  # noqa: ANN001
    opened = datetime.now(timezone.utc)
    body = shift_body("s1", opened, [], [], [])
    assert canteen.client.post("/api/v1/terminal/shift-close", json=body).status_code == 401
    for bad in ({**body, "shift_id": "bad id with spaces"}, {**body, "closed_at": "2000-01-01T00:00:00+00:00"},
                {**body, "totals": [{"method": "face", "count": "3", "amount_fen": 1}]}, {**body, "extra": 1}):
        response = canteen.client.post("/api/v1/terminal/shift-close", json=bad, auth=canteen.auth)
        assert response.status_code == 422, response.text
        assert response.json()["detail"]["code"] == "invalid_request"
    extreme = canteen.client.post("/api/v1/terminal/shift-close", auth=canteen.auth, json={
        **body, "opened_at": "0001-01-01T00:00:00+01:00", "closed_at": "9999-12-31T23:59:59-01:00"})
    assert extreme.status_code in (200, 422), extreme.text
    truncated = canteen.client.post("/api/v1/terminal/shift-close", content=b'{"shift_id": "s1", "open',
                                    auth=canteen.auth, headers={"Content-Type": "application/json"})
    assert truncated.status_code == 422
    auditor = operator_token(canteen.app, "auditor")
    assert canteen.client.get("/api/v1/reconciliation/shifts", headers=bearer(auditor)).status_code == 200
    assert canteen.client.get("/api/v1/reconciliation/shifts").status_code == 401


def test_qr_channel_statement_from_the_simulator_is_matched_against_paid_orders(canteen) -> None:  # noqa: ANN001
    from backend.channels import simulated_channel
    from backend.models.parking import ParkingOrder
    from backend.reconciliation.channel_file import wechat_statement
    from tests.backend.helpers import make_merchant_site

    park = make_merchant_site(canteen.app, "parking")
    channel, sim = simulated_channel()
    now = datetime.now(timezone.utc)
    orders = {}
    for label, amount in (("paid", 500), ("differs", 800), ("never_paid", 300)):
        order_id = uuid.uuid4()
        channel.create_native(order_id.hex, amount, "停车费", "https://example.invalid/notify", now + timedelta(minutes=10))
        if label != "never_paid":
            sim.pay(order_id.hex)
        orders[label] = (order_id, amount)
    with canteen.app.state.sessions() as session:
        for label, (order_id, amount) in orders.items():
            session.add(ParkingOrder(id=str(order_id), site_id=park["site_id"], terminal_id=1, purpose="exit",
                                     plate="京A12345", amount_fen=amount + (1 if label == "differs" else 0),
                                     status="paid", channel="wechat", out_trade_no=order_id.hex, code_url="x",
                                     created_at=now, expires_at=now + timedelta(minutes=10), paid_at=now))
        session.commit()
    result = upload(canteen, wechat_statement(sim, today())).json()
    assert result["channel"] == "wechat"
    assert result["counts"] == {"matched": 1, "missing_ours": 0, "missing_theirs": 1, "amount_differs": 1,
                                "reversed": 0}
    kinds = {i["ref"]: (i["kind"], i["action"], i["merchant_id"]) for i in result["items"]}
    assert kinds[orders["never_paid"][0].hex] == ("missing_theirs", "for_person", park["merchant_id"])
    assert kinds[orders["differs"][0].hex] == ("amount_differs", "for_person", park["merchant_id"])


def pay_with_a_wallet_code(canteen, amount_fen: int):  # noqa: ANN001, ANN201 - (channel, simulator)
    """A diner pays at the canteen terminal with a WeChat pay code, charged at the simulated channel."""
    from backend.channels import simulated_channel

    channel, sim = simulated_channel()
    canteen.app.state.channels.install("wechat", channel, sim)
    body = {"payment_id": str(uuid.uuid4()), "amount_fen": amount_fen, "meal_period": "lunch",
            "credential": {"kind": "paycode", "paycode": "134567890123456789"},
            "occurred_at": datetime.now(timezone.utc).isoformat()}
    paid = canteen.client.post("/api/v1/terminal/payments", json=body, auth=canteen.auth)
    assert paid.status_code == 200 and paid.json()["status"] == "approved", paid.text
    return channel, sim


def test_canteen_pay_codes_charged_through_the_channel_are_matched_and_settled(canteen) -> None:  # noqa: ANN001
    from backend.reconciliation.channel_file import wechat_statement

    _, sim = pay_with_a_wallet_code(canteen, 850)
    result = upload(canteen, wechat_statement(sim, today())).json()
    assert result["counts"]["matched"] == 1 and result["items"] == []
    canteen.at(datetime.now(SHANGHAI) + timedelta(days=1))
    day = canteen.client.post("/api/v1/settlement/runs", headers=canteen.staff, json={"business_date": today()})
    mine = next(d for d in day.json()["closed"] if d["merchant_id"] == canteen.merchant_id)
    assert (mine["gross_fen"], mine["channel_fen"]) == (850, 850)


def test_a_canteen_pay_code_and_a_parking_qr_exit_on_one_statement_are_two_matches(canteen) -> None:  # noqa: ANN001
    """Both are booked as channel payments; the parking exit is also a paid order with the same
    reference (its payment id is the order id): counted once, not as a missing or extra line."""
    from backend.models.parking import ParkingOrder
    from backend.reconciliation.channel_file import wechat_statement
    from backend.services.channel_booking import book_order_receipt
    from tests.backend.helpers import make_merchant_site

    channel, sim = pay_with_a_wallet_code(canteen, 850)
    park = make_merchant_site(canteen.app, "parking")
    order_id, now = uuid.uuid4(), datetime.now(timezone.utc)
    channel.create_native(order_id.hex, 600, "停车费", "https://example.invalid/notify", now + timedelta(minutes=10))
    sim.pay(order_id.hex)
    with canteen.app.state.sessions() as session:
        order = ParkingOrder(id=str(order_id), site_id=park["site_id"], terminal_id=1, purpose="exit",
                             plate="京A12345", amount_fen=600, status="paid", channel="wechat",
                             out_trade_no=order_id.hex, code_url="x", created_at=now,
                             expires_at=now + timedelta(minutes=10), paid_at=now)
        session.add(order)
        session.flush()
        book_order_receipt(session, order)
        session.commit()
    result = upload(canteen, wechat_statement(sim, today())).json()
    assert result["counts"] == {"matched": 2, "missing_ours": 0, "missing_theirs": 0, "amount_differs": 0,
                                "reversed": 0}
    assert result["items"] == []


def test_a_pending_card_payment_missing_from_the_statement_is_given_back(canteen, diner: int) -> None:  # noqa: ANN001
    """The bank took it but could not say so at payment time (pending_bank): the statement lacks it,
    the core now says taken, so the money is credited back to the card and the payment declined."""
    bank = canteen.app.state.corebanking
    bank.fail_next("applied", status_unknown=1)
    pending = canteen.pay(diner, 1500)
    assert pending["reason"] == "bank_outcome_unknown" and bank.balance(CARD) == 98_500
    statement = parse_statement(bank.statement(today()))
    rows = [r for r in statement.rows if r.ref != pending["payment_id"]]
    response = upload(canteen, write_statement("bank_card", today(), rows))
    assert response.status_code == 200, response.text
    kinds = {i["ref"]: (i["kind"], i["action"]) for i in response.json()["items"]}
    assert kinds[pending["payment_id"]] == ("missing_theirs", "reversed")
    assert bank.balance(CARD) == 100_000
    assert canteen.ledger_ok() == []
