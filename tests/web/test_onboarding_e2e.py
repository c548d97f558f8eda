"""Onboarding on the console end to end: headless Chromium (Debian's package) against the real
backend process, starting from an empty backend. An operator follows the Terminals page's first
steps: applies a merchant (an empty name is refused under the field), records its account,
approves it, suspends it (not without a reason) and reinstates it, adds a site, a meal period (an
overlapping one is refused under the field), a lane and offline limits, then an
enrolment code bound to a lane that a terminal really registers with, and disables that terminal
after confirming. A car park gets lanes, a tariff, a member and a blacklisted plate (a bad plate
refused under the field). The page switches to English. Screenshots go to docs/screenshots."""
from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from core.signing import new_private_key, public_key_text
from tests.backend.helpers import TEST_KEYS, make_app, operator_token
from terminal.demo.backend_process import BackendProcess
from tests.web.browser import launched, login, submit
from tests.web.test_admin_e2e import pytestmark, shot  # noqa: F401 - the same skip

@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    yield from launched()


@pytest.fixture
def empty_backend(sqlite_url: str, tmp_path: Path):  # noqa: ANN201
    """A backend with nothing in it but an operator, served by the real process."""
    app = make_app(sqlite_url)
    with TestClient(app):
        token = operator_token(app)
    app.state.engine.dispose()
    env = {f"GATEPAY_{k.upper()}": v for k, v in TEST_KEYS.items()}
    with BackendProcess(sqlite_url, tmp_path, extra_env=env) as backend:
        yield backend.url, token


def error_under(page, form_id: str, name: str) -> str:  # noqa: ANN001
    return page.inner_text(f"form#{form_id} [data-field={name}] .field-error")


def test_operator_onboards_a_canteen_from_an_empty_backend(empty_backend, browser) -> None:  # noqa: ANN001
    url, token = empty_backend
    page = login(browser, url, token)
    page.goto(f"{url}/admin/terminals")
    steps = page.inner_text("#first-steps")
    assert "登记商户" in steps and "▶ 下一步" in steps and "生成注册码" in steps
    shot(page, "terminals-empty")
    page.click("#first-steps tbody tr:first-child a")
    assert page.url.endswith("/admin/merchants")

    submit(page, "apply", name="", account_no="6222000011112222", bank_name="农商银行")
    assert "请填写这一项" in error_under(page, "apply", "name") and "This field is required" in error_under(page, "apply", "name")
    assert "error" in page.get_attribute(".notice", "class")
    assert page.input_value("form#apply [name=account_no]") == "6222000011112222"     # nothing typed is lost
    shot(page, "merchant-apply-error")
    submit(page, "apply", name="第一食堂")
    assert "第一食堂" in page.inner_text(".notice") and "ok" in page.get_attribute(".notice", "class")
    page.click("text=审核通过")
    assert "已通过" in page.inner_text("#facts")
    assert "6222********2222" in page.inner_text("#facts") and "6222000011112222" not in page.content()
    submit(page, "fee", method="face", rate_bp="60", min_fen="0.10", max_fen="5.00")
    assert "0.10" in page.inner_text("#fees") and "5.00" in page.inner_text("#fees")
    submit(page, "suspend", reason="")
    assert "请填写这一项" in error_under(page, "suspend", "reason") and "已通过" in page.inner_text("#facts")
    submit(page, "suspend", reason="合同续签中")
    assert "已暂停" in page.inner_text("#facts") and "合同续签中" in page.inner_text("#facts")
    page.click("#facts button:text('恢复')")
    assert "已通过" in page.inner_text("#facts")
    submit(page, "new-site", name="一号餐厅")
    shot(page, "merchant")
    page.click("#sites a:text('一号餐厅')")

    submit(page, "meal", code="lunch", name_zh="午餐", name_en="Lunch", start="11:00", end="13:00", price_fen="12.50",
           max_meals="1")
    assert "12.50" in page.inner_text("#meal-periods")
    submit(page, "meal", code="brunch", name_zh="早午餐", name_en="Brunch", start="10:00", end="11:30", price_fen="8",
           max_meals="1")
    assert "重叠" in error_under(page, "meal", "start") and "brunch" not in page.inner_text("#meal-periods")
    shot(page, "site-meal-overlap")
    submit(page, "new-lane", name="东门闸机", direction="both")
    assert "东门闸机" in page.inner_text("#lanes")
    submit(page, "limits", per_payment_fen="200", per_customer_day_fen="100")
    assert error_under(page, "limits", "per_payment_fen") and "50.00" in page.inner_text("#offline-limits")
    submit(page, "limits", per_payment_fen="30", max_cache_age_min="720")
    assert "30.00" in page.inner_text("#offline-limits") and "720" in page.inner_text("#offline-limits")

    page.goto(f"{url}/admin/terminals")
    assert page.locator("#first-steps").count() == 1 and "✓" in page.inner_text("#first-steps")
    submit(page, "new-code", site_id=page.locator("form#new-code [name=site_id] option").first.get_attribute("value"),
           lane_id=page.locator("form#new-code [name=lane_id] option").nth(1).get_attribute("value"), name="东门一号机")
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", page.inner_text(".notice")).group(0)
    assert "东门闸机" in page.inner_text("#codes")
    shot(page, "enrolment-code")
    registered = httpx.post(f"{url}/api/v1/terminals/register", json={
        "enrolment_code": code, "public_key": public_key_text(new_private_key()), "hardware_id": "box-1"})
    assert registered.status_code == 201 and registered.json()["lane_id"] is not None

    page.goto(f"{url}/admin/terminals")
    assert page.locator("#first-steps").count() == 0 and "东门一号机" in page.inner_text("#terminals")
    page.click("#terminals a:text('停用')")
    assert "确认停用" in page.inner_text("form#disable")
    shot(page, "terminal-disable-confirm")
    submit(page, "disable", reason="被盗")
    assert "已停用" in page.inner_text("#terminals")

    page.click("#lang-toggle")
    assert "Terminals and enrolment codes" in page.inner_text("h1") and "终端与注册码" not in page.inner_text("h1")
    assert "disabled" in page.inner_text("#terminals") and "已停用" not in page.inner_text("#terminals")
    shot(page, "terminals-en")


def test_operator_sets_up_a_car_park(empty_backend, browser) -> None:  # noqa: ANN001
    url, token = empty_backend
    page = login(browser, url, token)
    page.goto(f"{url}/admin/merchants")
    submit(page, "apply", name="城东停车场", kind="parking", account_no="6222000011113333", bank_name="农商银行")
    page.click("text=城东停车场")
    page.click("text=审核通过")
    submit(page, "new-site", name="地面停车场")
    page.click("#sites a:text('地面停车场')")
    submit(page, "new-lane", name="北出口", direction="exit")
    page.click("text=收费标准、会员、黑名单")

    submit(page, "tariff", free_minutes="30", first_period_fen="6", unit_fen="2.5", daily_cap_fen="40",
           no_entry_fee_fen="abc")
    assert "12.50" in error_under(page, "tariff", "no_entry_fee_fen")       # says how to write an amount
    assert page.inner_text("#tariff-now .empty")                            # nothing saved
    submit(page, "tariff", no_entry_fee_fen="30", monthly_fen="300")
    now = page.inner_text("#tariff-now")
    assert "6.00" in now and "2.50" in now and "40.00" in now and "monthly 300.00" in now

    submit(page, "member", plate="京A-1234", valid_from="2026-01-01", valid_to="2026-01-31", holder_name="张小三")
    assert error_under(page, "member", "plate")
    submit(page, "member", plate="京A12345")
    members = page.inner_text("#members")
    assert "京A12345" in members and "张*三" in members and "张小三" not in page.content()
    submit(page, "blacklist", plate="沪B99999", reason="逃费")
    assert "沪B99999" in page.inner_text("#blacklist-list")
    shot(page, "parking")
