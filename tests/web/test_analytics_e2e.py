"""The analytics page in headless Chromium against the real backend process: an operator reads a
fortnight of a canteen's payments (peak hours as bars, trends, method mix, repeat diners, subsidy
take-up) with no diner's name on it, and the screenshot for docs/MARKETING.md
(docs/screenshots/admin-web-analytics.png)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from terminal.demo.backend_process import BackendProcess
from tests.backend.helpers import TEST_KEYS, make_app
from tests.backend.money_helpers import open_canteen, payment_body
from tests.web.browser import launched, login
from tests.web.test_admin_e2e import pytestmark, shot  # noqa: F401 - the same skip

SHANGHAI = timezone(timedelta(hours=8))
NAMES = ("张小三", "李四海", "王五一", "赵六二", "钱七三", "孙八四", "周九五", "吴十六")
# (local hour, minute, which diners, price): breakfast for some, lunch for all, dinner for a few
MEALS = ((7, 40, slice(0, 5), 600, "breakfast"), (12, 5, slice(0, 8), 1500, "lunch"),
         (18, 20, slice(0, 3), 1300, "dinner"))


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    from tests.conftest import new_sqlite_db

    folder = tmp_path_factory.mktemp("analytics")
    url = new_sqlite_db(sqlite_template, folder)
    app = make_app(url)
    today = datetime.now(SHANGHAI).date()
    with TestClient(app) as client:
        shop = open_canteen(app, client, pin=False)     # the backend process runs on the real clock
        diners = [shop.customer(name, wallet_fen=100_000) for name in NAMES]
        program = shop.program(name="午餐补贴")
        shop.grant(program, [(cid, 3000) for cid in diners])
        seq = 0
        for days_ago in range(14, 0, -1):
            day = today - timedelta(days=days_ago)
            if day.weekday() >= 5:
                continue                                 # the canteen is closed at weekends
            for hour, minute, who, price, meal in MEALS:
                for n, cid in enumerate(diners[who]):
                    seq += 1
                    at = datetime(day.year, day.month, day.day, hour, minute + n, tzinfo=SHANGHAI)
                    paid = client.post("/api/v1/terminal/payments", auth=shop.auth, json=payment_body(
                        cid, price, offline=True, terminal_seq=seq, occurred_at=at, meal_period=meal))
                    assert paid.json()["status"] == "approved", paid.text
    app.state.engine.dispose()
    env = {f"GATEPAY_{k.upper()}": v for k, v in TEST_KEYS.items()}
    with BackendProcess(url, folder, extra_env=env) as backend:
        yield {"url": backend.url, "token": shop.token}


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    yield from launched()


def test_operator_reads_the_analytics(world, browser) -> None:  # noqa: ANN001
    page = login(browser, world["url"], world["token"], height=900)
    page.click("nav >> text=数据分析")
    page.wait_for_url(f"{world['url']}/admin/analytics")
    text = page.inner_text("main")
    assert "12:00" in text and "07:00" in text and page.locator("#peak-hours meter").count() >= 2
    assert "<5" in text                                    # dinner: three diners
    for name in NAMES:
        assert name not in text and f"{name[0]}*{name[-1]}" not in text
    assert "午餐补贴" in text and "回头客" in text
    shot(page, "analytics")
    page.context.close()
