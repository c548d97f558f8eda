"""The console's customers, subsidies and payments pages in process (real app, real database):
what each role may do, and bad input (garbage, oversize, truncated) answered with an error under
the field, nothing booked, the ledger still balanced. The browser flows are in
test_console_money_e2e.py."""
from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.models.signings import Signing
from core.crypto import keyed_hash
from tests.backend.helpers import make_app, operator_token
from tests.backend.money_helpers import open_canteen
from tests.web.test_admin_pages import browser, csrf_of

PHONE = "13800138000"


@pytest.fixture
def shop(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield open_canteen(app, client)


def field_error(html: str, name: str) -> str:
    """The error text under field `name`, '' if none."""
    found = re.search(rf'data-field="{name}".*?</div>', html, re.S)
    assert found, f"no field {name}"
    error = re.search(r'class="field-error"[^>]*>(.*?)</p>', found.group(0), re.S)
    return error.group(1) if error else ""


def form_value(html: str, action: str, name: str) -> str:
    form = html.split(f'action="{action}"')[1].split("</form>")[0]
    return re.search(rf'name="{name}" value="([^"]*)"', form).group(1)


def test_search_by_phone_is_a_post_and_answers_masked(shop) -> None:  # noqa: ANN001
    cid = shop.post("/api/v1/customers", {"name": "张小三", "phone": PHONE})["id"]
    client = browser(shop, shop.token)
    csrf = csrf_of(client.get("/admin/customers").text)
    found = client.post("/admin/customers/search", data={"phone": PHONE, "csrf": csrf})
    assert found.status_code == 200 and f'href="/admin/customers/{cid}"' in found.text
    assert "138****8000" in found.text and PHONE not in found.text.replace(f'value="{PHONE}"', "")
    bad = client.post("/admin/customers/search", data={"phone": "12x", "csrf": csrf})
    assert bad.status_code == 422 and "11" in field_error(bad.text, "phone")
    empty = client.post("/admin/customers/search", data={"csrf": csrf})
    assert empty.status_code == 422 and field_error(empty.text, "phone")


def test_deposit_withdraw_once_per_form_and_bad_amounts_change_nothing(shop) -> None:  # noqa: ANN001
    cid = shop.post("/api/v1/customers", {"name": "李四海"})["id"]
    client = browser(shop, shop.token)
    page = client.get(f"/admin/customers/{cid}").text
    csrf, key = csrf_of(page), form_value(page, f"/admin/customers/{cid}/deposit", "key")
    for _ in range(2):      # a double click: the same form twice
        done = client.post(f"/admin/customers/{cid}/deposit", data={"key": key, "amount": "12.50", "csrf": csrf})
        assert done.status_code == 200, done.text
    assert "未重复入账" in done.text and shop.view(cid)["wallet_fen"] == 1250
    for garbage in ("", "abc", "12.345", "-5", "1e3", "0", "9" * 5000, "1.2.3", "12²", "100000001"):
        refused = client.post(f"/admin/customers/{cid}/deposit",
                              data={"key": str(uuid.uuid4()), "amount": garbage, "csrf": csrf})
        assert refused.status_code == 422 and field_error(refused.text, "amount"), garbage
    truncated = client.post(f"/admin/customers/{cid}/deposit", data={"amount": "5", "csrf": csrf})
    assert truncated.status_code == 422
    too_much = client.post(f"/admin/customers/{cid}/withdraw",
                           data={"key": str(uuid.uuid4()), "amount": "12.51", "csrf": csrf})
    assert too_much.status_code == 409 and "余额不足" in too_much.text and 'class="notice error"' in too_much.text
    out = client.post(f"/admin/customers/{cid}/withdraw", data={"key": str(uuid.uuid4()), "amount": "2.5",
                                                                "csrf": csrf})
    assert out.status_code == 200 and "已取出 2.50 元" in out.text
    assert shop.view(cid)["wallet_fen"] == 1000 and shop.ledger_ok() == []


def test_card_signed_by_typing_is_the_readers_keyed_hash_and_plate_and_suspend(shop) -> None:  # noqa: ANN001
    cid = shop.post("/api/v1/customers", {"name": "王五"})["id"]
    client = browser(shop, shop.token)
    csrf = csrf_of(client.get(f"/admin/customers/{cid}").text)
    signed = client.post(f"/admin/customers/{cid}/signings/card", data={
        "card_number": "6222 0210 0112 3456", "per_payment": "30", "per_day": "100", "csrf": csrf})
    assert signed.status_code == 200 and "签约成功" in signed.text and "6222021001123456" not in signed.text
    with shop.app.state.sessions() as session:
        card = session.scalar(select(Signing).where(Signing.customer_id == cid, Signing.kind == "card"))
    assert card.card_hash == keyed_hash(shop.app.state.settings.keys["card"], "6222021001123456", "card")
    assert card.per_payment_limit_fen == 3000 and card.per_day_limit_fen == 10000
    twice = client.post(f"/admin/customers/{cid}/signings/card", data={
        "card_number": "6222021001123456", "per_payment": "30", "per_day": "100", "csrf": csrf})
    assert twice.status_code == 409 and "已签约" in twice.text
    for number, per_payment, per_day, bad in (("12", "30", "100", "card_number"), ("<script>", "30", "100", "card_number"),
                                              ("12345678", "30", "10", "per_day"), ("12345678", "x", "10", "per_payment")):
        refused = client.post(f"/admin/customers/{cid}/signings/card", data={
            "card_number": number, "per_payment": per_payment, "per_day": per_day, "csrf": csrf})
        assert refused.status_code == 422 and field_error(refused.text, bad), (number, bad)
        assert "&lt;script&gt;" not in refused.text    # a card number is never echoed back
    plate = client.post(f"/admin/customers/{cid}/signings/plate", data={
        "plate": "粤B12345", "plate_colour": "blue", "per_payment": "50", "per_day": "50", "csrf": csrf})
    assert plate.status_code == 200 and "粤B***45" in plate.text
    suspended = client.post(f"/admin/customers/{cid}/signings/status", data={
        "signing_id": str(card.id), "action": "suspend", "reason": "卡丢失", "csrf": csrf})
    assert suspended.status_code == 200 and f"签约 {card.id} 现为 suspended" in suspended.text
    other = shop.post("/api/v1/customers", {"name": "赵六"})["id"]
    foreign = client.post(f"/admin/customers/{other}/signings/status", data={
        "signing_id": str(card.id), "action": "revoke", "reason": "x", "csrf": csrf})
    assert foreign.status_code == 422        # a signing of another customer is not in this one's list
    with shop.app.state.sessions() as session:
        assert session.get(Signing, card.id).status == "suspended"


def test_roles_auditor_reads_merchant_admin_sees_its_own_payments_only(shop) -> None:  # noqa: ANN001
    cid = shop.customer("张小三", wallet_fen=5000)
    paid = shop.pay(cid, 1200)
    auditor = browser(shop, operator_token(shop.app, "auditor"))
    page = auditor.get(f"/admin/customers/{cid}")
    assert page.status_code == 200 and f'action="/admin/customers/{cid}/deposit"' not in page.text
    assert auditor.post(f"/admin/customers/{cid}/deposit", data={
        "key": str(uuid.uuid4()), "amount": "1", "csrf": csrf_of(page.text)}).status_code == 403
    assert auditor.get(f"/admin/payments/{paid['payment_id']}").status_code == 200
    assert auditor.post(f"/admin/payments/{paid['payment_id']}/refund", data={
        "refund_id": str(uuid.uuid4()), "amount": "1", "reason": "x", "csrf": csrf_of(page.text)}).status_code == 403
    other = open_canteen(shop.app, shop.client)
    admin = browser(shop, operator_token(shop.app, "merchant_admin", merchant_id=other.merchant_id))
    assert admin.get("/admin/customers").status_code == 403
    assert paid["payment_id"] not in admin.get("/admin/payments").text
    assert admin.get(f"/admin/payments/{paid['payment_id']}").status_code == 404
    assert admin.post(f"/admin/payments/{paid['payment_id']}/refund", data={
        "refund_id": str(uuid.uuid4()), "amount": "1", "reason": "x",
        "csrf": csrf_of(admin.get("/admin/payments").text)}).status_code == 404
    own = admin.get("/admin/payments.csv").content.decode("utf-8-sig")
    assert own.count("\r\n") == 1 and paid["payment_id"] not in own        # the header only: no other merchant's
    csrf = csrf_of(auditor.get("/admin/subsidies").text)
    assert auditor.post("/admin/subsidies/programs", data={
        "name": "x", "funder": "y", "kind": "monthly", "expiry_policy": "month_end", "csrf": csrf}).status_code == 403
    assert auditor.post("/admin/subsidies/clawback", data={"grant": "1:0", "csrf": csrf}).status_code == 403
    assert auditor.post("/admin/customers", data={"name": "x", "csrf": csrf}).status_code == 403
    assert shop.view(cid)["wallet_fen"] == 3800


def test_the_pages_follow_the_language_toggle(shop) -> None:  # noqa: ANN001
    cid = shop.customer("张小三", wallet_fen=5000)
    paid = shop.pay(cid, 1200)["payment_id"]
    client = browser(shop, shop.token)
    client.get("/admin/lang", params={"to": "en", "next": "/admin/payments"})
    for path in ("/admin/customers", f"/admin/customers/{cid}", "/admin/subsidies", "/admin/payments",
                 f"/admin/payments/{paid}"):
        html = client.get(path).text
        main = html.split("<main>")[1]
        assert "Amount (yuan)" in main or "Wallet (yuan)" in main or "Programs" in main, path
        assert "客户" not in main and "支付" not in main.replace(paid, ""), path


def test_refund_part_once_per_form_and_bad_refunds_are_refused(shop) -> None:  # noqa: ANN001
    cid = shop.customer("张小三", wallet_fen=5000)
    paid = shop.pay(cid, 1800)["payment_id"]
    client = browser(shop, shop.token)
    page = client.get(f"/admin/payments/{paid}").text
    assert "18.00" in page and "Ledger lines" in page and "Authorised online" in page
    action = f"/admin/payments/{paid}/refund"
    csrf, key = csrf_of(page), form_value(page, action, "refund_id")
    for garbage, name in (("20.00", "amount"), ("abc", "amount"), ("", "amount"), ("5", "reason")):
        refused = client.post(action, data={"refund_id": str(uuid.uuid4()), "amount": garbage,
                                            "reason": "" if name == "reason" else "菜错了", "csrf": csrf})
        assert refused.status_code in (409, 422) and field_error(refused.text, name), garbage
    assert client.post(action, data={"refund_id": "not-a-uuid", "amount": "5", "reason": "x",
                                     "csrf": csrf}).status_code == 422
    for _ in range(2):
        done = client.post(action, data={"refund_id": key, "amount": "5.00", "reason": "菜错了", "csrf": csrf})
        assert done.status_code == 200, done.text
    assert "未重复退款" in done.text and shop.view(cid)["wallet_fen"] == 5000 - 1800 + 500
    assert "refund:" in done.text and shop.ledger_ok() == []


def test_payments_filter_pages_and_export_through_safe_cells(shop) -> None:  # noqa: ANN001
    cid = shop.customer("张小三", wallet_fen=50_000)
    for amount in (300, 1200, 2500):
        shop.pay(cid, amount)
    client = browser(shop, shop.token)
    listed = client.get("/admin/payments", params={"min_yuan": "10", "max_yuan": "20"})
    assert listed.status_code == 200 and "12.00" in listed.text and "25.00" not in listed.text
    bad = client.get("/admin/payments", params={"min_yuan": "ten", "date_from": "2026-13-40", "method": "cash"})
    assert bad.status_code == 422
    assert field_error(bad.text, "min_yuan") and field_error(bad.text, "date_from") and field_error(bad.text, "method")
    moved = client.post("/admin/payments/search", data={"min_yuan": "10", "method": "face"}, follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/admin/payments?method=face&min_yuan=10"
    exported = client.get("/admin/payments.csv", params={"min_yuan": "10"})
    text = exported.content.decode("utf-8-sig")
    assert exported.status_code == 200 and text.count("\r\n") == 3 and "25.00" in text and "3.00" not in text
    assert client.get("/admin/payments.xlsx").content[:2] == b"PK"
    assert client.get("/admin/payments.csv", params={"max_yuan": "x"}).status_code == 422


def test_program_create_and_clawback_once_per_form(shop) -> None:  # noqa: ANN001
    cid = shop.customer("张小三")
    client = browser(shop, shop.token)
    csrf = csrf_of(client.get("/admin/subsidies").text)
    made = client.post("/admin/subsidies/programs", data={
        "name": "午餐补贴", "funder": "学校", "kind": "monthly", "expiry_policy": "month_end", "csrf": csrf})
    assert made.status_code == 200 and "已建立补贴项目" in made.text
    program = int(re.search(r"已建立补贴项目 (\d+)", made.text).group(1))
    no_date = client.post("/admin/subsidies/programs", data={
        "name": "x", "funder": "y", "kind": "monthly", "expiry_policy": "on_date", "csrf": csrf})
    assert no_date.status_code == 422 and field_error(no_date.text, "expires_on")
    long_name = client.post("/admin/subsidies/programs", data={
        "name": "长" * 500, "funder": "y", "kind": "monthly", "expiry_policy": "month_end", "csrf": csrf})
    assert long_name.status_code == 422 and field_error(long_name.text, "name")
    shop.grant(program, [(cid, 1000)])
    page = client.get("/admin/subsidies").text
    choice = re.search(r'<option value="(\d+:0)"', page).group(1)
    for status in (200, 409):
        taken = client.post("/admin/subsidies/clawback", data={"grant": choice, "amount": "4", "csrf": csrf})
        assert taken.status_code == status, taken.text
    assert shop.view(cid)["subsidies"] == [{"program_id": program, "balance_fen": 600}] and shop.ledger_ok() == []
    assert client.post("/admin/subsidies/clawback", data={"grant": "junk", "csrf": csrf}).status_code == 422
