"""The marketing reports through the real API and the console (issue 17): per campaign (coupons
issued to date and used, discounted payments, sales, refunds, discount cost net of refunds, budget left),
per merchant and campaign, the funder's statement (opening, discounts, given back, closing); xlsx
opened; a merchant admin sees only its own merchant; no personal data in any row."""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.backend.campaign_invariants import campaign_problems
from tests.backend.helpers import bearer, make_app, operator_token
from tests.backend.money_helpers import open_canteen
from tests.web.test_admin_pages import browser

NAMES = ("李小安", "王大宝")


@pytest.fixture
def canteen(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield open_canteen(app, client)


def local_now(canteen) -> datetime:  # noqa: ANN001
    """The backend's time in its own zone (reports cut months and days there)."""
    return canteen.now(ZoneInfo(canteen.app.state.settings.timezone))


def month_of(canteen) -> str:  # noqa: ANN001
    return local_now(canteen).strftime("%Y-%m")


def rows(canteen, name: str, token: str | None = None, month: str | None = None) -> list[dict]:  # noqa: ANN001
    response = canteen.client.get(f"/api/v1/reports/{name}", headers=bearer(token) if token else canteen.staff,
                                  params={"month": month or month_of(canteen)})
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def a_day_of_two_campaigns(canteen) -> dict:  # noqa: ANN001
    """The bank's 满减 (500 off from 20.00) and the merchant's own coupon (1.00 off): three
    payments, a partial refund of the bank's and a full refund of a coupon's."""
    ann, bob = (canteen.customer(name, wallet_fen=20_000) for name in NAMES)
    bank = canteen.post("/api/v1/campaigns", {"name": "银行满减", "kind": "threshold", "threshold_fen": 2000,
                                              "amount_fen": 500, "budget_fen": 10_000, "status": "active",
                                              "merchant_ids": [canteen.merchant_id]})
    own = canteen.post("/api/v1/campaigns", {"name": "本店券", "kind": "fixed", "amount_fen": 100, "mode": "coupon",
                                             "budget_fen": 1000, "status": "active", "funder_kind": "merchant",
                                             "funder_merchant_id": canteen.merchant_id,
                                             "merchant_ids": [canteen.merchant_id]})
    canteen.post(f"/api/v1/campaigns/{own['id']}/coupons", {
        "issue_id": "lunch", "customer_ids": [ann, bob], "expires_at": (canteen.now() + timedelta(days=3)).isoformat()})
    big = canteen.pay(ann, 3000)                 # bank 500 off: paid 2500
    small = canteen.pay(ann, 1000)               # ann's coupon: 100 off
    bobs = canteen.pay(bob, 1200)                # bob's coupon: 100 off
    assert (big["discount_fen"], small["discount_fen"], bobs["discount_fen"]) == (500, 100, 100)
    assert canteen.refund(big["payment_id"], 1000)["campaign_fen"] == 166     # floor(500 * 1000 / 3000)
    assert canteen.refund(bobs["payment_id"], 1200)["campaign_fen"] == 100    # all back; coupon restored
    return {"bank": bank["id"], "own": own["id"], "payments": (big, small, bobs)}


def test_per_campaign_per_merchant_and_the_funders_statement(canteen) -> None:  # noqa: ANN001
    made = a_day_of_two_campaigns(canteen)
    by_campaign = {r["campaign_id"]: r for r in rows(canteen, "campaigns")}
    figures = ("funder", "coupons_issued_to_date", "coupons_used", "payments", "sales_fen", "refunded_fen",
               "discount_cost_fen", "budget_left_fen")
    assert tuple(by_campaign[made["bank"]][f] for f in figures) == ("bank", 0, 0, 1, 3000, 1000, 334, 10_000 - 334)
    assert tuple(by_campaign[made["own"]][f] for f in figures) == ("merchant", 2, 1, 1, 2200, 1200, 100, 900)
    per_merchant = [(r["merchant_id"], r["campaign_id"], r["payments"], r["sales_fen"], r["discount_cost_fen"])
                    for r in rows(canteen, "campaign-merchants")]
    assert per_merchant == [(canteen.merchant_id, made["bank"], 1, 3000, 334),
                            (canteen.merchant_id, made["own"], 1, 2200, 100)]
    statement = [(r["funder"], r["funder_merchant_id"], r["day"], r["opening_fen"], r["discounts_fen"],
                  r["given_back_fen"], r["settled_fen"], r["closing_fen"]) for r in rows(canteen, "campaign-funders")]
    day = local_now(canteen).date().isoformat()
    assert statement == [("bank", None, day, 0, 500, 166, 0, -334),
                         ("merchant", canteen.merchant_id, day, 0, 200, 100, 0, -100)]
    assert campaign_problems(canteen.app) == []


def test_next_month_opens_with_the_last_closing(canteen) -> None:  # noqa: ANN001
    a_day_of_two_campaigns(canteen)
    now = local_now(canteen)
    following = (now.replace(day=1) + timedelta(days=32)).strftime("%Y-%m")
    statement = [(r["funder"], r["day"], r["opening_fen"], r["closing_fen"])
                 for r in rows(canteen, "campaign-funders", month=following)]
    assert statement == [("bank", "", -334, -334), ("merchant", "", -100, -100)]
    earlier = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    assert rows(canteen, "campaign-funders", month=earlier) == []
    assert all(r["payments"] == 0 for r in rows(canteen, "campaigns", month=following))


def test_a_merchant_admin_sees_its_own_merchant_only_and_no_personal_data(canteen) -> None:  # noqa: ANN001
    made = a_day_of_two_campaigns(canteen)
    other = open_canteen(canteen.app, canteen.client)
    mine = operator_token(canteen.app, "merchant_admin", merchant_id=canteen.merchant_id)
    theirs = operator_token(canteen.app, "merchant_admin", merchant_id=other.merchant_id)
    assert [r["campaign_id"] for r in rows(canteen, "campaigns", mine)] == [made["own"]]   # not the bank's budget
    assert {r["campaign_id"] for r in rows(canteen, "campaign-merchants", mine)} == {made["bank"], made["own"]}
    assert [r["funder"] for r in rows(canteen, "campaign-funders", mine)] == ["merchant"]
    for name in ("campaigns", "campaign-merchants", "campaign-funders"):
        assert rows(canteen, name, theirs) == []
        response = canteen.client.get(f"/api/v1/reports/{name}", params={"month": month_of(canteen),
                                                                         "format": "csv"}, headers=canteen.staff)
        assert response.status_code == 200
        assert not any(person in response.text for person in NAMES + ("customer",))


def test_xlsx_opens_with_the_figures_and_the_console_shows_them(canteen) -> None:  # noqa: ANN001
    made = a_day_of_two_campaigns(canteen)
    month = month_of(canteen)
    response = canteen.client.get("/api/v1/reports/campaigns", params={"month": month, "format": "xlsx"},
                                  headers=canteen.staff)
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = table[0]
    assert header[:3] == ["month", "campaign_id", "campaign"] and "budget_left_fen" in header
    own = next(dict(zip(header, r)) for r in table[1:] if r[1] == made["own"])
    assert (own["campaign"], own["coupons_issued_to_date"], own["discount_cost_fen"], own["budget_left_fen"]) == (
        "本店券", 2, 100, 900)
    console = browser(canteen, operator_token(canteen.app, "merchant_admin", merchant_id=canteen.merchant_id))
    page = console.get("/admin/reports", params={"name": "campaign-funders", "month": month})
    assert page.status_code == 200 and "活动出资方对账单" in page.text and "-¥1.00" in page.text
    assert "银行 bank" not in page.text                       # the bank's statement is not the merchant's
    download = console.get(f"/admin/reports/campaigns.xlsx?month={month}")
    assert download.status_code == 200
    assert [r[1] for r in load_workbook(io.BytesIO(download.content)).active.iter_rows(min_row=2, values_only=True)] \
        == [made["own"]]
