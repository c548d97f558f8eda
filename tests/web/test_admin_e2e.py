"""The admin page end to end: headless Chromium (Debian's package) against the real backend
process on loopback. An operator logs in, uploads a grant CSV with bad rows, settles a day and
downloads its payout file, uploads a channel statement, reads a terminal's shift and a report;
a merchant admin logs in and sees only its own merchant. Screenshots go to docs/screenshots."""
from __future__ import annotations

import io
import shutil
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from backend.reconciliation.channel_file import StatementRow, write_statement
from sync.auth import TerminalAuth
from tests.backend.helpers import TEST_KEYS, make_app, operator_token
from tests.backend.money_helpers import open_canteen, payment_body
from tests.web.browser import CHROMIUM, FLAGS, launched, login  # noqa: F401 - FLAGS: the walkthrough takes it from here
from terminal.demo.backend_process import BackendProcess

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHANGHAI = timezone(timedelta(hours=8))

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
                                reason="Debian's chromium package is not installed (CI installs it)")


def shot(page, name: str) -> None:  # noqa: ANN001
    """Save a small screenshot (128 colours, like the kiosk's) for docs/."""
    png = page.screenshot(full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    Image.open(io.BytesIO(png)).convert("RGB").quantize(128).save(SHOTS / f"admin-web-{name}.png", optimize=True)


@pytest.fixture
def world(sqlite_url: str, tmp_path: Path):  # noqa: ANN201
    """A canteen with diners, a subsidy, yesterday's payments, and the real backend serving it."""
    app = make_app(sqlite_url)
    yesterday = datetime.now(SHANGHAI).date() - timedelta(days=1)
    with TestClient(app) as client:
        shop = open_canteen(app, client, pin=False)   # a real backend process serves it on the real clock
        client.put(f"/api/v1/merchants/{shop.merchant_id}/fees", headers=shop.staff, json={"fees": [
            {"method": "face", "rate_bp": 60, "min_fen": 10, "max_fen": 500}]})
        program = shop.program(name="午餐补贴")
        diners = [shop.customer(name, wallet_fen=20_000) for name in ("张小三", "李四海", "王五")]
        shop.grant(program, [(diners[0], 1500)])
        at = datetime.combine(yesterday, datetime.min.time(), SHANGHAI) + timedelta(hours=12)
        for seq, (cid, amount) in enumerate([(diners[0], 1800), (diners[1], 1200), (diners[2], 950)], start=1):
            response = client.post("/api/v1/terminal/payments", auth=shop.auth, json=payment_body(
                cid, amount, offline=True, terminal_seq=seq, occurred_at=at + timedelta(minutes=seq)))
            assert response.json()["status"] == "approved", response.text
        other = open_canteen(app, client)
        admin_token = operator_token(app, "merchant_admin", merchant_id=other.merchant_id)
    app.state.engine.dispose()
    env = {f"GATEPAY_{k.upper()}": v for k, v in TEST_KEYS.items()}
    with BackendProcess(sqlite_url, tmp_path, extra_env=env) as backend:
        yield {"shop": shop, "backend": backend, "day": yesterday.isoformat(), "program": program,
               "diner": diners[0], "admin_token": admin_token, "other": other}


@pytest.fixture
def browser():  # noqa: ANN201
    yield from launched()


def test_operator_runs_the_day_end_to_end(world, browser, tmp_path: Path) -> None:  # noqa: ANN001
    url, shop, day = world["backend"].url, world["shop"], world["day"]
    anonymous = browser.new_page()
    refused = anonymous.goto(f"{url}/admin/merchants")
    assert refused.status == 401 and anonymous.locator("input[name=token]").count() == 1
    anonymous.set_viewport_size({"width": 1280, "height": 800})
    shot(anonymous, "login")
    page = login(browser, url, shop.token)
    cookie = next(c for c in page.context.cookies() if c["name"] == "gp_admin")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    page.goto(f"{url}/admin/merchants")
    assert "商户" in page.inner_text("h1") and str(shop.merchant_id) in page.inner_text("section >> nth=0")
    shot(page, "merchants")
    page.goto(f"{url}/admin/merchants/{shop.merchant_id}")          # its fees are on the merchant's page
    assert "60" in page.inner_text("#fees")
    page.goto(f"{url}/admin/customers")
    text = page.inner_text("main")
    assert "张*三" in text and "张小三" not in text
    shot(page, "customers")

    page.goto(f"{url}/admin/subsidies")
    csv_file = tmp_path / "grants.csv"
    csv_file.write_text(f"customer_id,amount_fen\n{world['diner']},800\n{world['diner']},zero\n424242,100\n",
                        encoding="utf-8")
    page.set_input_files("input[name=file]", str(csv_file))
    page.click("form[action='/admin/subsidies/grants'] button")
    page.wait_for_selector(".problems")
    problems = page.inner_text(".problems")
    assert "3" in problems and "4" in problems and "已入账 1 行" in page.inner_text(".notice")
    shot(page, "subsidies-bad-rows")

    page.goto(f"{url}/admin/settlement")
    page.fill("input[name=business_date]", day)
    page.click("form[action='/admin/settlement/run'] button")
    page.wait_for_selector(".notice")
    assert "本次结算 2 个商户" in page.inner_text(".notice")
    table = page.inner_text("section >> nth=1")
    assert "39.50" in table and "交易额（元）" in table   # gross 1800 + 1200 + 950 fen, under a yuan label
    shot(page, "settlement")
    with page.expect_download() as download:
        page.click(f"a[href='/admin/settlement/{day}/payout.csv']")
    payout = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    assert f",{shop.merchant_id}," in payout and "pay" in payout

    # the terminal closes its shift against the real backend, one payment still queued
    queued = str(uuid.uuid4())
    with httpx.Client(base_url=url) as terminal:
        closed = terminal.post("/api/v1/terminal/shift-close", auth=TerminalAuth(shop.key, shop.terminal_id), json={
            "shift_id": f"{day}-A", "opened_at": (datetime.now(timezone.utc) - timedelta(days=2)).isoformat(),
            "closed_at": datetime.now(timezone.utc).isoformat(), "queued_payment_ids": [queued],
            "payments": [{"payment_id": queued, "method": "face", "amount_fen": 600}],
            "totals": [{"method": "face", "count": 1, "amount_fen": 600}]})
    assert closed.status_code == 200 and closed.json()["push_payment_ids"] == [queued]
    statement = tmp_path / "statement.csv"
    statement.write_bytes(write_statement("bank_card", day, [StatementRow(
        "refund:" + str(uuid.uuid4()), "refund", 300, datetime.now(SHANGHAI), "CB1")]))
    page.goto(f"{url}/admin/reconciliation")
    page.set_input_files("input[name=file]", str(statement))
    page.click("form[action='/admin/reconciliation/statement'] button")
    page.wait_for_selector(".notice")
    body = page.inner_text("main")
    assert "我方缺 1" in page.inner_text(".notice") and "missing_ours" in body and "push_needed" in body
    shot(page, "reconciliation")

    page.goto(f"{url}/admin/reports?name=subsidy-programs&month={day[:7]}")
    assert "午餐补贴" in page.inner_text("main")
    shot(page, "reports")
    page.goto(f"{url}/admin/terminals")
    shot(page, "terminals")


def test_merchant_admin_sees_only_its_own_merchant(world, browser) -> None:  # noqa: ANN001
    url, other = world["backend"].url, world["other"]
    page = login(browser, url, world["admin_token"])
    page.goto(f"{url}/admin/merchants")
    rows = page.locator("section >> nth=0").locator("tbody tr")
    assert rows.count() == 1 and rows.first.inner_text().startswith(str(other.merchant_id))
    response = page.goto(f"{url}/admin/customers")
    assert response.status == 403 and "无权访问" in page.inner_text("h1")
    assert page.locator("form[action='/admin/settlement/run']").count() == 0
