"""The console's campaign pages in process (real app, real database, SQLite and PostgreSQL):
create a campaign of each kind, the API's refusals under the field they concern, the status flow
(activate, pause, resume, end after a confirmation), coupons issued once per form to customers
and a group and shown on the customer's record, what each role may see and do, and garbage or
oversize input refused with nothing created. The browser flow is test_console_campaigns_e2e.py."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend.models.campaigns import Campaign
from backend.services import campaign_slices
from tests.backend.helpers import make_app, operator_token
from tests.backend.money_helpers import open_canteen
from tests.web.test_admin_pages import browser, csrf_of
from tests.web.test_console_money import field_error, form_value


@pytest.fixture
def shop(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield open_canteen(app, client)


def new_campaign(client: TestClient, csrf: str, **fields: str):  # noqa: ANN201
    """Post the create form: a bank-funded fixed reduction of 3.00 unless told otherwise."""
    data = {"name": "午餐立减", "kind": "fixed", "mode": "instant", "funder": "bank", "amount": "3",
            "budget": "500", "csrf": csrf, **fields}
    return client.post("/admin/campaigns", data={k: v for k, v in data.items() if v is not None},
                       follow_redirects=False)


def created_id(response) -> int:  # noqa: ANN001
    assert response.status_code == 303, response.text
    return int(re.search(r"/admin/campaigns/(\d+)", response.headers["location"]).group(1))


def count(shop) -> int:  # noqa: ANN001
    with shop.app.state.sessions() as session:
        return session.scalar(select(func.count()).select_from(Campaign))


def view(shop, campaign_id: int) -> dict:  # noqa: ANN001
    response = shop.client.get(f"/api/v1/campaigns/{campaign_id}", headers=shop.staff)
    assert response.status_code == 200, response.text
    return response.json()


def day(shop, days: int) -> str:  # noqa: ANN001
    return (shop.now() + timedelta(days=days)).date().isoformat()


def test_create_each_kind_in_yuan_and_list_them_by_filter(shop) -> None:  # noqa: ANN001
    client = browser(shop, shop.token)
    csrf = csrf_of(client.get("/admin/campaigns").text)
    fixed = created_id(new_campaign(client, csrf, amount="3.5", merchant_ids=str(shop.merchant_id),
                                    method_face="yes", scene_canteen="yes", activate="yes",
                                    starts_on=day(shop, -1), ends_on=day(shop, 30), per_customer_daily_limit="2"))
    rand = created_id(new_campaign(client, csrf, name="随机", kind="random", min="0.5", max="2", amount=None))
    percent = created_id(new_campaign(client, csrf, name="打折", kind="percent", percent_off="12", cap="5",
                                      amount="9"))     # an amount the kind does not use is left out
    threshold = created_id(new_campaign(client, csrf, name="满减", kind="threshold", threshold="20", amount="3",
                                        funder=f"merchant:{shop.merchant_id}", per_customer_limit="10"))
    v = view(shop, fixed)
    assert (v["amount_fen"], v["budget_fen"], v["status"], v["methods"], v["scenes"]) == (
        350, 50_000, "active", ["face"], ["canteen"])
    assert v["merchant_ids"] == [shop.merchant_id] and v["per_customer_daily_limit"] == 2
    assert v["ends_at"] > v["starts_at"]
    assert (view(shop, rand)["min_fen"], view(shop, rand)["max_fen"], view(shop, rand)["status"]) == (50, 200, "draft")
    assert (view(shop, percent)["percent_off"], view(shop, percent)["cap_fen"], view(shop, percent)["amount_fen"]) == (
        12, 500, None)
    t = view(shop, threshold)
    assert (t["threshold_fen"], t["amount_fen"], t["funder_kind"], t["funder_merchant_id"]) == (
        2000, 300, "merchant", shop.merchant_id)
    page = client.get(f"/admin/campaigns/{fixed}?done=created")
    assert page.status_code == 200 and "活动已建立" in page.text and "减 3.50 元" in page.text
    assert "500.00" in page.text          # the budget in yuan
    listed = client.get("/admin/campaigns").text
    assert all(f'href="/admin/campaigns/{i}"' in listed for i in (fixed, rand, percent, threshold))
    assert "满 20.00 减 3.00 元" in listed and "减 12%，最多 5.00 元" in listed
    only_random = client.get("/admin/campaigns?kind=random").text
    assert f'href="/admin/campaigns/{rand}"' in only_random and f'href="/admin/campaigns/{fixed}"' not in only_random
    merchants = client.get("/admin/campaigns?funder=merchant&status=garbage").text    # an unknown filter: none
    assert f'href="/admin/campaigns/{threshold}"' in merchants and f'href="/admin/campaigns/{rand}"' not in merchants
    client.cookies.set("gp_lang", "en")
    english = client.get("/admin/campaigns").text
    assert "Campaigns" in english and "营销活动" not in english


def test_refusals_come_back_under_their_field_and_create_nothing(shop) -> None:  # noqa: ANN001
    client = browser(shop, shop.token)
    csrf = csrf_of(client.get("/admin/campaigns").text)
    cases = [({"name": ""}, "name"), ({"name": "x" * 5000}, "name"), ({"name": "a\x00b"}, "name"),
             ({"budget": ""}, "budget"), ({"budget": "1e3"}, "budget"), ({"budget": "20000000"}, "budget"),
             ({"amount": ""}, "amount"), ({"amount": "12.345"}, "amount"), ({"amount": "-1"}, "amount"),
             ({"amount": "10001"}, "amount"), ({"kind": "bogus"}, "kind"), ({"mode": "later"}, "mode"),
             ({"funder": "merchant:999999"}, "funder"), ({"funder": "bank; drop"}, "funder"),
             ({"kind": "random", "min": "5", "max": "2"}, "max"), ({"kind": "random", "min": "5"}, "max"),
             ({"kind": "percent", "percent_off": "12"}, "cap"), ({"kind": "percent", "percent_off": "150", "cap": "5"},
                                                                 "percent_off"),
             ({"kind": "threshold", "threshold": "3", "amount": "3"}, "amount"),
             ({"starts_on": day(shop, 5), "ends_on": day(shop, 1)}, "ends_on"), ({"starts_on": "2026-02-30"}, "starts_on"),
             ({"merchant_ids": "3, x"}, "merchant_ids"), ({"merchant_ids": "9" * 30}, "merchant_ids"),
             ({"site_ids": "0"}, "site_ids"), ({"per_customer_daily_limit": "101"}, "per_customer_daily_limit"),
             ({"per_customer_limit": "0"}, "per_customer_limit")]
    for fields, name in cases:
        refused = new_campaign(client, csrf, **fields)
        assert refused.status_code == 422 and field_error(refused.text, name), (fields, name)
    assert 'aria-invalid="true"' in refused.text and "每人总次数" in refused.text   # the form comes back whole
    huge = client.post("/admin/campaigns", content=b"name=" + b"x" * 70_000 + f"&csrf={csrf}".encode(),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert huge.status_code == 413
    assert new_campaign(client, "forged").status_code == 403
    truncated = client.post("/admin/campaigns", data={"csrf": csrf, "name": "只有名称"})
    assert truncated.status_code == 422 and field_error(truncated.text, "budget") and field_error(truncated.text, "kind")
    assert 'value="只有名称"' in truncated.text                   # what was typed stays
    assert count(shop) == 0


def test_status_flow_with_a_confirmed_end_and_the_discount_in_the_figures(shop) -> None:  # noqa: ANN001
    cid = shop.customer(wallet_fen=5000)
    client = browser(shop, shop.token)
    csrf = csrf_of(client.get("/admin/campaigns").text)
    camp = created_id(new_campaign(client, csrf, amount="2"))
    base = f"/admin/campaigns/{camp}"
    assert "discount_fen" not in shop.pay(cid, 1000)                 # a draft gives nothing
    on = client.post(f"{base}/status", data={"status": "active", "csrf": csrf})
    assert on.status_code == 200 and "活动现为进行中" in on.text
    paid = shop.pay(cid, 1000)
    assert (paid["discount_fen"], paid["paid_fen"]) == (200, 800)
    figures = client.get(base).text
    assert paid["payment_id"] in figures and "2.00" in figures and "498.00" in figures   # budget left in yuan
    paused = client.post(f"{base}/status", data={"status": "paused", "csrf": csrf})
    again = client.post(f"{base}/status", data={"status": "paused", "csrf": csrf})    # a second click
    assert paused.status_code == 200 and again.status_code == 200 and "活动已是已暂停状态" in again.text
    assert "discount_fen" not in shop.pay(cid, 1000)
    assert client.post(f"{base}/status", data={"status": "active", "csrf": csrf}).status_code == 200   # resume
    for garbage in ("", "draft", "x" * 3000):
        assert client.post(f"{base}/status", data={"status": garbage, "csrf": csrf}).status_code == 422
    unconfirmed = client.post(f"{base}/end", data={"csrf": csrf})
    assert unconfirmed.status_code == 422 and field_error(unconfirmed.text, "confirm")
    assert client.post(f"{base}/status", data={"status": "ended", "csrf": csrf}).status_code == 422
    assert view(shop, camp)["status"] == "active"
    ended = client.post(f"{base}/end", data={"confirm": "yes", "csrf": csrf})
    assert ended.status_code == 200 and "活动现为已结束" in ended.text and f'action="{base}/status"' not in ended.text
    assert client.post(f"{base}/status", data={"status": "active", "csrf": csrf}).status_code == 409
    assert view(shop, camp)["status"] == "ended" and "discount_fen" not in shop.pay(cid, 1000)
    assert client.get("/admin/campaigns/99999").status_code == 404
    assert client.get("/admin/campaigns/abc").status_code == 404
    assert shop.ledger_ok() == []


def test_coupons_issued_once_per_form_and_shown_on_the_customer_record(shop) -> None:  # noqa: ANN001
    group = shop.post("/api/v1/customer-groups", {"name": "三年级二班", "funding_order": "subsidy_first"})
    members = [shop.customer(f"张{i}三", group_id=group["id"], wallet_fen=3000) for i in range(2)]
    single = shop.customer("李四海", wallet_fen=3000)
    client = browser(shop, shop.token)
    csrf = csrf_of(client.get("/admin/campaigns").text)
    instant = created_id(new_campaign(client, csrf))
    assert 'id="issue"' not in client.get(f"/admin/campaigns/{instant}").text      # no coupons for instant ones
    camp = created_id(new_campaign(client, csrf, name="新生券", mode="coupon", amount="5", activate="yes"))
    base = f"/admin/campaigns/{camp}"
    page = client.get(base).text
    key = form_value(page, f"{base}/coupons", "key")
    form = {"key": key, "customer_ids": f"{single}", "group": str(group["id"]), "expires_on": day(shop, 7),
            "csrf": csrf}
    for _ in range(2):      # a double click: the same form twice
        issued = client.post(f"{base}/coupons", data=form)
        assert issued.status_code == 200 and "已发券 3 张" in issued.text
    assert view(shop, camp)["coupons"]["issued"] == 3
    for fields, name in (({"customer_ids": "1; drop", "group": ""}, "customer_ids"),
                         ({"customer_ids": "", "group": ""}, "customer_ids"),
                         ({"customer_ids": "424242", "group": ""}, "customer_ids"),
                         ({"expires_on": day(shop, -1)}, "expires_on"), ({"expires_on": "tomorrow"}, "expires_on"),
                         ({"group": "77777"}, "group"), ({"customer_ids": ",".join(["1"] * 1000) + "x"}, "customer_ids")):
        refused = client.post(f"{base}/coupons", data={**form, "key": "0d7e1b8e-5b8c-4a3e-9c1a-3f1f7c1a2b3c",
                                                       **fields})
        assert refused.status_code in (404, 422) and field_error(refused.text, name), (fields, name)
    assert view(shop, camp)["coupons"]["issued"] == 3
    paid = shop.pay(single, 1500)
    assert (paid["discount_fen"], paid["paid_fen"]) == (500, 1000)
    record = client.get(f"/admin/customers/{single}").text
    coupons = record.split('id="coupons"')[1]
    assert "新生券" in coupons and "已使用" in coupons and f'href="/admin/payments/{paid["payment_id"]}"' in coupons
    member = client.get(f"/admin/customers/{members[0]}").text.split('id="coupons"')[1]
    assert "未使用" in member and day(shop, 8) in member      # valid through the 7th day: its midnight
    listed = client.get(base).text.split('id="coupons"')[1]
    assert listed.count("/admin/customers/") == 3 and paid["payment_id"] in listed


def test_roles_merchant_admin_runs_its_own_auditor_reads(shop) -> None:  # noqa: ANN001
    anonymous = TestClient(shop.app, base_url="http://127.0.0.1")
    assert anonymous.get("/admin/campaigns").status_code == 401
    assert anonymous.post("/admin/campaigns", data={"name": "x"}).status_code == 401
    client = browser(shop, shop.token)
    csrf = csrf_of(client.get("/admin/campaigns").text)
    bank = created_id(new_campaign(client, csrf, name="银行活动"))
    other = open_canteen(shop.app, shop.client)
    admin = browser(shop, operator_token(shop.app, "merchant_admin", merchant_id=other.merchant_id))
    csrf_admin = csrf_of(admin.get("/admin/campaigns").text)
    page = admin.get("/admin/campaigns").text
    create_form = page.split('id="new-campaign"')[1]
    assert f'href="/admin/campaigns/{bank}"' not in page and 'value="bank"' not in create_form
    assert admin.get(f"/admin/campaigns/{bank}").status_code == 404
    assert admin.post(f"/admin/campaigns/{bank}/status", data={"status": "paused", "csrf": csrf_admin}).status_code == 404
    refused = new_campaign(admin, csrf_admin, funder="bank")
    assert refused.status_code == 422 and field_error(refused.text, "funder")
    elsewhere = new_campaign(admin, csrf_admin, funder=f"merchant:{other.merchant_id}", merchant_ids=str(shop.merchant_id))
    assert elsewhere.status_code == 422 and "本商户" in field_error(elsewhere.text, "merchant_ids")
    own = created_id(new_campaign(admin, csrf_admin, name="本店券", funder=f"merchant:{other.merchant_id}",
                                  mode="coupon", activate="yes"))
    assert view(shop, own)["merchant_ids"] == [other.merchant_id]
    signed = shop.customer("王五")                 # a signing for any merchant: payable at this one too
    unsigned = shop.post("/api/v1/customers", {"name": "赵六"})["id"]
    base = f"/admin/campaigns/{own}"
    key = form_value(admin.get(base).text, f"{base}/coupons", "key")
    probe = admin.post(f"{base}/coupons", data={"key": key, "customer_ids": str(unsigned), "expires_on": day(shop, 3),
                                                "csrf": csrf_admin})
    assert probe.status_code == 404 and "找不到顾客" in field_error(probe.text, "customer_ids")
    issued = admin.post(f"{base}/coupons", data={"key": key, "customer_ids": str(signed), "expires_on": day(shop, 3),
                                                 "csrf": csrf_admin})
    assert issued.status_code == 200 and "已发券 1 张" in issued.text
    holders = issued.text.split('id="coupons"')[1]
    assert f"<td>{signed}</td>" in holders and "/admin/customers/" not in holders   # no customer records for it
    assert admin.get(f"/admin/customers/{signed}").status_code == 403
    auditor = browser(shop, operator_token(shop.app, "auditor"))
    seen = auditor.get(f"/admin/campaigns/{own}")
    assert seen.status_code == 200 and 'id="issue"' not in seen.text and 'id="end"' not in seen.text
    assert 'id="new-campaign"' not in auditor.get("/admin/campaigns").text
    auditor_csrf = csrf_of(seen.text)
    assert auditor.post(f"{base}/end", data={"confirm": "yes", "csrf": auditor_csrf}).status_code == 403
    assert new_campaign(auditor, auditor_csrf).status_code == 403
    assert view(shop, own)["status"] == "active"


def test_a_campaign_given_offline_shows_what_its_terminals_hold(shop) -> None:  # noqa: ANN001
    client = browser(shop, shop.token)
    csrf = csrf_of(client.get("/admin/campaigns").text)
    camp = created_id(new_campaign(client, csrf, merchant_ids=str(shop.merchant_id), activate="yes"))
    assert "—" in client.get(f"/admin/campaigns/{camp}").text.split("offline slices")[1].split("</tr>")[0]
    with shop.app.state.sessions() as session:       # no API yet: the service lets it out offline
        campaign_slices.allow_offline(session, session.get(Campaign, camp), share_pct=10, cap_fen=2000,
                                      now=shop.now())
        session.commit()
    row = client.get(f"/admin/campaigns/{camp}").text.split("offline slices")[1].split("</tr>")[0]
    assert "20.00 / 20.00" in row              # 10% of 500.00, at most 20.00, none used yet
    assert view(shop, camp)["spent_fen"] == 2000
