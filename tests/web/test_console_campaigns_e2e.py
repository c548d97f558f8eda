"""Campaigns in headless Chromium against the real backend process: an operator creates a fixed
reduction on the console (a 满减 with a reduction not below its threshold is refused under the
field first), a diner pays at the canteen's terminal, and the campaign's page shows the
discounted payment and the budget it spent; a coupon campaign's coupon issued to the diner shows
on the customer's record. Screenshots go to docs/screenshots/console-campaigns*.png."""
from __future__ import annotations

import io
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from sync.auth import TerminalAuth
from terminal.demo.backend_process import BackendProcess
from tests.backend.helpers import TEST_KEYS, make_app
from tests.backend.money_helpers import open_canteen, payment_body
from tests.conftest import new_sqlite_db
from tests.web.browser import launched, login
from tests.web.test_admin_e2e import SHOTS, pytestmark  # noqa: F401 - the same skip


def shot(page, suffix: str = "") -> None:  # noqa: ANN001
    """docs/screenshots/console-campaigns<suffix>.png, small (128 colours) like the others."""
    png = page.screenshot(full_page=True)
    Image.open(io.BytesIO(png)).convert("RGB").quantize(128).save(SHOTS / f"console-campaigns{suffix}.png",
                                                                  optimize=True)


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A canteen with a diner signed by face (¥100 in the wallet), served by the real backend."""
    folder = tmp_path_factory.mktemp("console-campaigns")
    url = new_sqlite_db(sqlite_template, folder)
    app = make_app(url)
    with TestClient(app) as client:
        shop = open_canteen(app, client, pin=False)    # the backend process runs on the real clock
        diner = shop.customer("张小三", wallet_fen=10_000)
    app.state.engine.dispose()
    env = {f"GATEPAY_{k.upper()}": v for k, v in TEST_KEYS.items()}
    with BackendProcess(url, folder, extra_env=env) as backend:
        yield {"url": backend.url, "shop": shop, "diner": diner}


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    yield from launched()


def fill_campaign(page, **values: str) -> None:  # noqa: ANN001
    """Fill the create form (ticking checkboxes given "yes") and send it."""
    form = page.locator("form#new-campaign")
    for name, value in values.items():
        field = form.locator(f"[name={name}]")
        kind = field.evaluate("e => e.tagName + ':' + e.type")
        if kind == "SELECT:select-one":
            field.select_option(value)
        elif kind == "INPUT:checkbox":
            field.check()
        else:
            field.fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_create_a_campaign_and_see_a_discounted_payment_in_its_figures(world, browser) -> None:  # noqa: ANN001
    url, shop = world["url"], world["shop"]
    page = login(browser, url, shop.token, height=900)
    page.goto(f"{url}/admin/campaigns")
    fill_campaign(page, name="满减有误", kind="threshold", threshold="3", amount="3", budget="100")
    assert "减额须小于门槛" in page.inner_text("form#new-campaign [data-field=amount] .field-error")
    shot(page, "-error")
    page.goto(f"{url}/admin/campaigns")
    fill_campaign(page, name="午餐立减 3 元", kind="fixed", amount="3", budget="100",
                  merchant_ids=str(shop.merchant_id), scene_canteen="yes", activate="yes")
    page.wait_for_url(f"{url}/admin/campaigns/*")
    assert "活动已建立" in page.inner_text(".notice") and "进行中" in page.inner_text("#figures")

    paid_id = str(uuid.uuid4())
    with httpx.Client(base_url=url) as terminal:     # the canteen's terminal, online, signed requests
        answer = terminal.post("/api/v1/terminal/payments", auth=TerminalAuth(shop.key, shop.terminal_id),
                               json=payment_body(world["diner"], 1500, paid_id,
                                                 occurred_at=datetime.now(timezone.utc))).json()
    assert (answer["status"], answer["discount_fen"], answer["paid_fen"]) == ("approved", 300, 1200)

    page.reload()
    figures = page.inner_text("#figures")
    assert "3.00" in figures and "97.00" in figures       # spent and left, in yuan
    uses = page.inner_text("#uses")
    assert paid_id in uses and "15.00" in uses and "3.00" in uses
    shot(page)
    page.goto(f"{url}/admin/campaigns")
    assert "午餐立减 3 元" in page.inner_text("#campaigns") and "97.00" in page.inner_text("#campaigns")
    shot(page, "-list")


def test_issue_a_coupon_and_see_it_on_the_customer_record(world, browser) -> None:  # noqa: ANN001
    url, shop, diner = world["url"], world["shop"], world["diner"]
    page = login(browser, url, shop.token, height=900)
    page.goto(f"{url}/admin/campaigns")
    fill_campaign(page, name="新生欢迎券", kind="percent", percent_off="20", cap="5", budget="200", mode="coupon",
                  activate="yes")
    page.wait_for_url(f"{url}/admin/campaigns/*")
    form = page.locator("form#issue")
    form.locator("[name=customer_ids]").fill(str(diner))
    form.locator("[name=expires_on]").fill((date.today() + timedelta(days=30)).isoformat())
    form.locator("button").dblclick()                  # a double click: the same issue id twice
    page.wait_for_selector(".notice")
    assert "已发券 1 张" in page.inner_text(".notice") and page.locator("#coupons tbody tr").count() == 1
    page.goto(f"{url}/admin/customers/{diner}")
    coupons = page.inner_text("#coupons")
    assert "新生欢迎券" in coupons and "未使用" in coupons
    shot(page, "-customer")
