"""Subsidy programs through the real API: CSV grants with bad rows, caps, meal periods, expiry
(day end, month end, on a date, rollover), clawback — each booked on the ledger."""
from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.backend.helpers import make_app
from tests.backend.money_helpers import open_canteen

SH = ZoneInfo("Asia/Shanghai")
LUNCH = datetime(2026, 3, 10, 12, 0, tzinfo=SH)


@pytest.fixture
def canteen(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    with TestClient(app) as client:
        c = open_canteen(app, client)
        c.at(LUNCH)
        yield c


def _import(canteen, program: int, csv_text: str, batch_id: str):  # noqa: ANN001, ANN202
    return canteen.client.post(f"/api/v1/subsidy-programs/{program}/grant-batches", params={"batch_id": batch_id},
                               content=csv_text.encode(), headers={**canteen.staff, "Content-Type": "text/csv"})


def test_csv_import_books_good_rows_reports_every_bad_row_and_is_idempotent(canteen) -> None:  # noqa: ANN001
    a = canteen.customer("王五", id_number="11010519491231002X")
    b = canteen.customer("赵六")
    program = canteen.program()
    csv_text = ("id_number,customer_id,amount_yuan\n"
                "11010519491231002x,,150.00\n"      # line 2: by ID number, lower-case x is fine
                f",{b},80.5\n"                      # line 3
                ",99999,10\n"                       # line 4: unknown customer
                f",{b},-3\n"                        # line 5: negative
                f",{b},ten\n"                       # line 6: not a number
                ",,5\n"                             # line 7: nobody
                f",{b},1.234\n"                     # line 8: three decimals
                f",{b},1,extra\n")                  # line 9: too many columns
    response = _import(canteen, program, csv_text, "2026-03-school")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows_booked"], report["total_fen"]) == (2, 23050)
    assert [e["line"] for e in report["errors"]] == [4, 5, 6, 7, 8, 9]
    assert report["errors"][0]["code"] == "unknown_customer" and "第 4 行" in report["errors"][0]["message_zh"]
    assert canteen.view(a)["subsidies"] == [{"program_id": program, "balance_fen": 15000}]
    assert canteen.view(b)["subsidies"] == [{"program_id": program, "balance_fen": 8050}]
    again = _import(canteen, program, csv_text, "2026-03-school").json()
    assert again["already_imported"] and again["rows_booked"] == 2
    assert canteen.view(a)["subsidies"] == [{"program_id": program, "balance_fen": 15000}]
    assert canteen.ledger_ok() == []


def test_csv_with_a_wrong_header_or_bytes_is_refused_whole(canteen) -> None:  # noqa: ANN001
    program = canteen.program()
    assert _import(canteen, program, "who,how much\n1,2\n", "b1").json()["detail"]["code"] == "bad_csv_header"
    response = canteen.client.post(f"/api/v1/subsidy-programs/{program}/grant-batches", params={"batch_id": "b2"},
                                   content=b"\xff\xfe\x00garbage", headers=canteen.staff)
    assert response.status_code == 422 and response.json()["detail"]["code"] == "csv_not_utf8"
    assert _import(canteen, 4242, "customer_id,amount_fen\n1,1\n", "b3").status_code == 404


def test_daily_allowance_lapses_at_day_end_and_is_booked_back_to_the_funder(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer()
    program = canteen.program(kind="daily", name="daily meal allowance")
    canteen.grant(program, [(cid, 1200)])
    assert canteen.pay(cid, 500)["status"] == "approved"
    canteen.at(datetime(2026, 3, 10, 23, 59, tzinfo=SH))
    assert canteen.post("/api/v1/subsidies/expire", {}, expect=200)["total_fen"] == 0
    canteen.at(datetime(2026, 3, 11, 0, 0, tzinfo=SH))
    result = canteen.post("/api/v1/subsidies/expire", {}, expect=200)
    assert result["expired"] == [{"customer_id": cid, "program_id": program, "amount_fen": 700}]
    assert canteen.post("/api/v1/subsidies/expire", {}, expect=200)["total_fen"] == 0   # a second run finds none
    assert canteen.view(cid)["subsidies"] == [{"program_id": program, "balance_fen": 0}]
    assert canteen.ledger_ok() == []


def test_month_end_on_date_and_rollover_policies(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer()
    month_end = canteen.program(name="monthly", expiry_policy="month_end")
    rollover = canteen.program(name="keeps", expiry_policy="rollover")
    on_date = canteen.program(name="term", expiry_policy="on_date", expires_on="2026-03-20")
    for program in (month_end, rollover, on_date):
        canteen.grant(program, [(cid, 1000)])
    canteen.at(datetime(2026, 3, 21, 0, 0, tzinfo=SH))
    expired = canteen.post("/api/v1/subsidies/expire", {}, expect=200)["expired"]
    assert [(e["program_id"], e["amount_fen"]) for e in expired] == [(on_date, 1000)]
    canteen.at(datetime(2026, 4, 1, 0, 0, tzinfo=SH))
    expired = canteen.post("/api/v1/subsidies/expire", {}, expect=200)["expired"]
    assert [(e["program_id"], e["amount_fen"]) for e in expired] == [(month_end, 1000)]
    balances = {s["program_id"]: s["balance_fen"] for s in canteen.view(cid)["subsidies"]}
    assert balances == {month_end: 0, rollover: 1000, on_date: 0}
    assert canteen.ledger_ok() == []


def test_a_new_month_grant_lapses_last_months_money_first(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer()
    program = canteen.program()
    canteen.grant(program, [(cid, 1000)])
    canteen.at(datetime(2026, 4, 2, 9, 0, tzinfo=SH))   # the job did not run; the grant lapses it itself
    canteen.grant(program, [(cid, 3000)])
    assert canteen.view(cid)["subsidies"] == [{"program_id": program, "balance_fen": 3000}]


def test_caps_and_meal_periods_limit_what_subsidy_pays(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=10_000)
    program = canteen.program(kind="meal", meal_periods=["lunch"], per_meal_cap_fen=800, per_day_cap_fen=1000)
    canteen.grant(program, [(cid, 5000)])
    first = canteen.pay(cid, 1000)
    assert [(s["source"], s["amount_fen"]) for s in first["split"]] == [("subsidy", 800), ("wallet", 200)]
    second = canteen.pay(cid, 1000)      # the meal cap is used up this lunch
    assert [(s["source"], s["amount_fen"]) for s in second["split"]] == [("wallet", 1000)]
    dinner = canteen.pay(cid, 1000, meal_period="dinner")     # lunch-only program
    assert [(s["source"], s["amount_fen"]) for s in dinner["split"]] == [("wallet", 1000)]


def test_subsidy_is_not_spent_at_a_merchant_outside_the_program(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=1000)
    program = canteen.program(merchant_ids=[canteen.merchant_id + 100])
    canteen.grant(program, [(cid, 5000)])
    result = canteen.pay(cid, 600)
    assert [(s["source"], s["amount_fen"]) for s in result["split"]] == [("wallet", 600)]


def test_clawback_takes_back_what_is_left_of_a_grant(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=0)
    program = canteen.program()
    canteen.grant(program, [(cid, 1000)])
    grant_id = _grant_ids(canteen)[0]
    canteen.pay(cid, 700)
    response = canteen.client.post(f"/api/v1/subsidy-grants/{grant_id}/clawback", json={"amount_fen": 1100},
                                   headers=canteen.staff)
    assert response.status_code == 422 and response.json()["detail"]["code"] == "bad_clawback_amount"
    part = canteen.post(f"/api/v1/subsidy-grants/{grant_id}/clawback", {"amount_fen": 200}, expect=200)
    assert part["clawed_back_fen"] == 200
    rest = canteen.post(f"/api/v1/subsidy-grants/{grant_id}/clawback", {}, expect=200)
    assert rest["clawed_back_fen"] == 100        # all that is left; the spent 700 stays spent
    assert canteen.view(cid)["subsidies"] == [{"program_id": program, "balance_fen": 0}]
    again = canteen.client.post(f"/api/v1/subsidy-grants/{grant_id}/clawback", json={}, headers=canteen.staff)
    assert again.status_code == 409 and again.json()["detail"]["code"] == "nothing_to_claw_back"
    assert canteen.ledger_ok() == []


def _grant_ids(canteen) -> list[int]:  # noqa: ANN001
    from sqlalchemy import select

    from backend.models.subsidies import Grant

    with canteen.app.state.sessions() as session:
        return list(session.scalars(select(Grant.id).order_by(Grant.id)))


def test_expire_subsidies_command_books_the_lapse(canteen, tmp_path) -> None:  # noqa: ANN001
    cid = canteen.customer()
    program = canteen.program(kind="daily")
    canteen.grant(program, [(cid, 900)])
    env = {"GATEPAY_DATABASE_URL": str(canteen.app.state.settings.database_url),
           "GATEPAY_KEY_FILE": str(tmp_path / "keys.json"), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "terminal.cli", "backend", "expire-subsidies",
                          "--now", (LUNCH + timedelta(days=1)).isoformat()], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "900 fen" in run.stdout
    assert canteen.view(cid)["subsidies"] == [{"program_id": program, "balance_fen": 0}]


def test_oversized_csv_is_refused(canteen) -> None:  # noqa: ANN001
    program = canteen.program()
    big = "customer_id,amount_fen\n" + "1,1\n" * (5 * 1024 * 1024 // 4 + 10)
    response = _import(canteen, program, big, "too-big")
    assert response.status_code == 413 and response.json()["detail"]["code"] == "csv_too_large"


_GARBAGE_CANTEEN: dict[str, object] = {}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(
    st.text(max_size=300),
    st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=8).map(
        lambda rows: "customer_id,amount_fen\n" + "\n".join(f"{a},{b}" for a, b in rows)),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
))
def test_garbage_csv_never_breaks_the_import_or_the_ledger(sqlite_url: str, body: str) -> None:
    app = make_app(sqlite_url)
    with TestClient(app) as client:
        if sqlite_url not in _GARBAGE_CANTEEN:
            c = open_canteen(app, client)
            _GARBAGE_CANTEEN[sqlite_url] = (c, c.program())
        canteen, program = _GARBAGE_CANTEEN[sqlite_url]
        canteen.app, canteen.client = app, client
        response = _import(canteen, program, body, uuid.uuid4().hex)
        assert response.status_code in (200, 422), response.text
        if response.status_code == 200:
            report = response.json()
            assert all(isinstance(e["line"], int) and e["message_zh"] for e in report["errors"])
        assert canteen.ledger_ok() == []


def test_out_of_range_and_unicode_digits_are_bad_rows(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer()
    program = canteen.program()
    csv_text = f"customer_id,amount_fen\n99999999999999999999,5\n１,5\n{cid},９\n{cid},99999999999999999999\n"
    report = _import(canteen, program, csv_text, "edge").json()
    assert [(e["line"], e["code"]) for e in report["errors"]] == [
        (2, "unknown_customer"), (3, "unknown_customer"), (4, "bad_amount"), (5, "bad_amount")]
