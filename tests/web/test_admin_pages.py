"""The admin pages in process (real app, real database): login and cookie flags, CSRF, every
page and action against every role, masked personal data, a bad grant CSV shown row by row."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.backend.helpers import make_app, operator_token
from tests.backend.money_helpers import open_canteen

PAGES = ["/admin/merchants", "/admin/terminals", "/admin/customers", "/admin/subsidies", "/admin/settlement",
         "/admin/reconciliation", "/admin/reports"]
# page -> roles that may see it (the API's roles for the same data)
SEES = {"/admin/customers": {"operator", "auditor"}, "/admin/subsidies": {"operator", "auditor"}}


@pytest.fixture
def shop(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield open_canteen(app, client)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def browser(shop, token: str) -> TestClient:  # noqa: ANN001
    """A fresh cookie jar, logged in with `token` through the login form."""
    client = TestClient(shop.app, base_url="http://127.0.0.1")
    form = client.get("/admin/login")
    response = client.post("/admin/login", data={"token": token, "csrf": csrf_of(form.text)}, follow_redirects=False)
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    return client


def test_pages_need_a_login_and_a_bad_token_is_told_in_words(shop) -> None:  # noqa: ANN001
    client = TestClient(shop.app, base_url="http://127.0.0.1")
    for path in PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 401 and 'action="/admin/login"' in response.text
    assert client.post("/admin/settlement/run", data={"business_date": "2026-01-01"}).status_code == 401
    form = client.get("/admin/login")
    bad = client.post("/admin/login", data={"token": "gpo_nope", "csrf": csrf_of(form.text)})
    assert bad.status_code == 401 and "令牌无效" in bad.text
    no_csrf = client.post("/admin/login", data={"token": shop.token, "csrf": "forged"})
    assert no_csrf.status_code == 400


@pytest.mark.parametrize("role", ["operator", "auditor", "merchant_admin"])
def test_every_page_follows_the_api_roles(shop, role: str) -> None:  # noqa: ANN001
    token = operator_token(shop.app, role, merchant_id=shop.merchant_id if role == "merchant_admin" else None)
    client = browser(shop, token)
    for path in PAGES:
        response = client.get(path)
        expected = 200 if role in SEES.get(path, {"operator", "auditor", "merchant_admin"}) else 403
        assert response.status_code == expected, (path, response.text[:300])


def test_merchant_admin_sees_only_its_merchant_and_cannot_run_or_upload(shop) -> None:  # noqa: ANN001
    other = open_canteen(shop.app, shop.client)
    client = browser(shop, operator_token(shop.app, "merchant_admin", merchant_id=other.merchant_id))
    page = client.get("/admin/merchants").text
    assert f"<td>{other.merchant_id}</td>" in page and f"<td>{shop.merchant_id}</td>" not in page
    csrf = csrf_of(page)
    assert client.post("/admin/settlement/run", data={"business_date": "2026-01-01", "csrf": csrf}).status_code == 403
    assert client.post("/admin/reconciliation/statement", data={"csrf": csrf},
                       files={"file": ("s.csv", b"x")}).status_code == 403
    assert client.get("/admin/reports", params={"name": "subsidy-beneficiaries"}).status_code == 403


def test_forms_without_the_csrf_token_are_refused(shop) -> None:  # noqa: ANN001
    script = TestClient(shop.app, base_url="http://127.0.0.1")     # a bearer token is not ambient: no CSRF
    assert script.get("/admin/settlement", headers={"Authorization": f"Bearer {shop.token}"}).status_code == 200
    client = browser(shop, shop.token)
    assert client.post("/admin/settlement/run", data={"business_date": "2026-01-01"}).status_code == 403
    assert client.post("/admin/settlement/run", data={"business_date": "2026-01-01", "csrf": "x"}).status_code == 403
    ok = client.post("/admin/settlement/run", data={"business_date": "2026-01-01",
                                                   "csrf": csrf_of(client.get("/admin/settlement").text)})
    assert ok.status_code == 200 and "2026-01-01" in ok.text


def test_customers_are_masked_and_a_bad_grant_csv_shows_each_bad_row(shop) -> None:  # noqa: ANN001
    cid = shop.customer("张小三", wallet_fen=100, id_number="110101199003074514")
    program = shop.program(name="午餐补贴")
    client = browser(shop, shop.token)
    people = client.get("/admin/customers").text
    assert "张*三" in people and "张小三" not in people and "110101199003074514" not in people
    csv_text = f"customer_id,amount_fen\n{cid},500\nabc,100\n{cid},-5\n999999,100\n"
    csrf = csrf_of(client.get("/admin/subsidies").text)
    response = client.post("/admin/subsidies/grants", data={"program_id": str(program), "csrf": csrf},
                           files={"file": ("grants.csv", csv_text.encode(), "text/csv")})
    assert response.status_code == 200, response.text
    assert "已入账 1 行" in response.text and "3 行有误" in response.text
    lines = re.findall(r"<tr><td>(\d+)</td>", response.text.split('class="problems"')[1].split("</table>")[0])
    assert lines == ["3", "4", "5"]
    again = client.post("/admin/subsidies/grants", data={"program_id": str(program), "csrf": csrf},
                        files={"file": ("grants.csv", csv_text.encode(), "text/csv")})
    assert "未重复入账" in again.text
    garbage = client.post("/admin/subsidies/grants", data={"program_id": str(program), "csrf": csrf},
                          files={"file": ("g.csv", b"\xff\xfe\x00bad", "text/csv")})
    assert garbage.status_code == 200 and "UTF-8" in garbage.text
    assert shop.view(cid)["subsidies"] == [{"program_id": program, "balance_fen": 500}]


def test_enrolment_code_is_shown_once_and_statement_errors_are_explained(shop) -> None:  # noqa: ANN001
    client = browser(shop, shop.token)
    page = client.get("/admin/terminals").text
    made = client.post("/admin/terminals/enrolment-codes", data={"site_id": str(shop.site_id), "name": "二号机",
                                                                 "csrf": csrf_of(page)})
    assert made.status_code == 200 and re.search(r"Enrolment code \(shown only now\): [A-Z0-9-]{8,}", made.text)
    assert "二号机" in made.text
    bad = client.post("/admin/reconciliation/statement", data={"csrf": csrf_of(page)},
                      files={"file": ("s.csv", b"GPSTMT1,bank_card,2026-03-10\nref,kind,amount_fen,settled_at,txn_id\n")})
    assert bad.status_code == 200 and "对账文件无法读取" in bad.text


def test_the_session_cookie_holds_no_token_and_dies_at_expiry_or_with_the_operator(shop) -> None:  # noqa: ANN001
    from datetime import datetime, timezone

    from sqlalchemy import update

    from backend.models.operators import Operator
    from backend.web.session import ADMIN_SESSION_S, TOKEN_COOKIE
    from core.clock import ManualClock

    clock = shop.app.state.clock = ManualClock(datetime.now(timezone.utc))
    token = operator_token(shop.app, "auditor")
    client = browser(shop, token)
    cookie = client.cookies.get(TOKEN_COOKIE)
    assert token not in cookie and token.split("_")[-1] not in cookie      # a stolen cookie is not the token
    assert client.get("/admin/merchants").status_code == 200

    for forged in (cookie[:-1] + ("A" if cookie[-1] != "A" else "B"), "x" * len(cookie), token):
        intruder = TestClient(shop.app, base_url="http://127.0.0.1", cookies={TOKEN_COOKIE: forged})
        assert intruder.get("/admin/merchants", follow_redirects=False).status_code == 401

    clock.advance(ADMIN_SESSION_S + 1)                                    # a working day later
    assert client.get("/admin/merchants", follow_redirects=False).status_code == 401
    client = browser(shop, token)
    assert client.get("/admin/merchants").status_code == 200

    with shop.app.state.sessions() as s:                                  # the operator is deactivated
        s.execute(update(Operator).where(Operator.role == "auditor").values(active=False))
        s.commit()
    assert client.get("/admin/merchants", follow_redirects=False).status_code == 401
