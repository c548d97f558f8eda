"""The console's daily money tasks in headless Chromium against the real backend process: find a
customer by phone, deposit into the wallet, sign a card by typing its number, refund part of a
payment (a double click refunds once), export the filtered payments. One browser and one backend
for the module. Screenshots go to docs/screenshots (admin-web-*.png)."""
from __future__ import annotations

import base64
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from core.crypto import keyed_hash
from terminal.demo.backend_process import BackendProcess
from tests.backend.helpers import TEST_KEYS, make_app
from tests.backend.money_helpers import open_canteen
from tests.conftest import new_sqlite_db
from tests.web.browser import launched, login
from tests.web.test_admin_e2e import pytestmark, shot  # noqa: F401 - the same skip

PHONE = "13912345678"
CARD = "6222021001123456"


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A canteen with a diner (phone on file, ¥200 in the wallet) who paid twice, served by the real backend."""
    folder = tmp_path_factory.mktemp("console-money")
    url = new_sqlite_db(sqlite_template, folder)
    app = make_app(url)
    with TestClient(app) as client:
        shop = open_canteen(app, client, pin=False)    # the backend process runs on the real clock
        diner = shop.post("/api/v1/customers", {"name": "张小三", "phone": PHONE})["id"]
        shop.deposit(diner, 20_000)
        meal = shop.post(f"/api/v1/customers/{diner}/signings/card", {
            "card_hash": "cd" * 32, "per_payment_limit_fen": 5000, "per_day_limit_fen": 20000})
        payments = [shop.pay(diner, amount, credential={"kind": "card", "card_hash": "cd" * 32})["payment_id"]
                    for amount in (1800, 650)]
        assert meal["status"] == "active"
    app.state.engine.dispose()
    env = {f"GATEPAY_{k.upper()}": v for k, v in TEST_KEYS.items()}
    with BackendProcess(url, folder, extra_env=env) as backend:
        yield {"url": backend.url, "token": shop.token, "diner": diner, "payments": payments, "shop": shop,
               "db": url}


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    yield from launched()


@pytest.fixture
def page(world, browser):  # noqa: ANN001, ANN201
    tab = login(browser, world["url"], world["token"], height=900)
    yield tab
    tab.context.close()


def wallet_fen(world, page) -> int:  # noqa: ANN001
    """The wallet cell of the customer's page, in fen."""
    page.goto(f"{world['url']}/admin/customers/{world['diner']}")
    yuan, _, fen = page.locator("section >> nth=0").locator("tbody td >> nth=5").inner_text().partition(".")
    return int(yuan) * 100 + int(fen)


def test_find_a_customer_by_phone(world, page) -> None:  # noqa: ANN001
    page.goto(f"{world['url']}/admin/customers")
    page.fill("form[action='/admin/customers/search'] input[name=phone]", PHONE)
    page.click("form[action='/admin/customers/search'] button")
    found = page.locator("section >> nth=0")
    assert "139****5678" in found.inner_text() and "张*三" in found.inner_text()
    assert PHONE not in page.url and "张小三" not in page.inner_text("main")
    shot(page, "customer-search")
    page.fill("form[action='/admin/customers/search'] input[name=phone]", "123")
    page.click("form[action='/admin/customers/search'] button")
    assert "11" in page.inner_text("[data-field=phone] .field-error")
    shot(page, "customer-search-error")


def test_deposit_into_the_wallet_once_per_form(world, page) -> None:  # noqa: ANN001
    base = f"/admin/customers/{world['diner']}"
    before = wallet_fen(world, page)
    form = page.locator(f"form[action='{base}/deposit']")
    form.locator("input[name=amount]").fill("50.5")
    form.locator("button").dblclick()                  # a double click: the same key twice
    page.wait_for_selector(".notice")
    shot(page, "customer-deposit")
    assert wallet_fen(world, page) == before + 5050


def test_sign_a_card_by_typing_its_number(world, page) -> None:  # noqa: ANN001
    base = f"/admin/customers/{world['diner']}"
    page.goto(f"{world['url']}{base}")
    form = page.locator(f"form[action='{base}/signings/card']")
    form.locator("input[name=per_payment]").fill("30")
    form.locator("input[name=per_day]").fill("100")
    card = form.locator("input[name=card_number]")
    card.press_sequentially("6222 0210 0112 3456")     # as a person types it; a USB swipe reader types
    card.press("Enter")                                # the digits and then Enter, which sends the form
    page.wait_for_selector(".notice")
    assert "签约成功" in page.inner_text(".notice") and CARD not in page.content()
    assert "30.00" in page.inner_text("section#signings")
    shot(page, "customer-card-signing")
    engine = create_engine(world["db"])
    with engine.connect() as db:
        hashes = set(db.execute(text("SELECT card_hash FROM signings WHERE kind = 'card'")).scalars())
    engine.dispose()
    assert keyed_hash(base64.b64decode(TEST_KEYS["card_hash_key"]), CARD, "card") in hashes


def test_refund_part_of_a_payment_once(world, page) -> None:  # noqa: ANN001
    paid = world["payments"][0]
    page.goto(f"{world['url']}/admin/payments")
    page.click(f"a[href='/admin/payments/{paid}']")
    assert "Ledger lines" in page.inner_text("main") and "18.00" in page.inner_text("section >> nth=0")
    form = page.locator(f"form[action='/admin/payments/{paid}/refund']")
    form.locator("input[name=amount]").fill("6")
    form.locator("input[name=reason]").fill("少打一份菜 one dish missing")
    form.locator("button").dblclick()
    page.wait_for_selector(".notice")
    page.goto(f"{world['url']}/admin/payments/{paid}")
    refunds = page.inner_text("section >> nth=4")
    assert refunds.count("6.00") == 1 and "少打一份菜" in refunds, refunds
    assert "12.00" in page.inner_text("form[action$='/refund'] legend")       # ¥18 paid, ¥6 back: ¥12 left
    shot(page, "payment-refund")


def test_export_the_filtered_payments(world, page, tmp_path: Path) -> None:  # noqa: ANN001
    page.goto(f"{world['url']}/admin/payments")
    page.fill("form[action='/admin/payments/search'] input[name=min_yuan]", "10")
    page.click("form[action='/admin/payments/search'] button")
    page.wait_for_url("**/admin/payments?min_yuan=10")
    listed = page.inner_text("section >> nth=0")
    assert "18.00" in listed and "6.50" not in listed
    shot(page, "payments")
    with page.expect_download() as download:
        page.click("a[href^='/admin/payments.csv']")
    exported = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    assert world["payments"][0] in exported and world["payments"][1] not in exported
    assert exported.splitlines()[0].startswith("time,business_date,merchant")
    assert uuid.UUID(exported.splitlines()[1].split(",")[-1])
