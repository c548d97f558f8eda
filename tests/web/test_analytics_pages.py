"""The analytics page and the marketing controls in process (real app, SQLite and PostgreSQL):
totals per hour, day, week, method, repeat diners and subsidy take-up with no diner's name, masked
name or customer link on the page; a cell of fewer than 5 diners shown as "<5"; a merchant admin
sees its own merchant only and no grants; bad dates answered in words; opting a customer out on
their page and choosing the habit-offer campaign, each for the roles that may."""
from __future__ import annotations

import html as markup
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.backend.campaign_helpers import campaign
from tests.backend.helpers import make_app, operator_token
from tests.backend.money_helpers import open_canteen
from tests.web.test_admin_pages import browser, csrf_of

NAMES = ("张小三", "李四海", "王五一", "赵六二", "钱七三", "孙八四")


@pytest.fixture
def shop(db_url: str):  # noqa: ANN201
    """Six diners (a lunch subsidy each) lunching at 12:00 on day one, three of them again on day
    two, and one alone at 20:00 on day two."""
    app = make_app(db_url)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        shop = open_canteen(app, client)
        diners = [shop.customer(name, wallet_fen=10_000) for name in NAMES]
        program = shop.program(name="午餐补贴")
        shop.grant(program, [(cid, 500) for cid in diners])
        shop.first_day = shop.now()
        for cid in diners:
            shop.pay(cid, 1200)
        shop.at(shop.first_day + timedelta(days=1))
        for cid in diners[:3]:
            shop.pay(cid, 1000)
        shop.at(shop.first_day + timedelta(days=1, hours=8))
        shop.pay(diners[5], 800, meal_period=None)
        shop.diners = diners
        yield shop


def window(shop) -> str:  # noqa: ANN001
    day = shop.first_day.date()
    return f"start={day - timedelta(days=1)}&end={day + timedelta(days=6)}"


def row(html: str, section: str, first: str) -> list[str]:
    """The cells of the row starting with `first` in the section with id or title `section`."""
    part = html.split(section, 1)[1].split("</table>", 1)[0]
    for tr in re.findall(r"<tr>(.*?)</tr>", part, re.S):
        cells = [markup.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td>(.*?)</td>", tr, re.S)]
        if cells and cells[0].startswith(first):
            return cells
    raise AssertionError(f"no row {first} in {section}")


def test_totals_with_small_groups_hidden_and_no_personal_data(shop) -> None:  # noqa: ANN001
    client = browser(shop, shop.token)
    page = client.get(f"/admin/analytics?{window(shop)}")
    assert page.status_code == 200, page.text
    html = page.text
    for name in NAMES:                                    # no name, masked name or customer link
        assert name not in html and f"{name[0]}*{name[-1]}" not in html
    assert "/admin/customers/" not in html and "customer_id" not in html
    assert row(html, 'id="peak-hours"', "12:00")[:3] == ["12:00", "9", "102.00"]    # 6 + 3 lunches
    assert row(html, 'id="peak-hours"', "20:00")[1:3] == ["<5", "<5"]            # one diner alone
    day_one, day_two = shop.first_day.date(), shop.first_day.date() + timedelta(days=1)
    assert row(html, "Daily trend", str(day_one))[1:] == ["6", "72.00"]
    assert row(html, "Daily trend", str(day_two))[1:] == ["<5", "<5"]            # 4 diners that day
    assert row(html, "Weekly trend", str(day_one - timedelta(days=day_one.weekday())))[1:] == ["10", "110.00"]
    assert row(html, "Method mix", "刷脸")[1:] == ["10", "110.00"]
    assert row(html, "Repeat diners", "6") == ["6", "4", "66%"]     # three lunches and the evening one
    granted, spent = row(html, "Subsidy take-up", "午餐补贴")[1:3]
    assert granted == "30.00" and 0 < float(spent) <= 30      # six diners: shown
    assert 'id="habit-offers"' in html and "&lt;5" in html


def test_merchant_admin_sees_its_own_merchant_and_no_grants(shop) -> None:  # noqa: ANN001
    own = browser(shop, operator_token(shop.app, "merchant_admin", merchant_id=shop.merchant_id))
    html = own.get(f"/admin/analytics?{window(shop)}&merchant=999").text   # another merchant's id is ignored
    assert row(html, "Daily trend", str(shop.first_day.date()))[1:] == ["6", "72.00"]
    assert "Granted" not in html and row(html, "Subsidy take-up", "午餐补贴")[1] != ""
    other = open_canteen(shop.app, shop.client)
    stranger = browser(shop, operator_token(shop.app, "merchant_admin", merchant_id=other.merchant_id))
    html = stranger.get(f"/admin/analytics?{window(shop)}").text
    assert "72.00" not in html and "12:00" not in html
    auditor = browser(shop, operator_token(shop.app, "auditor"))
    html = auditor.get(f"/admin/analytics?{window(shop)}").text
    assert "72.00" in html and 'id="habit-offers"' not in html
    assert TestClient(shop.app, base_url="http://127.0.0.1").get("/admin/analytics").status_code == 401


def test_bad_dates_are_answered_in_words(shop) -> None:  # noqa: ANN001
    client = browser(shop, shop.token)
    for query in ("start=2026-13-45", "end=abc", "start=" + "9" * 3000, "start=2026-03-02%00", "merchant=-1&end=x"):
        page = client.get(f"/admin/analytics?{query}")
        assert page.status_code == 200 and "YYYY-MM-DD" in page.text, query
    wide = client.get("/admin/analytics?start=2020-01-01&end=2026-03-31")
    assert wide.status_code == 200 and "92" in wide.text


def test_opt_out_on_the_customer_page_and_the_habit_offer_choice(shop) -> None:  # noqa: ANN001
    client = browser(shop, shop.token)
    cid = shop.diners[0]
    csrf = csrf_of(client.get(f"/admin/customers/{cid}").text)
    out = client.post(f"/admin/customers/{cid}/marketing", data={"out": "yes", "csrf": csrf})
    assert out.status_code == 200 and "已退出营销" in out.text
    api = shop.client.get(f"/api/v1/customers/{cid}/marketing-opt-out", headers=shop.staff).json()
    assert api["opted_out"] is True
    assert client.post(f"/admin/customers/{cid}/marketing", data={"out": "maybe", "csrf": csrf}).status_code == 422
    assert client.post(f"/admin/customers/{cid}/marketing", data={"out": "no"}).status_code in (400, 403)   # no CSRF
    back = client.post(f"/admin/customers/{cid}/marketing", data={"out": "no", "csrf": csrf})
    assert back.status_code == 200 and "已恢复营销" in back.text
    auditor = browser(shop, operator_token(shop.app, "auditor"))
    refused = auditor.post(f"/admin/customers/{cid}/marketing", data={"out": "yes", "csrf": csrf_of(
        auditor.get(f"/admin/customers/{cid}").text)})
    assert refused.status_code == 403
    coupons = campaign(shop, kind="fixed", amount_fen=200, budget_fen=10_000, mode="coupon")
    instant = campaign(shop, kind="fixed", amount_fen=100, budget_fen=10_000)
    chosen = client.post("/admin/marketing/habit-offer", data={"campaign_id": str(coupons["id"]), "on": "yes",
                                                               "csrf": csrf})
    assert chosen.status_code == 200 and f"活动 {coupons['id']} 已用作习惯优惠" in chosen.text
    wrong = client.post("/admin/marketing/habit-offer", data={"campaign_id": str(instant["id"]), "on": "yes",
                                                              "csrf": csrf})
    assert wrong.status_code == 409 and "发券活动" in wrong.text
    for garbage in ("", "x", "-1", "9" * 40):
        assert client.post("/admin/marketing/habit-offer", data={"campaign_id": garbage, "on": "yes",
                                                                 "csrf": csrf}).status_code == 422, garbage
    assert client.post("/admin/marketing/habit-offer", data={"campaign_id": "999999", "on": "yes",
                                                             "csrf": csrf}).status_code == 404
