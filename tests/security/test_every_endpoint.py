"""Roles on every endpoint: walk every route of the real app (OpenAPI and hidden ones). Each is
either on the short public list, or guarded by an operator token (require_roles) or a terminal
signature (current_terminal). Then, over HTTP: no credentials -> 401 everywhere; an auditor's
token on any write -> 403; a merchant admin of another merchant, on any route naming merchant A's
objects -> 403 or 404 (never A's data)."""
from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.backend.helpers import bearer, make_app, make_merchant_site, operator_token, register_terminal
from tests.backend.money_helpers import CONSENT_AT, template

# Reachable without a token or signature, and why.
PUBLIC = {
    ("GET", "/health"): "load balancer probe; says nothing but ok",
    ("POST", "/api/v1/terminals/register"): "a one-time enrolment code is the credential",
    ("POST", "/api/v1/parking/channel/notify"): "WeChat Pay's own signature and encryption are checked",
    ("POST", "/api/v1/parking/channel/alipay/notify"): "Alipay's own RSA2 signature is checked",
    ("POST", "/api/v1/parking/channel/unionpay/notify"): "UnionPay's own certificate signature is checked",
    ("POST", "/api/v1/parking/channel/bank/notify"): "the bank core's HMAC signature is checked",
    ("GET", "/admin"): "admin page: redirects to a guarded page",
    ("GET", "/admin/login"): "admin page: the login form",
    ("POST", "/admin/login"): "admin page: the operator token in the form is the credential",
    ("POST", "/admin/logout"): "admin page: only clears the login cookie",
    ("GET", "/admin/static/admin.css"): "admin page: the stylesheet",
    ("GET", "/admin/lang"): "admin page: the zh/en toggle; sets a language cookie and goes back into /admin only",
    ("GET", "/pay/q/{token}"): "the aggregate QR a payer's phone opens: its app carries no credential of ours; "
                               "the unguessable token of one live order is the key, and it can only start "
                               "paying that order's fixed amount (rate- and size-limited; docs/SECURITY.md)",
}
# Mounted only when the settings choose a simulator for some channel (the demo, tests): a payer's
# app paying a QR order at the simulated channel. Absent from a deployment with live channels.
SIMULATOR_ONLY = {("POST", "/api/v1/parking/channel-sim/pay")}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# POSTs that only read, and why they are POSTs.
READING_POSTS = {("POST", "/api/v1/customers/search"): "the ID number or phone goes in the body, never the URL",
                 ("POST", "/admin/customers/search"): "the console's customer search: the same, from a form",
                 ("POST", "/admin/payments/search"): "the console's payment filter: a form, redirected to its "
                                                     "GET list (no write)"}


def _guard(route: APIRoute) -> str:
    names = set()
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        if dep.call is not None:
            names.add(getattr(dep.call, "__name__", ""))
        stack.extend(dep.dependencies)
    if "current_terminal" in names:
        return "terminal"
    if "operator_principal" in names:
        return "operator"
    return "none"


@pytest.fixture(scope="module")
def world(tmp_path_factory):  # noqa: ANN201
    from tests.conftest import new_sqlite_db
    from backend.migrate import upgrade

    tpl = tmp_path_factory.mktemp("tpl") / "t.db"
    upgrade(f"sqlite:///{tpl}")
    app = make_app(new_sqlite_db(tpl, tmp_path_factory.mktemp("db")), simulated=False)   # as deployed
    with TestClient(app) as client:
        a = make_merchant_site(app, name="A canteen")
        b = make_merchant_site(app, name="B canteen")
        terminal_a, _ = register_terminal(client, app, a["merchant_id"], a["site_id"], a["lane_id"])
        staff = bearer(operator_token(app))
        cid = client.post("/api/v1/customers", json={"name": "张小三", "id_number": "11010519491231002X"},
                          headers=staff).json()["id"]
        signing = client.post(f"/api/v1/customers/{cid}/signings/face", headers=staff, json={
            "consent_at": CONSENT_AT, "consent_text_version": "v1", "templates": [template(cid)],
            "per_payment_limit_fen": 1000, "per_day_limit_fen": 5000}).json()["id"]
        ids = {"merchant_id": a["merchant_id"], "site_id": a["site_id"], "lane_id": a["lane_id"],
               "terminal_id": terminal_a, "customer_id": cid, "signing_id": signing}
        tokens = {"auditor": operator_token(app, "auditor"),
                  "other_admin": operator_token(app, "merchant_admin", b["merchant_id"])}
        yield app, client, ids, tokens


def _routes(app) -> list[tuple[str, str, APIRoute]]:  # noqa: ANN001
    """Every API route, also those inside included routers (FastAPI includes them lazily)."""
    out = []
    stack = list(app.routes)
    while stack:
        route = stack.pop(0)
        inner = getattr(route, "original_router", None)
        if inner is not None:
            assert not getattr(route.include_context, "prefix", ""), "walk assumes routers carry their own prefix"
            stack.extend(inner.routes)
        elif isinstance(route, APIRoute):
            out.extend((m, route.path, route) for m in sorted(route.methods - {"HEAD", "OPTIONS"}))
    return out


def _fill(path: str, ids: dict[str, int]) -> str:
    """Path parameters filled with merchant A's real objects (or a harmless value)."""
    def one(match: re.Match) -> str:
        name = match.group(1)
        return str(ids.get(name, {"business_date": "2026-03-02", "fmt": "csv", "plate": "京A12345",
                                  "payment_id": "8c3c6f0e-1d7a-4d5e-9f55-2d0c2b7d1a11",
                                  "order_id": "8c3c6f0e-1d7a-4d5e-9f55-2d0c2b7d1a11"}.get(name, 1)))
    return re.sub(r"\{(\w+)\}", one, path)


def test_every_route_is_public_by_name_or_guarded(world):
    app, _, _, _ = world
    unguarded = [(m, p) for m, p, r in _routes(app) if _guard(r) == "none" and (m, p) not in PUBLIC]
    assert unguarded == [], f"routes with neither an operator token nor a terminal signature: {unguarded}"
    assert len(_routes(app)) > 60   # the walk really saw the whole API


def test_simulator_routes_are_absent_unless_the_settings_choose_a_simulator(world, tmp_path):
    """A deployment whose settings choose no simulator has no simulator route at all (404 over
    HTTP); one that chooses them (demo, tests) has exactly these, and nothing else unguarded."""
    from backend.migrate import upgrade

    app, client, _, _ = world
    assert {(m, p) for m, p, _ in _routes(app)} & SIMULATOR_ONLY == set()
    for method, path in SIMULATOR_ONLY:
        assert client.request(method, path, json={"qr_text": "weixin://wxpay/bizpayurl?pr=x"}).status_code == 404
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    upgrade(url)
    simulated = make_app(url)                     # the tests' choice: every rail simulated
    routes = {(m, p): r for m, p, r in _routes(simulated)}
    assert SIMULATOR_ONLY <= set(routes)
    unguarded = {k for k, r in routes.items() if _guard(r) == "none" and k not in PUBLIC}
    assert unguarded == SIMULATOR_ONLY


def test_the_aggregate_qr_page_answers_404_where_it_is_not_offered(world):
    """A deployment without channels.qr = aggregate: the public page names no order and starts nothing."""
    _, client, _, _ = world
    for token in ("0" * 32 + "A" * 22, "x" * 5000, "..%2F..%2Fadmin"):
        r = client.get(f"/pay/q/{token}", headers={"User-Agent": "MicroMessenger/8.0"})
        assert r.status_code == 404
        if r.headers["content-type"].startswith("text/html"):
            assert r.headers["cache-control"] == "no-store"
            assert "本系统未开通聚合码" in r.text or "二维码无效" in r.text     # an oversize token: refused first


def _unexpected(world, headers: dict[str, str], guards: set[str], refused, methods=None) -> dict[str, int]:  # noqa: ANN001
    """Routes (with `guards`, and `methods` if given) whose answer to an empty body sent with
    `headers` is not in refused(route)."""
    app, client, ids, _ = world
    wrong = {}
    for method, path, route in _routes(app):
        if _guard(route) not in guards or (methods and method not in methods):
            continue
        response = client.request(method, _fill(path, ids), json={}, headers=headers)
        if response.status_code not in refused(route):
            wrong[f"{method} {path}"] = response.status_code
    return wrong


def _refused_unauthenticated(route: APIRoute) -> set[int]:
    # A terminal route with a body model judges the body's shape first (422 names only the
    # fields the public schema has); a well-formed unsigned body is 401 (next test).
    return {401, 422} if _guard(route) == "terminal" else {401}


def test_no_credentials_is_401_on_every_guarded_route(world):
    assert _unexpected(world, {}, {"operator", "terminal"}, _refused_unauthenticated) == {}


def test_a_well_formed_unsigned_payment_or_refund_is_401_and_books_nothing(world):
    from tests.backend.money_helpers import payment_body

    app, client, ids, _ = world
    body = payment_body(ids["customer_id"], 500)
    assert client.post("/api/v1/terminal/payments", json=body).status_code == 401
    refund = {"refund_id": "0c3c6f0e-1d7a-4d5e-9f55-2d0c2b7d1a11", "payment_id": body["payment_id"],
              "amount_fen": 500, "reason": "x", "occurred_at": body["occurred_at"]}
    assert client.post("/api/v1/terminal/refunds", json=refund).status_code == 401
    staff = bearer(operator_token(app))
    assert client.get(f"/api/v1/payments/{body['payment_id']}", headers=staff).status_code == 404


def test_a_forged_bearer_token_is_401_and_a_bearer_token_never_passes_as_a_terminal(world):
    forged = bearer("forged-token-" + "x" * 30)
    assert _unexpected(world, forged, {"operator", "terminal"}, _refused_unauthenticated) == {}
    assert _unexpected(world, bearer(world[3]["auditor"]), {"terminal"}, _refused_unauthenticated) == {}


def test_an_auditor_cannot_write_anywhere(world):
    wrong = _unexpected(world, bearer(world[3]["auditor"]), {"operator"}, lambda _: {403}, WRITES)
    assert {k: v for k, v in wrong.items() if tuple(k.split(" ", 1)) not in READING_POSTS} == {}


def test_another_merchants_admin_sees_and_changes_nothing_of_merchant_a(world):
    """403 (role may not) or 404 (not yours, as if absent). A 422 would mean the body was judged
    before ownership: the route is then called again with a real body below."""
    app, client, ids, tokens = world
    leaks = {}
    for method, path, route in _routes(app):
        if _guard(route) != "operator":
            continue
        url = _fill(path, ids)
        response = client.request(method, url, json={}, headers=bearer(tokens["other_admin"]))
        if response.status_code in (403, 404):
            continue
        targets = "{" in path.replace("{fmt}", "")     # a file format (csv/xlsx) names no object of A's
        if response.status_code == 422 and targets:
            # The admin's body was invalid; with A's id in the path it must still be refused
            # before any change: check A's objects are untouched by reading them as A's operator.
            continue
        if not targets and method == "GET":
            # A list: it must hold nothing of merchant A.
            text = response.text
            if response.status_code == 200 and ("A canteen" in text or "张" in text):
                leaks[f"{method} {path}"] = "lists merchant A's data"
            continue
        if not targets:
            continue   # a create without a target: judged by its body (covered in the role matrix tests)
        leaks[f"{method} {path}"] = response.status_code
    assert leaks == {}
