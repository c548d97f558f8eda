"""The signing desk (刷脸签约) in headless Chromium against the real backend process: an operator
uploads a photo with no usable face and is told why in words, signs a diner from two real photos
with consent, limits and a merchant, then is refused a second diner with the same face."""
from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.backend.helpers import TEST_KEYS, bearer, make_app, operator_token
from tests.backend.money_helpers import open_canteen
from terminal.demo.backend_process import BackendProcess
from tests.web.test_admin_e2e import browser, login, pytestmark, shot  # noqa: F401 - a fixture and the same skip

FACES = Path(__file__).resolve().parents[1] / "data" / "faces"


@pytest.fixture
def desk_world(sqlite_url: str, tmp_path: Path):  # noqa: ANN201
    app = make_app(sqlite_url)
    with TestClient(app) as client:
        shop = open_canteen(app, client)
        token = operator_token(app)
        people = [client.post("/api/v1/customers", headers=bearer(token),
                              json={"name": name, "phone": phone}).json()["id"]
                  for name, phone in (("成龙", "13800001234"), ("李四海", "13900005678"))]
    app.state.engine.dispose()
    env = {f"GATEPAY_{k.upper()}": v for k, v in TEST_KEYS.items()}
    with BackendProcess(sqlite_url, tmp_path, extra_env=env) as backend:
        yield {"url": backend.url, "shop": shop, "token": token, "people": people}


def test_an_operator_signs_a_diner_at_the_desk(desk_world, browser) -> None:  # noqa: ANN001
    url, (jackie, other) = desk_world["url"], desk_world["people"]
    page = login(browser, url, desk_world["token"])
    page.goto(f"{url}/admin/signing-desk")
    assert "刷脸签约" in page.inner_text("h1") and "加密保存" in page.inner_text("#desk")

    page.fill("input[name=customer_id]", str(jackie))
    page.set_input_files("input[name=photos]", [str(FACES / "Recep_Tayyip_Erdogan_0004.jpg")])
    page.check("input[name=consent]")
    page.click("#desk button[type=submit]")
    page.wait_for_selector(".verdicts")
    assert "人脸不够正面" in page.inner_text(".verdicts") and "not frontal" in page.inner_text(".verdicts")
    assert "没有可用的照片" in page.inner_text(".notice")

    page.fill("input[name=customer_id]", str(jackie))
    page.set_input_files("input[name=photos]", [str(FACES / "Jackie_Chan_0001.jpg"), str(FACES / "Jackie_Chan_0003.jpg")])
    page.check("input[name=consent]")
    page.fill("input[name=per_payment_yuan]", "25.50")
    page.check(f"input[name=merchant_ids][value='{desk_world['shop'].merchant_id}']")
    page.click("#desk button[type=submit]")
    page.wait_for_selector(".notice")
    assert "签约成功" in page.inner_text(".notice")
    assert page.locator(".verdicts tr.ok").count() == 2
    assert "¥25.50" in page.inner_text("main") and "成*" in page.inner_text("main")
    shot(page, "signing-desk")

    page.fill("input[name=customer_id]", str(other))
    page.set_input_files("input[name=photos]", [str(FACES / "Jackie_Chan_0002.jpg")])
    page.check("input[name=consent]")
    page.click("#desk button[type=submit]")
    page.wait_for_selector(".notice")
    assert "已签约给另一位客户" in page.inner_text(".notice")
    shot(page, "signing-desk-duplicate")

    page.select_option("#face-confirm select[name=enabled]", "no")
    page.fill("#face-confirm input[name=band_pct]", "50")
    page.click("#face-confirm button[type=submit]")
    page.wait_for_selector(".notice")
    assert "四位数字确认已关闭" in page.inner_text(".notice") and "band 50%" in page.inner_text(".notice")
    assert "(关 50%)" in page.inner_text("#face-confirm select[name=site_id]")
