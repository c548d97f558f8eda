"""Settlement through the real API: totals and funding split, fees with min/max/fee-free,
byte-identical re-runs, closed days never rewritten, late items as adjustments, the ledger."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from backend.settlement.run import day_end
from core.clock import DEFAULT_START
from tests.backend.helpers import bearer, make_app, operator_token
from tests.backend.money_helpers import open_canteen, payment_body

SHANGHAI = timezone(timedelta(hours=8))
# The canteen's clock is pinned (open_canteen): payments are made at NOW, settlement runs are moved.
NOW = DEFAULT_START.astimezone(SHANGHAI)
TODAY = NOW.date()
YESTERDAY = TODAY - timedelta(days=1)
DAY = TODAY.isoformat()


def morning_after(day) -> datetime:  # noqa: ANN001
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), SHANGHAI) + timedelta(hours=9)


@pytest.fixture
def canteen(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    with TestClient(app) as client:
        yield open_canteen(app, client)


def pay_yesterday(canteen, customer_id: int, amount_fen: int, seq: int) -> dict:  # noqa: ANN001
    """An offline payment made yesterday noon, pushed now (its business date is yesterday)."""
    at = datetime.combine(YESTERDAY, datetime.min.time(), SHANGHAI) + timedelta(hours=12)
    response = canteen.client.post("/api/v1/terminal/payments", auth=canteen.auth, json=payment_body(
        customer_id, amount_fen, offline=True, terminal_seq=seq, occurred_at=at))
    assert response.status_code == 200 and response.json()["status"] == "approved", response.text
    return response.json()


def set_fees(canteen, fees: list[dict]) -> None:  # noqa: ANN001
    response = canteen.client.put(f"/api/v1/merchants/{canteen.merchant_id}/fees", headers=canteen.staff,
                                  json={"fees": fees})
    assert response.status_code == 200, response.text


def run_day(canteen, day: str = DAY, at: datetime | None = None) -> dict:  # noqa: ANN001
    """Run settlement as if it were `at` (default: the morning after `day`)."""
    canteen.at(at or morning_after(datetime.fromisoformat(day).date()))
    try:
        response = canteen.client.post("/api/v1/settlement/runs", headers=canteen.staff,
                                       json={"business_date": day})
    finally:
        canteen.at(NOW)
    assert response.status_code == 200, response.text
    return response.json()


def mine(result: dict, merchant_id: int) -> dict:
    return next(d for d in result["closed"] if d["merchant_id"] == merchant_id)


def download(canteen, day: str, fmt: str, token: str | None = None) -> bytes:  # noqa: ANN001
    response = canteen.client.get(f"/api/v1/settlement/days/{day}/payout.{fmt}",
                                  headers=bearer(token) if token else canteen.staff)
    assert response.status_code == 200, response.text
    return response.content


def test_a_day_settles_gross_refunds_split_fees_and_net_and_the_ledger_holds(canteen) -> None:  # noqa: ANN001
    set_fees(canteen, [{"method": "face", "rate_bp": 60, "min_fen": 10, "max_fen": 500}])
    program = canteen.program()
    cid = canteen.customer(wallet_fen=10_000)
    canteen.grant(program, [(cid, 800)])
    first = canteen.pay(cid, 1500)            # 800 subsidy + 700 wallet; fee 9 -> min 10
    canteen.pay(cid, 1000)                    # wallet; fee 6 -> min 10
    canteen.pay(cid, 2000)                    # wallet; fee 12
    canteen.refund(first["payment_id"], 500)
    day = mine(run_day(canteen), canteen.merchant_id)
    assert day["payments"] == 3 and day["gross_fen"] == 4500 and day["refunds_fen"] == 500
    assert day["subsidy_fen"] == {str(program): 800} and day["wallet_fen"] == 3700
    assert day["fees_by_method"] == {"face": 32} and day["fees_fen"] == 32
    assert day["net_fen"] == 4500 - 500 - 32
    assert canteen.ledger_ok() == []


def test_fee_maximum_and_fee_free_methods(canteen) -> None:  # noqa: ANN001
    set_fees(canteen, [{"method": "face", "rate_bp": 100, "min_fen": 0, "max_fen": 50}])
    cid = canteen.customer(wallet_fen=100_000)
    canteen.pay(cid, 20_000)                  # 1% = 200 -> capped at 50
    assert mine(run_day(canteen), canteen.merchant_id)["fees_fen"] == 50
    other = open_canteen(canteen.app, canteen.client)
    other_cid = other.customer(wallet_fen=100_000)
    response = canteen.client.put(f"/api/v1/merchants/{other.merchant_id}/fees", headers=canteen.staff, json={
        "fees": [{"method": "face", "rate_bp": 100, "min_fen": 10, "max_fen": 50, "fee_free": True}]})
    assert response.status_code == 200, response.text
    other.pay(other_cid, 20_000)
    day = mine(run_day(canteen), other.merchant_id)
    assert day["fees_fen"] == 0 and day["net_fen"] == 20_000


def test_rerun_gives_byte_identical_files_and_never_rewrites_a_closed_day(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=10_000)
    canteen.pay(cid, 1200)
    first = run_day(canteen)
    csv1, xlsx1 = download(canteen, DAY, "csv"), download(canteen, DAY, "xlsx")
    again = run_day(canteen, at=morning_after(TODAY) + timedelta(hours=3))
    assert again["closed"] == [] and canteen.merchant_id in again["already_closed"]
    assert (again["csv_sha256"], again["xlsx_sha256"]) == (first["csv_sha256"], first["xlsx_sha256"])
    assert download(canteen, DAY, "csv") == csv1 and download(canteen, DAY, "xlsx") == xlsx1
    rows = list(csv.DictReader(io.StringIO(csv1.decode("utf-8-sig"))))
    row = next(r for r in rows if int(r["merchant_id"]) == canteen.merchant_id)
    assert (row["net_fen"], row["net_yuan"], row["action"]) == ("1200", "12.00", "pay")


def test_offline_payment_after_cutoff_and_refund_of_earlier_day_go_to_next_day_as_adjustments(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=10_000)
    paid = pay_yesterday(canteen, cid, 1000, seq=1)
    yesterday = YESTERDAY.isoformat()
    closed = mine(run_day(canteen, yesterday, at=NOW), canteen.merchant_id)
    assert closed["gross_fen"] == 1000
    # another of yesterday's offline payments arrives after the close, and yesterday's is refunded
    pay_yesterday(canteen, cid, 700, seq=2)
    canteen.refund(paid["payment_id"], 300)
    assert run_day(canteen, yesterday)["closed"] == []            # yesterday stays as it was
    days = canteen.client.get("/api/v1/settlement/days", headers=canteen.staff,
                              params={"merchant_id": canteen.merchant_id}).json()
    assert next(d for d in days if d["business_date"] == yesterday) == closed
    today = mine(run_day(canteen), canteen.merchant_id)
    assert today["gross_fen"] == 0 and today["refunds_fen"] == 0
    assert sorted((a["kind"], a["original_date"], a["amount_fen"]) for a in today["adjustments"]) == [
        ("payment", yesterday, 700), ("refund", yesterday, -300)]
    assert today["adjustments_fen"] == 400 and today["net_fen"] == 400
    assert canteen.ledger_ok() == []


def test_a_day_not_yet_over_is_not_closed(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=10_000)
    canteen.pay(cid, 500)
    result = run_day(canteen, at=NOW)
    assert canteen.merchant_id in result["not_over"] and result["closed"] == []


def test_day_end_follows_cutoff_and_time_zone() -> None:
    from backend.models.merchants import Merchant

    merchant = Merchant(timezone="Asia/Shanghai", business_day_cutoff="04:00")
    assert day_end(merchant, "2026-03-10") == datetime(2026, 3, 11, 4, 0, tzinfo=SHANGHAI)
    merchant.timezone = "Europe/Berlin"
    assert day_end(merchant, "2026-03-10") == datetime(2026, 3, 11, 3, 0, tzinfo=timezone.utc)


def test_roles_on_settlement_endpoints(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=10_000)
    canteen.pay(cid, 900)
    other = open_canteen(canteen.app, canteen.client)
    auditor = operator_token(canteen.app, "auditor")
    admin = operator_token(canteen.app, "merchant_admin", merchant_id=other.merchant_id)
    body = {"business_date": DAY}
    assert canteen.client.post("/api/v1/settlement/runs", json=body).status_code == 401
    for token in (auditor, admin):
        assert canteen.client.post("/api/v1/settlement/runs", json=body, headers=bearer(token)).status_code == 403
    run_day(canteen)
    seen = canteen.client.get("/api/v1/settlement/days", headers=bearer(admin)).json()
    assert {d["merchant_id"] for d in seen} == {other.merchant_id}
    rows = download(canteen, DAY, "csv", admin).decode("utf-8-sig").splitlines()
    assert len(rows) == 2 and f",{other.merchant_id}," in rows[1]
    assert len(download(canteen, DAY, "csv", auditor).decode("utf-8-sig").splitlines()) == 3
    for day in ("2026-13-40", "0001-01-01", "9999-12-31"):
        bad = canteen.client.get(f"/api/v1/settlement/days/{day}/payout.csv", headers=canteen.staff)
        assert bad.status_code == 422 and bad.json()["detail"]["message_zh"]
        again = canteen.client.post("/api/v1/settlement/runs", headers=canteen.staff, json={"business_date": day})
        assert again.status_code == 422


def test_settle_command_writes_the_same_files_twice(canteen, tmp_path) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from backend.cli import app as backend_cli

    cid = canteen.customer(wallet_fen=10_000)
    pay_yesterday(canteen, cid, 900, seq=1)
    env = {"GATEPAY_DATABASE_URL": canteen.app.state.settings.database_url,
           "GATEPAY_KEY_FILE": str(tmp_path / "keys.json")}
    day = YESTERDAY.isoformat()
    outputs = []
    for n in range(2):
        out = tmp_path / f"run{n}"
        result = CliRunner().invoke(backend_cli, ["settle", "--day", day, "--out", str(out)], env=env)
        assert result.exit_code == 0, result.output
        outputs.append(((out / f"payout-{day}.csv").read_bytes(), (out / f"payout-{day}.xlsx").read_bytes()))
    assert outputs[0] == outputs[1] and b",900," in outputs[0][0]
    bad = CliRunner().invoke(backend_cli, ["settle", "--day", "2026-02-30"], env=env)
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_settlement_tables_match_the_models(db_url: str) -> None:
    from tests.backend.helpers import schema_drift

    mine = {"settlement_days", "settlement_items", "settlement_payout_files", "channel_reconciliations",
            "reconciliation_items", "terminal_shifts"}
    assert [d for d in schema_drift(db_url) if any(name in str(d) for name in mine)] == []


def test_a_day_with_more_refunds_than_sales_collects_and_the_ledger_holds(canteen) -> None:  # noqa: ANN001
    set_fees(canteen, [{"method": "face", "rate_bp": 60, "min_fen": 10, "max_fen": 500}])
    cid = canteen.customer(wallet_fen=10_000)
    paid = pay_yesterday(canteen, cid, 3000, seq=1)
    run_day(canteen, YESTERDAY.isoformat(), at=NOW)
    canteen.refund(paid["payment_id"], 3000)         # today: no sales, one refund of yesterday's
    canteen.pay(cid, 500)                            # and one small sale (fee 10)
    today = mine(run_day(canteen), canteen.merchant_id)
    assert (today["gross_fen"], today["fees_fen"], today["adjustments_fen"], today["net_fen"]) == (500, 10, -3000, -2510)
    row = next(r for r in csv.DictReader(io.StringIO(download(canteen, DAY, "csv").decode("utf-8-sig")))
               if int(r["merchant_id"]) == canteen.merchant_id)
    assert (row["net_yuan"], row["action"]) == ("-25.10", "collect")
    assert canteen.ledger_ok() == []
