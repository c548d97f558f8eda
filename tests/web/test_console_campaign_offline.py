"""The console's "离线优惠 Offline discounts" form on a campaign's page and the opt-out count when
coupons are issued (issue 17), in process on SQLite and PostgreSQL: switched on with a share and
a cap in yuan the terminals hold slices (shown on the page), switched off the unused part goes back;
bad input comes back under its field with nothing changed; only managers of the campaign see and
use the form; customers who opted out of marketing get no issued coupon and the page says how many."""
from __future__ import annotations

from sqlalchemy import select

from backend.models.campaigns import OfflineCampaign
from tests.backend.helpers import operator_token
from tests.backend.money_helpers import open_canteen
from tests.web.test_admin_pages import browser, csrf_of
from tests.web.test_console_campaigns import created_id, day, new_campaign, shop, view  # noqa: F401 - shop: fixture
from tests.web.test_console_money import field_error, form_value


def slices_row(html: str) -> str:
    return html.split("offline slices")[1].split("</tr>")[0]


def sizing(shop) -> list[tuple[int, int, int]]:  # noqa: ANN001, F811
    with shop.app.state.sessions() as session:
        return [(r.campaign_id, r.share_pct, r.cap_fen) for r in session.scalars(select(OfflineCampaign))]


def test_offline_discounts_on_and_off_from_the_campaign_page(shop) -> None:  # noqa: ANN001, F811
    client = browser(shop, shop.token)
    csrf = csrf_of(client.get("/admin/campaigns").text)
    camp = created_id(new_campaign(client, csrf, merchant_ids=str(shop.merchant_id), activate="yes"))
    base = f"/admin/campaigns/{camp}"
    page = client.get(base).text
    assert 'id="offline"' in page and "离线优惠" in page and "—" in slices_row(page)
    on = client.post(f"{base}/offline", data={"on": "yes", "share": "10", "cap": "20", "csrf": csrf})
    assert on.status_code == 200 and "离线优惠已开启" in on.text, on.text
    assert "20.00 / 20.00" in slices_row(on.text)           # 10 % of 500.00, at most 20.00, none used yet
    assert view(shop, camp)["spent_fen"] == 2000 and sizing(shop) == [(camp, 10, 2000)]
    form = on.text.split(f'action="{base}/offline"')[1].split("</form>")[0]
    assert 'value="10"' in form and 'value="20.00"' in form and "checked" in form     # today's setting shown
    off = client.post(f"{base}/offline", data={"share": "10", "cap": "20", "csrf": csrf})   # the box unticked
    assert off.status_code == 200 and "离线优惠已关闭，20.00 元退回预算" in off.text
    assert view(shop, camp)["spent_fen"] == 0 and sizing(shop) == [] and "—" in slices_row(off.text)
    assert client.post(f"{base}/offline", data={"csrf": csrf}).status_code == 200        # off again: nothing
    assert shop.ledger_ok() == []


def test_bad_input_comes_back_under_its_field_and_changes_nothing(shop) -> None:  # noqa: ANN001, F811
    client = browser(shop, shop.token)
    csrf = csrf_of(client.get("/admin/campaigns").text)
    camp = created_id(new_campaign(client, csrf, activate="yes"))
    base = f"/admin/campaigns/{camp}"
    for fields, name in (({"share": "", "cap": "20"}, "share"), ({"share": "0", "cap": "20"}, "share"),
                         ({"share": "101", "cap": "20"}, "share"), ({"share": "5%", "cap": "20"}, "share"),
                         ({"share": "9" * 3000, "cap": "20"}, "share"), ({"share": "5", "cap": ""}, "cap"),
                         ({"share": "5", "cap": "0"}, "cap"), ({"share": "5", "cap": "12.345"}, "cap"),
                         ({"share": "5", "cap": "10000.01"}, "cap"), ({"share": "5", "cap": "abc\x00"}, "cap")):
        refused = client.post(f"{base}/offline", data={"on": "yes", "csrf": csrf, **fields})
        assert refused.status_code == 422 and field_error(refused.text, name), (fields, name)
    assert 'aria-invalid="true"' in refused.text
    assert client.post(f"{base}/offline", data={"on": "yes", "share": "5", "cap": "20", "csrf": "forged"}
                       ).status_code == 403
    huge = client.post(f"{base}/offline", content=b"share=" + b"9" * 70_000 + f"&csrf={csrf}".encode(),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert huge.status_code == 413
    assert client.post("/admin/campaigns/99999/offline", data={"on": "yes", "share": "5", "cap": "20",
                                                               "csrf": csrf}).status_code == 404
    assert sizing(shop) == [] and view(shop, camp)["spent_fen"] == 0


def test_coupon_and_ended_campaigns_have_no_offline_form(shop) -> None:  # noqa: ANN001, F811
    client = browser(shop, shop.token)
    csrf = csrf_of(client.get("/admin/campaigns").text)
    coupons = created_id(new_campaign(client, csrf, name="新生券", mode="coupon", activate="yes"))
    assert 'id="offline"' not in client.get(f"/admin/campaigns/{coupons}").text
    refused = client.post(f"/admin/campaigns/{coupons}/offline", data={"on": "yes", "share": "5", "cap": "20",
                                                                      "csrf": csrf})
    assert refused.status_code == 409 and "只有立减活动可以离线优惠" in refused.text
    ended = created_id(new_campaign(client, csrf, activate="yes"))
    assert client.post(f"/admin/campaigns/{ended}/end", data={"confirm": "yes", "csrf": csrf}).status_code == 200
    assert 'id="offline"' not in client.get(f"/admin/campaigns/{ended}").text
    assert client.post(f"/admin/campaigns/{ended}/offline", data={"on": "yes", "share": "5", "cap": "20",
                                                                 "csrf": csrf}).status_code == 409
    assert sizing(shop) == []


def test_roles_merchant_admin_its_own_campaigns_auditor_reads(shop) -> None:  # noqa: ANN001, F811
    client = browser(shop, shop.token)
    csrf = csrf_of(client.get("/admin/campaigns").text)
    bank = created_id(new_campaign(client, csrf, name="银行活动", activate="yes"))
    admin = browser(shop, operator_token(shop.app, "merchant_admin", merchant_id=shop.merchant_id))
    csrf_admin = csrf_of(admin.get("/admin/campaigns").text)
    size = {"on": "yes", "share": "5", "cap": "20"}
    assert admin.post(f"/admin/campaigns/{bank}/offline", data={**size, "csrf": csrf_admin}).status_code == 404
    own = created_id(new_campaign(admin, csrf_admin, name="本店立减", funder=f"merchant:{shop.merchant_id}",
                                  activate="yes"))
    mine = admin.post(f"/admin/campaigns/{own}/offline", data={**size, "csrf": csrf_admin})
    assert mine.status_code == 200 and "离线优惠已开启" in mine.text
    other = open_canteen(shop.app, shop.client)
    theirs = browser(shop, operator_token(shop.app, "merchant_admin", merchant_id=other.merchant_id))
    csrf_theirs = csrf_of(theirs.get("/admin/campaigns").text)
    assert theirs.post(f"/admin/campaigns/{own}/offline", data={**size, "csrf": csrf_theirs}).status_code == 404
    auditor = browser(shop, operator_token(shop.app, "auditor"))
    seen = auditor.get(f"/admin/campaigns/{own}")
    assert seen.status_code == 200 and 'id="offline"' not in seen.text
    assert auditor.post(f"/admin/campaigns/{own}/offline", data={"csrf": csrf_of(seen.text)}).status_code == 403
    assert sizing(shop) == [(own, 5, 2000)]


def test_issued_coupons_pass_over_customers_who_opted_out_and_say_how_many(shop) -> None:  # noqa: ANN001, F811
    group = shop.post("/api/v1/customer-groups", {"name": "三年级二班", "funding_order": "subsidy_first"})
    members = [shop.customer(f"张{i}三", group_id=group["id"]) for i in range(2)]
    single = shop.customer("李四海")
    for cid in (members[0], single):
        assert shop.client.put(f"/api/v1/customers/{cid}/marketing-opt-out", headers=shop.staff).status_code == 200
    client = browser(shop, shop.token)
    csrf = csrf_of(client.get("/admin/campaigns").text)
    camp = created_id(new_campaign(client, csrf, name="新生券", mode="coupon", amount="5", activate="yes"))
    base = f"/admin/campaigns/{camp}"
    key = form_value(client.get(base).text, f"{base}/coupons", "key")
    issued = client.post(f"{base}/coupons", data={"key": key, "customer_ids": str(single), "group": str(group["id"]),
                                                  "expires_on": day(shop, 7), "csrf": csrf})
    assert issued.status_code == 200 and "已发券 1 张" in issued.text and "2 位顾客已退出营销，未发券" in issued.text
    assert view(shop, camp)["coupons"]["issued"] == 1
    client.cookies.set("gp_lang", "en")
    again = client.post(f"{base}/coupons", data={"key": key, "customer_ids": str(single), "group": str(group["id"]),
                                                 "expires_on": day(shop, 7), "csrf": csrf})
    assert "1 coupons issued" in again.text and "2 customers opted out of marketing" in again.text
    assert view(shop, camp)["coupons"]["issued"] == 1
