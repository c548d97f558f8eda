"""Reports through the real API: subsidy usage numbers (granted, spent, expired, clawed back),
sales per day/meal period/method, parking, terminal health; CSV streams, xlsx opens; roles."""
from __future__ import annotations

import io
import uuid
from datetime import timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from backend.models.parking import ParkingSession
from backend.models.subsidies import Grant
from core.clock import DEFAULT_START
from tests.backend.helpers import bearer, make_app, make_merchant_site, operator_token
from tests.backend.money_helpers import open_canteen

SHANGHAI = timezone(timedelta(hours=8))
NOW = DEFAULT_START.astimezone(SHANGHAI)          # the canteen's pinned clock (open_canteen)
MONTH = NOW.strftime("%Y-%m")


@pytest.fixture
def canteen(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    with TestClient(app) as client:
        yield open_canteen(app, client)


def get(canteen, name: str, token: str | None = None, **params):  # noqa: ANN001, ANN003, ANN201
    return canteen.client.get(f"/api/v1/reports/{name}", headers=bearer(token) if token else canteen.staff,
                              params={"month": MONTH, **params})


def rows(canteen, name: str, **params) -> list[dict]:  # noqa: ANN001, ANN003
    response = get(canteen, name, **params)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def test_subsidy_usage_granted_spent_expired_clawed_back(canteen) -> None:  # noqa: ANN001
    monthly = canteen.program(name="午餐补贴")
    daily = canteen.program(name="早餐补贴", kind="daily")
    ann, bob = canteen.customer("李小安", wallet_fen=5000), canteen.customer("王大宝", wallet_fen=5000)
    canteen.grant(monthly, [(ann, 3000), (bob, 2000)])
    cat = canteen.customer("赵小猫")
    canteen.grant(daily, [(cat, 400)])                 # never spent: it lapses
    paid = canteen.pay(ann, 1000)                      # 1000 from the monthly subsidy
    canteen.refund(paid["payment_id"], 200)            # 200 back to it
    canteen.pay(bob, 500)
    with canteen.app.state.sessions() as session:
        grant_id = session.scalar(select(Grant.id).where(Grant.customer_id == bob, Grant.program_id == monthly))
    assert canteen.post(f"/api/v1/subsidy-grants/{grant_id}/clawback", {"amount_fen": 300}, expect=200)
    canteen.at(NOW + timedelta(days=1, hours=1))     # the daily allowance lapses
    assert canteen.post("/api/v1/subsidies/expire", {}, expect=200)["total_fen"] == 400
    canteen.at(NOW)
    by_program = {r["program_id"]: r for r in rows(canteen, "subsidy-programs")}
    assert (by_program[monthly]["granted_fen"], by_program[monthly]["spent_fen"], by_program[monthly]["expired_fen"],
            by_program[monthly]["clawed_back_fen"]) == (5000, 1300, 0, 300)
    assert (by_program[daily]["granted_fen"], by_program[daily]["expired_fen"]) == (400, 400)
    people = {(r["program_id"], r["customer_id"]): r for r in rows(canteen, "subsidy-beneficiaries")}
    assert people[(monthly, ann)]["name_masked"] == "李*安" and people[(monthly, ann)]["spent_fen"] == 800
    assert people[(monthly, bob)]["clawed_back_fen"] == 300
    merchants = rows(canteen, "subsidy-merchants")
    assert [(r["merchant_id"], r["program_id"], r["spent_fen"]) for r in merchants] == [
        (canteen.merchant_id, monthly, 1300)]


def test_sales_per_day_meal_period_and_method_and_exports(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=10_000)
    canteen.pay(cid, 1000, meal_period="lunch")
    canteen.pay(cid, 600, meal_period="lunch")
    done = canteen.pay(cid, 300, meal_period="breakfast")
    canteen.refund(done["payment_id"], 100)
    sales = rows(canteen, "sales")
    day = NOW.date().isoformat()
    assert [(r["business_date"], r["meal_period"], r["method"], r["payments"], r["amount_fen"], r["net_fen"])
            for r in sales] == [(day, "breakfast", "face", 1, 300, 200), (day, "lunch", "face", 2, 1600, 1600)]
    streamed = get(canteen, "sales", format="csv")
    assert streamed.status_code == 200 and streamed.headers["content-type"].startswith("text/csv")
    lines = streamed.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("merchant_id,business_date") and len(lines) == 3
    sheet = load_workbook(io.BytesIO(get(canteen, "sales", format="xlsx").content)).active
    assert [c.value for c in sheet[1]][:4] == ["merchant_id", "business_date", "meal_period", "method"]
    assert sheet.max_row == 3
    assert get(canteen, "sales", format="xlsx").content == get(canteen, "sales", format="xlsx").content


def test_parking_revenue_occupancy_and_terminal_health(canteen) -> None:  # noqa: ANN001
    park = make_merchant_site(canteen.app, "parking")
    now = canteen.now()
    with canteen.app.state.sessions() as session:
        session.add_all([
            ParkingSession(id=str(uuid.uuid4()), site_id=park["site_id"], plate="京A12345", plate_colour="blue",
                           status="exited", entered_at=now - timedelta(hours=3), exited_at=now - timedelta(hours=1),
                           paid_fen=800),
            ParkingSession(id=str(uuid.uuid4()), site_id=park["site_id"], plate="京B12345", plate_colour="blue",
                           status="inside", entered_at=now - timedelta(hours=2))])
        session.commit()
    parking = rows(canteen, "parking")
    assert [(r["site_id"], r["entries"], r["exits"], r["revenue_fen"], r["inside_now"]) for r in parking] == [
        (park["site_id"], 2, 1, 800, 1)]
    canteen.client.get("/api/v1/terminal/time", auth=canteen.auth)     # the terminal is seen now
    health = rows(canteen, "terminal-health")
    assert [(r["terminal_id"], r["online"]) for r in health] == [(canteen.terminal_id, "online")]
    canteen.at(now + timedelta(hours=1))
    assert rows(canteen, "terminal-health")[0]["online"] == "offline"


def test_report_roles_and_bad_input(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=10_000)
    canteen.pay(cid, 1000)
    other = open_canteen(canteen.app, canteen.client)
    admin = operator_token(canteen.app, "merchant_admin", merchant_id=other.merchant_id)
    auditor = operator_token(canteen.app, "auditor")
    assert get(canteen, "sales", admin).json()["rows"] == []            # only its own merchant
    assert len(get(canteen, "sales", auditor).json()["rows"]) == 1
    assert get(canteen, "subsidy-beneficiaries", admin).status_code == 403
    assert canteen.client.get("/api/v1/reports/sales", params={"month": MONTH}).status_code == 401
    assert get(canteen, "no-such-report").status_code == 404
    for month in ("2026-13", "20261", "2026-1x", "0001-01", "9999-12"):
        response = canteen.client.get("/api/v1/reports/sales", params={"month": month}, headers=canteen.staff)
        assert response.status_code == 422 and response.json()["detail"]["message_zh"]
    assert get(canteen, "sales", format="pdf").status_code == 422


def test_report_command_writes_csv_and_xlsx(canteen, tmp_path) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from backend.cli import app as backend_cli

    cid = canteen.customer(wallet_fen=10_000)
    canteen.pay(cid, 1000)
    env = {"GATEPAY_DATABASE_URL": canteen.app.state.settings.database_url,
           "GATEPAY_KEY_FILE": str(tmp_path / "keys.json")}
    for suffix in ("csv", "xlsx"):
        out = tmp_path / f"sales.{suffix}"
        result = CliRunner().invoke(backend_cli, ["report", "sales", "--month", MONTH, "--out", str(out)], env=env)
        assert result.exit_code == 0, result.output
        assert "1 rows written" in result.output and out.stat().st_size > 0
    bad = CliRunner().invoke(backend_cli, ["report", "sales", "--month", "2026-13", "--out", str(tmp_path / "x.csv")],
                             env=env)
    assert bad.exit_code == 2
