"""Member renewals paid at the car park's counter (会员缴费续期, cash or card at the office), through
the real API on SQLite and PostgreSQL: booked once on the ledger as money the merchant holds
itself (D merchant_cash, C merchant), idempotent by renewal_id, free renewals book nothing, bad
input books nothing; settlement reports the counter money but pays out only what went through the
bank, and `gatepay backend check-ledger` stays clean."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from backend.models.ledger import Account, Entry, Posting
from backend.models.parking import MemberRenewal, ParkingMember
from backend.services.ledger import balance_of, check_ledger
from core.clock import DEFAULT_START, ManualClock
from core.members import PassPlan
from core.members import renew as renew_pass
from tests.backend.helpers import bearer, make_app, make_merchant_site, operator_token
from tests.backend.parking_helpers import RULES as CAR_PARK_RULES
from tests.backend.parking_helpers import car_park

SHANGHAI = timezone(timedelta(hours=8))
RULES = {**CAR_PARK_RULES, "plans": [*CAR_PARK_RULES["plans"], {"code": "quarterly", "months": 3, "price_fen": 80000}]}
PLATE = "京A12345"
NOW = DEFAULT_START.astimezone(SHANGHAI)


@pytest.fixture
def park(db_url: str):  # noqa: ANN201
    with car_park(db_url, RULES, clock=ManualClock(NOW)) as p:     # the car park's day is pinned, not today
        yield p


def renew(p: dict, body: dict, plate: str = PLATE, expect: int | None = 200):  # noqa: ANN201
    r = p["client"].post(f"/api/v1/sites/{p['site_id']}/parking/members/{plate}/renewals", json=body, headers=p["op"])
    if expect is not None:
        assert r.status_code == expect, r.text
    return r


def renewal(amount_fen: int = 30000, plan: str = "monthly", renewal_id: str | None = None) -> dict:
    return {"renewal_id": renewal_id or str(uuid.uuid4()), "plan": plan, "amount_fen": amount_fen}


def ledger(p: dict) -> dict:
    """Postings, their entries by account code, counter balances, renewals and the ledger proof."""
    m = p["merchant_id"]
    with p["app"].state.sessions() as s:
        entries = s.execute(select(Posting.ref, Account.code, Entry.side, Entry.amount_fen)
                            .join(Entry, Entry.posting_id == Posting.id).join(Account, Account.id == Entry.account_id)
                            .order_by(Posting.id, Entry.side)).all()
        balances = {code: balance_of(s, aid) for aid, code in s.execute(
            select(Account.id, Account.code).where(Account.code.in_([f"merchant:{m}", f"merchant_cash:{m}"])))}
        return {"postings": s.scalar(select(func.count()).select_from(Posting)),
                "entries": [tuple(e) for e in entries], "balances": balances,
                "renewals": s.scalar(select(func.count()).select_from(MemberRenewal)),
                "problems": check_ledger(s)}


def test_counter_renewal_is_booked_once_and_a_repeat_gets_the_same_answer(park):  # noqa: ANN001
    p = park
    body = renewal(30000)
    first, again = renew(p, body).json(), renew(p, body).json()
    assert first == again and first["plate"] == PLATE and first["plan"] == "monthly"
    m = p["merchant_id"]
    got = ledger(p)
    ref = f"counter_renewal:{body['renewal_id']}"
    assert got["postings"] == 1 and got["renewals"] == 1 and got["problems"] == []
    assert got["entries"] == [(ref, f"merchant:{m}", "C", 30000), (ref, f"merchant_cash:{m}", "D", 30000)]
    assert got["balances"] == {f"merchant:{m}": 30000, f"merchant_cash:{m}": -30000}
    with p["app"].state.sessions() as s:
        row = s.scalar(select(MemberRenewal))
        assert (row.paid_via, row.amount_fen, row.posting_id is not None) == ("operator", 30000, True)
        assert row.business_date == NOW.date().isoformat()


def test_the_same_renewal_id_with_another_body_is_refused_and_books_nothing_more(park):  # noqa: ANN001
    p = park
    body = renewal(30000)
    before = renew(p, body).json()
    for other, plate in (({**body, "amount_fen": 0}, PLATE), ({**body, "plan": "quarterly", "amount_fen": 80000}, PLATE),
                         (body, "京B54321")):
        r = renew(p, other, plate=plate, expect=409)
        detail = r.json()["detail"]
        assert detail["code"] == "renewal_id_reused"
        assert "续费编号" in detail["message_zh"] and "renewal id" in detail["message_en"]
    assert renew(p, body).json() == before               # the original still answers as before
    got = ledger(p)
    assert (got["postings"], got["renewals"], got["problems"]) == (1, 1, [])


def test_a_free_renewal_extends_the_pass_and_books_nothing(park):  # noqa: ANN001
    p = park
    paid = renew(p, renewal(30000)).json()
    free = renew(p, renewal(0)).json()                        # a staff car: no money changed hands
    assert free["valid_from"] == paid["valid_from"] and free["valid_to"] > paid["valid_to"]
    got = ledger(p)
    assert (got["postings"], got["renewals"], got["problems"]) == (1, 2, [])
    with p["app"].state.sessions() as s:
        free_row = s.scalar(select(MemberRenewal).where(MemberRenewal.amount_fen == 0))
        assert free_row.posting_id is None and free_row.paid_via == "operator"


@pytest.mark.parametrize("amount", [-1, -30000, 30001, 10**12, "30000", 300.5, 30000.0, True, None, [30000]])
def test_bad_amounts_are_refused_in_words_and_book_nothing(park, amount):  # noqa: ANN001
    p = park
    r = renew(p, {**renewal(), "amount_fen": amount}, expect=422)
    detail = r.json()["detail"]
    assert detail["message_zh"] and detail["message_en"]
    assert detail["code"] in ("invalid_request", "wrong_amount")
    got = ledger(p)
    assert (got["postings"], got["renewals"]) == (0, 0)
    assert p["client"].get(f"/api/v1/sites/{p['site_id']}/parking/sessions", headers=p["op"]).status_code == 200


def test_other_bad_renewals_are_refused_and_book_nothing(park):  # noqa: ANN001
    p = park
    cases = [({**renewal(), "plan": "weekly"}, PLATE, 422, "unknown_plan"),
             ({**renewal(), "renewal_id": "not-a-uuid"}, PLATE, 422, "invalid_request"),
             ({"renewal_id": str(uuid.uuid4()), "plan": "monthly"}, PLATE, 422, "invalid_request"),
             ({**renewal(), "note": "extra"}, PLATE, 422, "invalid_request"),
             (renewal(), "XX", 422, "bad_plate")]
    for body, plate, status, code in cases:
        r = renew(p, body, plate=plate, expect=status)
        assert r.json()["detail"]["code"] == code, r.text
    r = p["client"].post(f"/api/v1/sites/{p['site_id']}/parking/members/{PLATE}/renewals", content=b"{not json",
                         headers={**p["op"], "Content-Type": "application/json"})
    assert r.status_code == 422
    other = make_merchant_site(p["app"], kind="parking", name="another car park")
    outsider = bearer(operator_token(p["app"], "merchant_admin", merchant_id=other["merchant_id"]))
    r = p["client"].post(f"/api/v1/sites/{p['site_id']}/parking/members/{PLATE}/renewals", json=renewal(),
                         headers=outsider)
    assert r.status_code in (403, 404)
    got = ledger(p)
    assert (got["postings"], got["renewals"], got["problems"]) == (0, 0, [])


def pay_qr(p: dict, amount_fen: int, **kw) -> str:  # noqa: ANN003
    """A QR order the driver pays through the (simulated) channel: money the bank holds."""
    c = p["client"]
    body = {"order_id": str(uuid.uuid4()), "plate": PLATE, "amount_fen": amount_fen,
            "occurred_at": NOW.isoformat(), **kw}
    order = c.post("/api/v1/terminal/parking/orders", json=body, auth=p["auth"]).json()
    sim = p["app"].state.channels.simulator("wechat")
    headers, raw = sim.pay(sim.order_for_code(order["qr_text"]))
    assert c.post("/api/v1/parking/channel/notify", content=raw, headers=headers).status_code == 200
    return order["order_id"]


def settle_today(p: dict) -> dict:
    today = NOW.date()
    morning_after = datetime.combine(today + timedelta(days=1), datetime.min.time(), SHANGHAI) + timedelta(hours=9)
    p["app"].state.clock.set(morning_after)
    try:
        r = p["client"].post("/api/v1/settlement/runs", headers=p["op"], json={"business_date": today.isoformat()})
    finally:
        p["app"].state.clock.set(NOW)
    assert r.status_code == 200, r.text
    return r.json()


def test_settlement_reports_counter_money_but_pays_out_only_what_the_bank_holds(park, tmp_path):  # noqa: ANN001
    p = park
    m = p["merchant_id"]
    pay_qr(p, 1200, session_id=str(uuid.uuid4()))                    # exit fee through the channel
    pay_qr(p, 30000, purpose="renewal", plan="monthly")              # renewal through the channel
    renew(p, renewal(30000))                                          # renewal paid in cash at the counter
    renew(p, renewal(80000, "quarterly"))                             # and one by card at the counter
    renew(p, renewal(0))                                              # a free one
    run = settle_today(p)
    day = next(d for d in run["closed"] if d["merchant_id"] == m)
    assert (day["payments"], day["gross_fen"], day["channel_fen"]) == (2, 31200, 31200)
    assert day["counter_fen"] == 110000                               # reported ...
    assert day["net_fen"] == 31200                                    # ... but not paid out
    csv_bytes = p["client"].get(f"/api/v1/settlement/days/{day['business_date']}/payout.csv", headers=p["op"]).content
    row = next(r for r in csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"))) if int(r["merchant_id"]) == m)
    assert (row["gross_fen"], row["net_fen"], row["action"]) == ("31200", "31200", "pay")
    got = ledger(p)
    assert got["problems"] == []
    assert got["balances"] == {f"merchant:{m}": 0, f"merchant_cash:{m}": 0}     # both cleared by settlement
    settlement = [e for e in got["entries"] if e[0] == f"settlement:{m}:{day['business_date']}"]
    assert sorted(settlement) == sorted([(settlement[0][0], f"merchant:{m}", "D", 141200),
                                         (settlement[0][0], "payout_clearing", "C", 31200),
                                         (settlement[0][0], f"merchant_cash:{m}", "C", 110000)])
    listed = p["client"].get("/api/v1/settlement/days", params={"business_date": day["business_date"]},
                             headers=p["op"]).json()
    assert next(d for d in listed if d["merchant_id"] == m)["counter_fen"] == 110000
    # The next day's run claims nothing of it again.
    tomorrow = NOW.date() + timedelta(days=1)
    p["app"].state.clock.set(datetime.combine(tomorrow + timedelta(days=1), datetime.min.time(), SHANGHAI)
                             + timedelta(hours=9))
    try:
        r = p["client"].post("/api/v1/settlement/runs", headers=p["op"], json={"business_date": tomorrow.isoformat()})
    finally:
        p["app"].state.clock.set(NOW)
    nxt = next(d for d in r.json()["closed"] if d["merchant_id"] == m)
    assert (nxt["counter_fen"], nxt["gross_fen"], nxt["net_fen"], nxt["adjustments"]) == (0, 0, 0, [])
    from backend.cli import app as backend_cli
    result = CliRunner().invoke(backend_cli, ["check-ledger"], env={
        "GATEPAY_DATABASE_URL": p["db_url"], "GATEPAY_KEY_FILE": str(tmp_path / "keys.json")})
    assert result.exit_code == 0 and "ledger balanced" in result.output, result.output


def test_parking_report_shows_renewals_by_how_they_were_paid(park):  # noqa: ANN001
    p = park
    pay_qr(p, 30000, purpose="renewal", plan="monthly")
    renew(p, renewal(30000))
    renew(p, renewal(0))
    month = NOW.strftime("%Y-%m")
    r = p["client"].get("/api/v1/reports/parking", params={"month": month, "format": "json"}, headers=p["op"])
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    row = next(x for x in rows if x["site_id"] == p["site_id"])
    assert (row["renewals_qr_fen"], row["renewals_counter_fen"]) == (30000, 30000)


@pytest.mark.postgres
@pytest.mark.slow
def test_racing_counter_renewals_on_postgres_book_each_once_and_extend_the_pass_each_time(pg_url, tmp_path):  # noqa: ANN001
    """The same renewal sent eight times at once (a double-clicked till) and four other renewals of
    the same pass at the same moment, against the real backend process: five postings, five months."""
    import threading

    import httpx

    from tests.backend.helpers import TEST_KEYS
    from terminal.demo.backend_process import BackendProcess

    app = make_app(pg_url)
    with TestClient(app) as client:
        ids = make_merchant_site(app, kind="parking")
        token = operator_token(app)
        assert client.put(f"/api/v1/sites/{ids['site_id']}/parking/rules", json=RULES,
                          headers=bearer(token)).status_code == 200
        first = client.post(f"/api/v1/sites/{ids['site_id']}/parking/members/{PLATE}/renewals",
                            json=renewal(), headers=bearer(token)).json()          # the pass exists: month 1
        same = renewal()
        bodies = [same] * 8 + [renewal() for _ in range(4)]
        answers: list[httpx.Response | None] = [None] * len(bodies)
        env = {f"GATEPAY_{name.upper()}": value for name, value in TEST_KEYS.items()}
        with BackendProcess(pg_url, tmp_path, extra_env=env) as backend:
            barrier = threading.Barrier(len(bodies))

            def one(i: int) -> None:
                with httpx.Client(base_url=backend.url, timeout=60) as http:
                    barrier.wait()
                    answers[i] = http.post(f"/api/v1/sites/{ids['site_id']}/parking/members/{PLATE}/renewals",
                                           json=bodies[i], headers=bearer(token))

            threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
        assert [a.status_code for a in answers] == [200] * len(bodies), [a.text for a in answers if a.status_code != 200]
        with app.state.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Posting)) == 6          # 1 before + 1 raced + 4
            assert s.scalar(select(func.count()).select_from(MemberRenewal)) == 6
            assert check_ledger(s) == []
        expected = None
        for _ in range(6):                                    # six monthly periods, end to end
            expected = renew_pass(expected, PassPlan(code="monthly", months=1, price_fen=30000),
                                  date.fromisoformat(first["valid_from"]), ids["site_id"], PLATE)
        with app.state.sessions() as s:
            member = s.scalar(select(ParkingMember).where(ParkingMember.plate == PLATE))
            assert (member.valid_from, member.valid_to) == (expected.valid_from, expected.valid_to)
