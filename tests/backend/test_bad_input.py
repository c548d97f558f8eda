"""Bad input that used to reach a 500 or lose data (issue 12, item 2): each gets a clear 4xx (or,
inside a push batch, that item's own "rejected" answer) in Chinese and English, and nothing is
booked. On SQLite and PostgreSQL (PostgreSQL refuses NUL in text, which SQLite stores)."""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from core.clock import ManualClock
from sync.auth import TerminalAuth
from core.wire import MAX_SEQ
from tests.backend.helpers import bearer, make_app, make_merchant_site, operator_token, register_terminal
from tests.backend.money_helpers import CONSENT_AT, canteen, open_canteen, payment_body, template  # noqa: F401

NUL, BELL, DEL = "a\x00b", "a\x07b", "a\x7fb"


def count(db_url: str, table: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


def assert_clear_422(response) -> None:  # noqa: ANN001
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail["message_zh"] and detail["message_en"]


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


# --- parking: a malformed lane event is rejected on its own ---------------------------------------

LANE_T0 = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)   # 09:00 in Shanghai


@pytest.fixture
def lane(db_url: str):  # noqa: ANN201
    app = make_app(db_url, clock=ManualClock(LANE_T0))
    with TestClient(app) as client:
        ids = make_merchant_site(app, kind="parking")
        tid, key = register_terminal(client, app, ids["merchant_id"], ids["site_id"], ids["lane_id"], scene="parking")
        yield dict(app=app, client=client, auth=TerminalAuth(key, tid, clock=app.state.clock.timestamp),
                   op=bearer(operator_token(app)), **ids)


def _lane_event(kind: str = "entry", **kw) -> dict:  # noqa: ANN003
    return {"event_id": str(uuid.uuid4()), "kind": kind, "session_id": str(uuid.uuid4()), "lane_id": None,
            "plate": "京A12345", "plate_colour": "blue", "at": LANE_T0.isoformat(), **kw}


@pytest.mark.parametrize("field", ["image_ref", "reason", "operator", "plate", "plate_colour"])
def test_control_characters_in_a_lane_event_reject_that_event_only(lane, db_url: str, field: str) -> None:  # noqa: ANN001
    bad = _lane_event(**{field: "京A1\x0045"})
    good = _lane_event(plate="京B54321")
    response = lane["client"].post("/api/v1/terminal/parking/events", json={"events": [bad, good]}, auth=lane["auth"])
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["rejected", "applied"]
    assert response.json()["results"][0]["event_id"] == bad["event_id"]
    assert count(db_url, "parking_events") == 1


def test_a_poisoned_lane_event_is_rejected_and_the_rest_applied(lane, db_url: str) -> None:  # noqa: ANN001
    engine = create_engine(db_url)
    with engine.begin() as conn:
        if db_url.startswith("sqlite"):
            conn.execute(text("CREATE TRIGGER poison BEFORE INSERT ON parking_sessions WHEN NEW.plate = '京A66666' "
                              "BEGIN SELECT RAISE(ABORT, 'poisoned'); END"))
        else:
            conn.execute(text("CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.plate = '京A66666' "
                              "THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER poison BEFORE INSERT ON parking_sessions FOR EACH ROW "
                              "EXECUTE FUNCTION poison()"))
    engine.dispose()
    events = [_lane_event(plate="京A11111"), _lane_event(plate="京A66666"), _lane_event(plate="京A22222")]
    response = lane["client"].post("/api/v1/terminal/parking/events", json={"events": events}, auth=lane["auth"])
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["applied", "rejected", "applied"]
    assert count(db_url, "parking_sessions") == 2


@pytest.mark.parametrize("body", [{"reason": "逃费\x00"}, {"reason": ""}])
def test_a_blacklist_reason_with_control_characters_is_a_422(lane, db_url: str, body: dict) -> None:  # noqa: ANN001
    response = lane["client"].put(f"/api/v1/sites/{lane['site_id']}/parking/blacklist/京A12345", json=body,
                                  headers=lane["op"])
    assert_clear_422(response)
    assert count(db_url, "parking_blacklist") == 0


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
