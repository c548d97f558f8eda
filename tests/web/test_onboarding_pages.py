"""Onboarding on /admin in process (real app, real database): roles as the API has them (a
merchant admin only on its own merchant, an auditor never posts), garbage, oversize and
truncated form values refused under their field with nothing changed, the zh/en toggle, an error
never shown in green, and pagination."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend.models.merchants import Lane, MealPeriodRow, Merchant, MerchantFee, Site
from backend.models.terminals import EnrolmentCode, Terminal
from tests.backend.helpers import make_app, make_merchant_site, operator_token
from tests.web.test_admin_pages import csrf_of


@pytest.fixture
def app(sqlite_url: str):  # noqa: ANN201
    app = make_app(sqlite_url)
    with TestClient(app, base_url="http://127.0.0.1"):
        yield app


class Shop:
    """One logged-in browser (its own cookie jar) on the app."""

    def __init__(self, app, token: str):  # noqa: ANN001
        self.app = app
        self.client = TestClient(app, base_url="http://127.0.0.1")
        form = self.client.get("/admin/login")
        response = self.client.post("/admin/login", data={"token": token, "csrf": csrf_of(form.text)},
                                    follow_redirects=False)
        assert response.status_code == 303, response.text

    def post(self, path: str, **data: str):  # noqa: ANN201
        csrf = csrf_of(self.client.get("/admin/merchants").text)
        return self.client.post(path, data={"csrf": csrf, **data})

    def count(self, model) -> int:  # noqa: ANN001
        with self.app.state.sessions() as s:
            return s.scalar(select(func.count()).select_from(model))


def field_error(html: str, name: str) -> str:
    """The error shown under field `name` (empty when none)."""
    block = re.search(rf'data-field="{name}">(.*?)</div>', html, re.S)
    found = block and re.search(r'class="field-error"[^>]*>(.*?)</p>', block.group(1), re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)) if found else ""


def test_merchant_lifecycle_fees_and_masked_account(app) -> None:  # noqa: ANN001
    op = Shop(app, operator_token(app))
    made = op.post("/admin/merchants", name="一食堂", kind="canteen", timezone="Asia/Shanghai",
                   business_day_cutoff="00:00", account_no="", bank_name="")
    assert made.status_code == 200 and "一食堂" in made.text and "待审核" in made.text
    with app.state.sessions() as s:
        mid = s.scalar(select(Merchant.id).where(Merchant.name == "一食堂"))
    refused = op.post(f"/admin/merchants/{mid}/approve")            # no settlement account yet
    assert refused.status_code == 409 and 'class="notice error"' in refused.text and "结算账户" in refused.text
    bad = op.post(f"/admin/merchants/{mid}/account", account_no="12ab", bank_name="农商银行")
    assert bad.status_code == 422 and field_error(bad.text, "account_no")
    op.post(f"/admin/merchants/{mid}/account", account_no="6222000011112222", bank_name="农商银行")
    page = op.client.get(f"/admin/merchants/{mid}").text
    assert "6222********2222" in page and "6222000011112222" not in page
    assert "已通过" in op.post(f"/admin/merchants/{mid}/approve").text
    fee = op.post(f"/admin/merchants/{mid}/fees", method="face", rate_bp="60", min_fen="0.10", max_fen="5")
    assert fee.status_code == 200
    with app.state.sessions() as s:
        row = s.scalar(select(MerchantFee).where(MerchantFee.merchant_id == mid))
        assert (row.rate_bp, row.min_fen, row.max_fen) == (60, 10, 500)
    too_precise = op.post(f"/admin/merchants/{mid}/fees", method="face", rate_bp="60", min_fen="0.105", max_fen="")
    assert too_precise.status_code == 422 and "two decimals" in field_error(too_precise.text, "min_fen").replace("2 ", "two ")
    no_reason = op.post(f"/admin/merchants/{mid}/suspend", reason="")
    assert no_reason.status_code == 422 and "required" in field_error(no_reason.text, "reason")
    assert "已暂停" in op.post(f"/admin/merchants/{mid}/suspend", reason="合同到期").text
    assert "已通过" in op.post(f"/admin/merchants/{mid}/reinstate").text


def test_garbage_oversize_and_truncated_values_change_nothing(app) -> None:  # noqa: ANN001
    op = Shop(app, operator_token(app))
    ids = make_merchant_site(app, "canteen")
    before = (op.count(Merchant), op.count(Lane), op.count(MealPeriodRow), op.count(EnrolmentCode))
    tries = [
        ("/admin/merchants", {"name": "x" * 201, "kind": "canteen", "timezone": "Asia/Shanghai",
                              "business_day_cutoff": "00:00"}, "name"),
        ("/admin/merchants", {"name": "食堂", "kind": "bakery", "timezone": "Asia/Shanghai",
                              "business_day_cutoff": "00:00"}, "kind"),
        ("/admin/merchants", {"name": "食堂", "kind": "canteen", "timezone": "Mars/Olympus",
                              "business_day_cutoff": "00:00"}, "timezone"),
        ("/admin/merchants", {"name": "食堂", "kind": "canteen", "timezone": "Asia/Shanghai",
                              "business_day_cutoff": "24:0"}, "business_day_cutoff"),
        (f"/admin/sites/{ids['site_id']}/lanes", {"name": "a\x00b", "direction": "exit"}, "name"),
        (f"/admin/sites/{ids['site_id']}/meal-periods", {"code": "lunch", "name_zh": "午餐", "name_en": "Lunch",
                                                         "start": "11:00", "end": "13:00", "price_fen": "1e3",
                                                         "max_meals": "1"}, "price_fen"),
        (f"/admin/sites/{ids['site_id']}/meal-periods", {"code": "lunch", "name_zh": "午餐", "name_en": "Lunch",
                                                         "start": "11:0"}, "end"),
        ("/admin/terminals/enrolment-codes", {"site_id": "99999999999999", "name": "一号机"}, "site_id"),
        ("/admin/terminals/enrolment-codes", {"site_id": str(ids["site_id"]), "name": "一号机",
                                              "valid_hours": "9999"}, "valid_hours"),
    ]
    for path, data, name in tries:
        response = op.post(path, **data)
        assert response.status_code == 422, (path, data, response.text[:500])
        assert field_error(response.text, name), (path, name)
        assert 'class="notice error"' in response.text and 'class="notice ok"' not in response.text
    assert (op.count(Merchant), op.count(Lane), op.count(MealPeriodRow), op.count(EnrolmentCode)) == before
    zone = op.post("/admin/merchants", name="食堂", kind="canteen", timezone="Mars/Olympus", business_day_cutoff="00:00")
    assert "未知时区" in field_error(zone.text, "timezone") and "Asia/Shanghai" in field_error(zone.text, "timezone")


def test_merchant_admin_acts_only_on_its_own_merchant_and_auditor_never_posts(app) -> None:  # noqa: ANN001
    mine, theirs = make_merchant_site(app, "canteen"), make_merchant_site(app, "parking")
    admin = Shop(app, operator_token(app, "merchant_admin", merchant_id=mine["merchant_id"]))
    assert admin.client.get(f"/admin/merchants/{theirs['merchant_id']}").status_code == 404
    assert admin.client.get(f"/admin/sites/{theirs['site_id']}").status_code == 404
    assert admin.post(f"/admin/sites/{theirs['site_id']}/lanes", name="偷偷", direction="exit").status_code == 404
    assert admin.post(f"/admin/merchants/{mine['merchant_id']}/approve").status_code == 403   # operators only
    assert admin.post(f"/admin/sites/{mine['site_id']}/offline-limits", per_payment_fen="1", per_customer_day_fen="1",
                      terminal_total_fen="1", max_cache_age_min="1").status_code == 403
    assert admin.post(f"/admin/sites/{mine['site_id']}/lanes", name="东门", direction="both").status_code == 200
    codes = admin.client.get("/admin/terminals").text
    assert f'value="{theirs["site_id"]}"' not in codes and f'value="{mine["site_id"]}"' in codes
    stolen = admin.post("/admin/terminals/enrolment-codes", site_id=str(theirs["site_id"]), name="x",
                        lane_id=str(theirs["lane_id"]))
    assert stolen.status_code == 422 and field_error(stolen.text, "site_id")

    auditor = Shop(app, operator_token(app, "auditor"))
    assert auditor.client.get(f"/admin/sites/{theirs['site_id']}/parking").status_code == 200
    lanes = auditor.count(Lane)
    for path in (f"/admin/sites/{mine['site_id']}/lanes", "/admin/merchants", "/admin/terminals/enrolment-codes",
                 f"/admin/sites/{theirs['site_id']}/parking/blacklist", f"/admin/merchants/{mine['merchant_id']}/sites"):
        assert auditor.post(path, name="x", direction="exit", plate="京A12345", reason="x").status_code == 403, path
    assert auditor.count(Lane) == lanes and 'action="/admin/merchants"' not in auditor.client.get("/admin/merchants").text


def test_disable_asks_to_confirm_first_and_the_terminal_is_then_refused(app) -> None:  # noqa: ANN001
    from tests.backend.helpers import register_terminal

    ids = make_merchant_site(app, "canteen")
    with TestClient(app) as client:
        terminal_id, _key = register_terminal(client, app, ids["merchant_id"], ids["site_id"])
    op = Shop(app, operator_token(app))
    listing = op.client.get("/admin/terminals").text
    assert f'href="/admin/terminals/{terminal_id}/disable"' in listing
    confirm = op.client.get(f"/admin/terminals/{terminal_id}/disable")
    assert confirm.status_code == 200 and "确认停用" in confirm.text
    with app.state.sessions() as s:
        assert s.get(Terminal, terminal_id).status == "active"          # looking at the confirm page changes nothing
    done = op.post(f"/admin/terminals/{terminal_id}/disable", reason="被盗 stolen")
    assert done.status_code == 200 and "已停用" in done.text
    with app.state.sessions() as s:
        assert s.get(Terminal, terminal_id).status == "disabled"
    assert "已重新启用" in op.post(f"/admin/terminals/{terminal_id}/enable").text


def test_language_toggle_pagination_and_local_times(app) -> None:  # noqa: ANN001
    for n in range(53):
        make_merchant_site(app, "canteen", name=f"食堂{n:02d}")
    op = Shop(app, operator_token(app))
    first = op.client.get("/admin/merchants").text
    assert "第 1/2 页" in first and "Page 1 of 2" in first and "食堂00" in first and "食堂52" not in first
    second = op.client.get("/admin/merchants?page=2").text
    assert "第 2/2 页" in second and "食堂52" in second
    assert "第 1/2 页" in op.client.get("/admin/merchants?page=zz'--").text
    switched = op.client.get("/admin/lang?to=en&next=/admin/merchants?page=2", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/admin/merchants?page=2"
    english = op.client.get("/admin/merchants?page=2").text
    assert "Page 2 of 2" in english and "第 2/2 页" not in english and "Merchants" in english
    away = op.client.get("/admin/lang?to=zh&next=https://evil.example/", follow_redirects=False)
    assert away.headers["location"] == "/admin"


def test_offline_limits_are_typed_in_yuan_and_checked_together(app) -> None:  # noqa: ANN001
    ids = make_merchant_site(app, "canteen")
    op = Shop(app, operator_token(app))
    path = f"/admin/sites/{ids['site_id']}/offline-limits"
    wrong = op.post(path, per_payment_fen="200", per_customer_day_fen="100", terminal_total_fen="5000",
                    max_cache_age_min="1440")
    assert wrong.status_code == 422 and field_error(wrong.text, "per_payment_fen"), wrong.text[-3000:]
    ok = op.post(path, per_payment_fen="30.5", per_customer_day_fen="100", terminal_total_fen="5000",
                 max_cache_age_min="720")
    assert ok.status_code == 200
    with app.state.sessions() as s:
        site = s.get(Site, ids["site_id"])
        assert (site.offline_per_payment_fen, site.offline_max_cache_age_s) == (3050, 720 * 60)


def test_a_huge_form_body_is_refused_before_it_is_read(app) -> None:  # noqa: ANN001
    op = Shop(app, operator_token(app))
    before = op.count(Merchant)
    response = op.post("/admin/merchants", name="食" * 100_000, kind="canteen", timezone="Asia/Shanghai",
                       business_day_cutoff="00:00")
    assert response.status_code == 413 and op.count(Merchant) == before


def test_a_car_park_terminal_code_needs_a_lane_of_that_car_park(app) -> None:  # noqa: ANN001
    park, other = make_merchant_site(app, "parking"), make_merchant_site(app, "parking")
    op = Shop(app, operator_token(app))
    before = op.count(EnrolmentCode)
    no_lane = op.post("/admin/terminals/enrolment-codes", site_id=str(park["site_id"]), name="北出口机", lane_id="")
    assert no_lane.status_code == 422 and "通道" in field_error(no_lane.text, "lane_id")
    wrong_lane = op.post("/admin/terminals/enrolment-codes", site_id=str(park["site_id"]), name="北出口机",
                         lane_id=str(other["lane_id"]))
    assert wrong_lane.status_code == 422 and "does not belong" in field_error(wrong_lane.text, "lane_id")
    assert op.count(EnrolmentCode) == before
    made = op.post("/admin/terminals/enrolment-codes", site_id=str(park["site_id"]), name="北出口机",
                   lane_id=str(park["lane_id"]), valid_hours="2")
    assert made.status_code == 200 and "valid 2 h" in made.text
    with app.state.sessions() as s:
        code = s.scalar(select(EnrolmentCode).order_by(EnrolmentCode.id.desc()))
        assert (code.lane_id, code.scene) == (park["lane_id"], "parking")
