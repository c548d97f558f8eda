"""Bad input that used to reach a 500 or lose data (issue 12, item 2): each gets a clear 4xx (or,
inside a push batch, that item's own "rejected" answer) in Chinese and English, and nothing is
booked. On SQLite and PostgreSQL (PostgreSQL refuses NUL in text, which SQLite stores).
Payments and pushes here; signings, refunds, operators and commands in test_bad_input_operators.py;
parking lanes in test_bad_input_parking.py."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text

from core.wire import MAX_SEQ
from tests.backend.bad_input_helpers import BELL, DEL, NUL, assert_clear_422, count
from tests.backend.money_helpers import CONSENT_AT, canteen, payment_body, template  # noqa: F401 - canteen is a fixture


def body(canteen, cid: int, amount_fen: int, **kw) -> dict:  # noqa: ANN001, ANN003
    """A payment body dated by the backend's (pinned) clock."""
    kw.setdefault("occurred_at", canteen.now())
    return payment_body(cid, amount_fen, **kw)


def _push(canteen, items: list):  # noqa: ANN001, ANN202
    return canteen.client.post("/api/v1/terminal/sync/push", json={"items": items}, auth=canteen.auth)


# --- control characters in every text field an operator or a terminal sends ---------------------

def _operator_bodies(canteen, bad: str) -> list[tuple[str, str, dict, str]]:  # noqa: ANN001
    """(method, path, body, table that must stay unchanged) for each operator text field."""
    cid = canteen.post("/api/v1/customers", {"name": "张三"})["id"]
    signing = canteen.post(f"/api/v1/customers/{cid}/signings/card", {
        "card_hash": "ab" * 16, "per_payment_limit_fen": 100, "per_day_limit_fen": 1000})["id"]
    limits = {"per_payment_limit_fen": 100, "per_day_limit_fen": 1000}
    program = {"name": "午餐补贴", "funder": "学校", "kind": "monthly"}
    return [
        ("post", "/api/v1/subsidy-programs", {**program, "name": bad}, "subsidy_programs"),
        ("post", "/api/v1/subsidy-programs", {**program, "funder": bad}, "subsidy_programs"),
        ("post", "/api/v1/subsidy-programs", {**program, "meal_periods": [bad]}, "subsidy_programs"),
        ("post", "/api/v1/customer-groups", {"name": bad}, "customer_groups"),
        ("post", "/api/v1/customers", {"name": bad}, "customers"),
        ("post", "/api/v1/customers", {"name": "李四", "phone": "1381234" + bad + "678"}, "customers"),
        ("post", f"/api/v1/customers/{cid}/signings/card", {**limits, "card_hash": "cd" * 8 + "\x00"}, "signings"),
        ("post", f"/api/v1/customers/{cid}/signings/plate", {**limits, "plate": "京A1234" + bad,
                                                            "plate_colour": "blue"}, "signings"),
        ("post", f"/api/v1/customers/{cid}/signings/plate", {**limits, "plate": "京A12345",
                                                            "plate_colour": bad}, "signings"),
        ("post", f"/api/v1/customers/{cid}/signings/face", {**limits, "consent_at": CONSENT_AT,
                                                           "consent_text_version": bad,
                                                           "templates": [template(1)]}, "signings"),
        ("post", f"/api/v1/signings/{signing}/suspend", {"reason": bad}, None),
        ("post", f"/api/v1/signings/{signing}/revoke", {"reason": bad}, None),
    ]


@pytest.mark.parametrize("bad", [NUL, BELL, DEL, "line\nbreak"])
def test_control_characters_in_operator_text_fields_are_a_clear_422(canteen, db_url: str, bad: str) -> None:  # noqa: ANN001
    for method, path, body, table in _operator_bodies(canteen, bad):
        before = count(db_url, table) if table else None
        response = getattr(canteen.client, method)(path, json=body, headers=canteen.staff)
        assert_clear_422(response)
        if table:
            assert count(db_url, table) == before, path
    # the signing was neither suspended nor revoked by the refused calls
    [card] = [s for s in canteen.client.get("/api/v1/customers/1/signings", headers=canteen.staff).json()
              if s["kind"] == "card"]
    assert card["status"] == "active"


@pytest.mark.parametrize("field, bad", [("meal_period", NUL), ("meal_period", "\r"),
                                        ("credential", {"kind": "card", "card_hash": "ab\x00cd"}),
                                        ("credential", {"kind": "plate", "plate": "京A\x0012345"})])
def test_control_characters_in_a_payment_are_a_422_online_and_rejected_in_a_push(canteen, db_url: str,  # noqa: ANN001
                                                                                 field: str, bad) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=5000)
    online = canteen.pay_raw(cid, 100, **{field: bad})
    assert_clear_422(online)
    good = body(canteen, cid, 200, offline=True, terminal_seq=2)
    pushed = _push(canteen, [{"seq": 1, "kind": "payment", "payment": {**body(canteen, cid, 100, offline=True),
                                                                         field: bad}},
                             {"seq": 2, "kind": "payment", "payment": good}])
    assert pushed.status_code == 200, pushed.text
    assert [r["status"] for r in pushed.json()["results"]] == ["rejected", "booked"]
    assert count(db_url, "payments") == 1
    assert canteen.view(cid)["wallet_fen"] == 4800


def test_nan_and_infinity_in_a_pushed_event_reject_that_item_only(canteen, db_url: str) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=5000)
    items = [{"seq": 1, "kind": "event", "event": {"type": "gate_opened_by_hand", "temperature": float("nan")}},
             {"seq": 2, "kind": "event", "event": {"type": "x", "nested": [{"v": float("inf")}]}},
             {"seq": 3, "kind": "payment", "payment": body(canteen, cid, 300, offline=True, terminal_seq=3)},
             {"seq": 4, "kind": "event", "event": {"type": "shift_closed", "count": 3}}]
    raw = json.dumps({"items": items})   # Python writes NaN and Infinity literally (httpx's json= refuses to)
    assert "NaN" in raw and "Infinity" in raw
    response = canteen.client.post("/api/v1/terminal/sync/push", content=raw, auth=canteen.auth,
                                   headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["rejected", "rejected", "booked", "booked"]
    assert "NaN" in response.json()["results"][0]["reason"]
    assert count(db_url, "terminal_events") == 1
    assert canteen.view(cid)["wallet_fen"] == 4700


# --- dates and sequence numbers beyond what a column holds --------------------------------------

@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "1999-12-31T23:00:00+00:00"])
def test_an_occurred_at_outside_2000_to_2100_is_a_422_and_rejected_in_a_push(canteen, db_url: str, when: str) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=5000)
    assert_clear_422(canteen.client.post("/api/v1/terminal/payments", auth=canteen.auth,
                                         json={**body(canteen, cid, 100), "occurred_at": when}))
    pushed = _push(canteen, [{"seq": 1, "kind": "payment",
                              "payment": {**body(canteen, cid, 100, offline=True), "occurred_at": when}}])
    assert pushed.status_code == 200 and pushed.json()["results"][0]["status"] == "rejected"
    assert count(db_url, "payments") == 0
    assert canteen.view(cid)["wallet_fen"] == 5000


def test_an_offline_payment_older_than_the_offline_window_is_declined_not_charged(canteen, db_url: str) -> None:  # noqa: ANN001
    """Dated 2001 (a terminal whose clock was reset): it used to be approved and charged, then
    never settled (settlement looks back 31 days). Now declined after the fact, money untouched."""
    cid = canteen.customer(wallet_fen=5000)
    old = canteen.now() - timedelta(days=31)
    recent = canteen.now() - timedelta(days=29)
    items = [{"seq": 1, "kind": "payment", "payment": body(canteen, cid, 100, offline=True, occurred_at=old)},
             {"seq": 2, "kind": "payment", "payment": body(canteen, cid, 100, offline=True,
                                                                   occurred_at=datetime(2001, 1, 1, tzinfo=timezone.utc))},
             {"seq": 3, "kind": "payment", "payment": body(canteen, cid, 200, offline=True, occurred_at=recent)}]
    results = _push(canteen, items).json()["results"]
    assert [r["status"] for r in results] == ["declined", "declined", "booked"]
    assert {r["reason"] for r in results[:2]} == {"offline_too_old"}
    assert "30" in results[0]["payment"]["message_zh"] and results[0]["payment"]["message_en"]
    assert canteen.view(cid)["wallet_fen"] == 4800          # only the 29-day-old payment was taken
    assert count(db_url, "payments") == 3                   # the declined ones are on record, not lost
    assert canteen.ledger_ok() == []


@pytest.mark.parametrize("seq", [MAX_SEQ + 1, 2**64, -1, 0])
def test_a_terminal_seq_beyond_a_64_bit_column_is_a_422_and_rejected_in_a_push(canteen, db_url: str, seq: int) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=5000)
    assert_clear_422(canteen.pay_raw(cid, 100, terminal_seq=seq))
    pushed = _push(canteen, [{"seq": seq, "kind": "payment", "payment": body(canteen, cid, 100, offline=True)},
                             {"seq": 5, "kind": "event", "event": {"seq_ok": True}},
                             {"seq": 6, "kind": "payment", "payment": body(canteen, cid, 100, offline=True,
                                                                                   terminal_seq=seq)}])
    assert pushed.status_code == 200, pushed.text
    assert [r["status"] for r in pushed.json()["results"]] == ["rejected", "booked", "rejected"]
    assert count(db_url, "payments") == 0


def test_the_largest_terminal_seq_is_booked(canteen, db_url: str) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=5000)
    pushed = _push(canteen, [{"seq": MAX_SEQ, "kind": "payment",
                              "payment": body(canteen, cid, 100, offline=True, terminal_seq=MAX_SEQ)}])
    assert pushed.json()["results"][0]["status"] == "booked"


# --- a poisoned item never blocks the queue behind it --------------------------------------------

POISON_FEN = 666


def poison_payments(db_url: str) -> None:
    """Make the database refuse one payment for a reason no code foresaw (a trigger), as a stand-in
    for whatever the next unknown bug is."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        if db_url.startswith("sqlite"):
            conn.execute(text(f"CREATE TRIGGER poison BEFORE INSERT ON payments WHEN NEW.amount_fen = {POISON_FEN} "
                              "BEGIN SELECT RAISE(ABORT, 'poisoned'); END"))
        else:
            conn.execute(text(f"CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.amount_fen = {POISON_FEN} "
                              "THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER poison BEFORE INSERT ON payments FOR EACH ROW EXECUTE FUNCTION poison()"))
    engine.dispose()


def test_a_poisoned_push_item_is_rejected_and_the_rest_are_booked(canteen, db_url: str) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=5000)
    poison_payments(db_url)
    items = [{"seq": n, "kind": "payment", "payment": body(canteen, cid, amount, offline=True, terminal_seq=n)}
             for n, amount in ((1, 100), (2, POISON_FEN), (3, 200))]
    for _ in range(2):                       # and again: the retry gets the same answers, books nothing twice
        response = _push(canteen, items)
        assert response.status_code == 200, response.text
        statuses = [r["status"] for r in response.json()["results"]]
        assert statuses[1] == "rejected" and response.json()["results"][1]["reason"].startswith("unprocessable")
        assert set(statuses[::2]) <= {"booked", "duplicate"}
    assert canteen.view(cid)["wallet_fen"] == 4700
    assert canteen.ledger_ok() == []
