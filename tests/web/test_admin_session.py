"""The admin web session against a guesser, a copied cookie, a planted CSRF token and framing:
real app, real database (PostgreSQL when configured), two app instances on one database standing
in for two worker processes."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from core.clock import ManualClock
from backend.web import login_throttle
from backend.web.session import CSRF_COOKIE, TOKEN_COOKIE
from tests.backend.helpers import make_app, operator_token
from tests.backend.money_helpers import open_canteen


@pytest.fixture
def shop(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    app.state.clock = ManualClock(datetime.now(timezone.utc))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield open_canteen(app, client)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def from_address(app, address: str) -> TestClient:  # noqa: ANN001
    return TestClient(app, base_url="http://127.0.0.1", client=(address, 50000))


def try_login(client: TestClient, token: str):  # noqa: ANN201
    form = client.get("/admin/login")
    return client.post("/admin/login", data={"token": token, "csrf": csrf_of(form.text)}, follow_redirects=False)


def test_a_guesser_is_locked_out_even_with_the_right_token_and_told_when_to_come_back(shop, db_url: str) -> None:  # noqa: ANN001
    guesser = from_address(shop.app, "203.0.113.7")
    for n in range(login_throttle.PER_CLIENT):
        assert try_login(guesser, f"gpo_guess{n}").status_code == 401
    locked = try_login(guesser, shop.token)                     # the right token, too late
    assert locked.status_code == 429 and TOKEN_COOKIE not in locked.headers.get("set-cookie", "")
    assert "登录失败次数过多" in locked.text and "Too many failed logins" in locked.text
    assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert "15 分钟" in locked.text

    other_worker = make_app(db_url)                             # another process on the same database
    other_worker.state.clock = shop.app.state.clock
    assert try_login(from_address(other_worker, "203.0.113.7"), shop.token).status_code == 429
    other_worker.state.engine.dispose()

    assert try_login(from_address(shop.app, "198.51.100.2"), shop.token).status_code == 303  # someone else
    shop.app.state.clock.advance(minutes=15, seconds=1)
    assert try_login(guesser, shop.token).status_code == 303


def test_a_guesser_spread_over_many_addresses_locks_the_login_for_a_while(shop) -> None:  # noqa: ANN001
    per_address = login_throttle.PER_CLIENT
    for a in range(login_throttle.EVERYONE // per_address):
        client = from_address(shop.app, f"192.0.2.{a + 1}")
        for n in range(per_address):
            assert try_login(client, f"gpo_guess{a}x{n}").status_code == 401
    fresh = try_login(from_address(shop.app, "198.51.100.9"), shop.token)
    assert fresh.status_code == 429 and int(fresh.headers["Retry-After"]) > 0
    shop.app.state.clock.advance(minutes=16)
    assert try_login(from_address(shop.app, "198.51.100.9"), shop.token).status_code == 303


def test_logout_ends_the_session_for_every_copy_of_the_cookie_in_every_worker(shop, db_url: str) -> None:  # noqa: ANN001
    browser = from_address(shop.app, "198.51.100.3")
    assert try_login(browser, shop.token).status_code == 303
    cookie = browser.cookies.get(TOKEN_COOKIE)
    thief = TestClient(shop.app, base_url="http://127.0.0.1", cookies={TOKEN_COOKIE: cookie})
    other_worker = make_app(db_url)
    other_worker.state.clock = shop.app.state.clock
    thief_elsewhere = TestClient(other_worker, base_url="http://127.0.0.1", cookies={TOKEN_COOKIE: cookie})
    assert thief.get("/admin/merchants").status_code == 200
    assert thief_elsewhere.get("/admin/merchants").status_code == 200

    page = browser.get("/admin/merchants").text
    out = browser.post("/admin/logout", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/admin/login"
    assert thief.get("/admin/merchants", follow_redirects=False).status_code == 401
    assert thief_elsewhere.get("/admin/merchants", follow_redirects=False).status_code == 401
    other_worker.state.engine.dispose()


def test_a_form_token_from_another_session_or_planted_in_a_cookie_is_refused(shop) -> None:  # noqa: ANN001
    mine = from_address(shop.app, "198.51.100.4")
    assert try_login(mine, shop.token).status_code == 303
    theirs = from_address(shop.app, "198.51.100.5")
    assert try_login(theirs, operator_token(shop.app, "operator")).status_code == 303
    their_token = csrf_of(theirs.get("/admin/settlement").text)
    run = {"business_date": "2026-01-01"}
    assert mine.post("/admin/settlement/run", data={**run, "csrf": their_token}).status_code == 403
    mine.cookies.set(CSRF_COOKIE, "planted-by-a-sibling-site", domain="127.0.0.1", path="/admin")
    assert mine.post("/admin/settlement/run", data={**run, "csrf": "planted-by-a-sibling-site"}).status_code == 403
    my_token = csrf_of(mine.get("/admin/settlement").text)
    assert mine.post("/admin/settlement/run", data={**run, "csrf": my_token}).status_code == 200
    # the same session keeps its token; a new login gets another
    again = from_address(shop.app, "198.51.100.4")
    assert try_login(again, shop.token).status_code == 303
    assert csrf_of(again.get("/admin/settlement").text) != my_token


@pytest.mark.parametrize("path", ["/admin/login", "/admin/merchants", "/admin/static/admin.css", "/admin"])
def test_admin_answers_cannot_be_framed_and_load_only_their_own_files(shop, path: str) -> None:  # noqa: ANN001
    answer = TestClient(shop.app, base_url="http://127.0.0.1").get(path, follow_redirects=False)
    assert answer.headers["X-Frame-Options"] == "DENY"
    csp = answer.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp and "form-action 'self'" in csp
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
