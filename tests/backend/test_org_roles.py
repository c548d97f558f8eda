"""Who may do what: operators run everything, merchant admins manage only their own merchant's
sites and terminals (another merchant's objects are 404, as if absent), auditors only read."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.backend.helpers import bearer, make_app, make_merchant_site, operator_token, register_terminal


@pytest.fixture
def world(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    with TestClient(app) as client:
        mine = make_merchant_site(app, name="mine")
        other = make_merchant_site(app, name="other")
        t_mine, _ = register_terminal(client, app, mine["merchant_id"], mine["site_id"])
        t_other, _ = register_terminal(client, app, other["merchant_id"], other["site_id"])
        tokens = {"operator": operator_token(app),
                  "merchant_admin": operator_token(app, "merchant_admin", mine["merchant_id"]),
                  "auditor": operator_token(app, "auditor")}
        yield client, tokens, mine | {"terminal_id": t_mine}, other | {"terminal_id": t_other}


LIMITS = {"per_payment_fen": 3000, "per_customer_day_fen": 6000, "terminal_total_fen": 90000, "max_cache_age_s": 3600}
PERIODS = {"periods": [{"code": "lunch", "name_zh": "午餐", "name_en": "Lunch", "start": "11:00", "end": "13:30",
                        "price_fen": 800}]}


def _calls(ids: dict) -> dict[str, tuple[str, str, object]]:
    m, s, t = ids["merchant_id"], ids["site_id"], ids["terminal_id"]
    return {
        "read merchant": ("GET", f"/api/v1/merchants/{m}", None),
        "read fees": ("GET", f"/api/v1/merchants/{m}/fees", None),
        "read site": ("GET", f"/api/v1/sites/{s}", None),
        "read meal periods": ("GET", f"/api/v1/sites/{s}/meal-periods", None),
        "read terminal": ("GET", f"/api/v1/terminals/{t}", None),
        "add site": ("POST", f"/api/v1/merchants/{m}/sites", {"name": "二食堂", "kind": "canteen"}),
        "add lane": ("POST", f"/api/v1/sites/{s}/lanes", {"name": "2号口"}),
        "set meal periods": ("PUT", f"/api/v1/sites/{s}/meal-periods", PERIODS),
        "enrolment code": ("POST", "/api/v1/enrolment-codes", {"site_id": s, "name": "x"}),
        "disable terminal": ("POST", f"/api/v1/terminals/{t}/disable", {}),
        "set offline limits": ("PUT", f"/api/v1/sites/{s}/offline-limits", LIMITS),
        "set fees": ("PUT", f"/api/v1/merchants/{m}/fees", {"fees": [{"method": "face", "rate_bp": 30}]}),
        "suspend merchant": ("POST", f"/api/v1/merchants/{m}/suspend", {"reason": "r"}),
    }


READS = {"read merchant", "read fees", "read site", "read meal periods", "read terminal"}
MANAGE = {"add site", "add lane", "set meal periods", "enrolment code", "disable terminal"}
BANK_ONLY = {"set offline limits", "set fees", "suspend merchant"}


def _expected(role: str, call: str, own: bool) -> set[int]:
    ok = {200, 201}
    if role == "operator":
        return ok
    if role == "auditor":
        return ok if call in READS else {403}
    # merchant admin: own merchant as below; another merchant is invisible (404), except where its
    # role alone already refuses the action (403 comes first, and reveals nothing).
    if call in BANK_ONLY:
        return {403}
    return ok if own else {404}


def test_role_matrix(world) -> None:  # noqa: ANN001
    client, tokens, mine, other = world
    failures = []
    for role in ("auditor", "merchant_admin", "operator"):   # operator last: it suspends merchants
        for own, ids in ((True, mine), (False, other)):
            for call, (method, url, body) in _calls(ids).items():
                response = client.request(method, url, json=body, headers=bearer(tokens[role]))
                if response.status_code not in _expected(role, call, own):
                    failures.append((role, "own" if own else "other", call, response.status_code, response.text[:120]))
    assert failures == []


def test_merchant_admin_lists_only_its_own(world) -> None:  # noqa: ANN001
    client, tokens, mine, _other = world
    admin = bearer(tokens["merchant_admin"])
    assert [m["id"] for m in client.get("/api/v1/merchants", headers=admin).json()] == [mine["merchant_id"]]
    assert [t["id"] for t in client.get("/api/v1/terminals", headers=admin).json()] == [mine["terminal_id"]]
    everyone = client.get("/api/v1/terminals", headers=bearer(tokens["auditor"])).json()
    assert len(everyone) == 2
    assert client.get("/api/v1/operators", headers=admin).status_code == 403


def test_missing_or_bad_token_is_401(world) -> None:  # noqa: ANN001
    client, _tokens, mine, _other = world
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer " + "x" * 5000}):
        response = client.get(f"/api/v1/merchants/{mine['merchant_id']}", headers=headers)
        assert response.status_code == 401 and response.json()["detail"]["code"] in {"no_token", "bad_token"}


def test_operator_creates_operators_and_a_deactivated_token_stops_working(world) -> None:  # noqa: ANN001
    client, tokens, mine, _other = world
    op = bearer(tokens["operator"])
    created = client.post("/api/v1/operators", headers=op,
                          json={"name": "王会计", "role": "merchant_admin", "merchant_id": mine["merchant_id"]})
    assert created.status_code == 201
    token = created.json()["token"]
    assert client.get("/api/v1/merchants", headers=bearer(token)).status_code == 200
    listed = client.get("/api/v1/operators", headers=op).json()
    assert all("token" not in o for o in listed) and "王会计" in [o["name"] for o in listed]
    client.post(f"/api/v1/operators/{created.json()['id']}/deactivate", headers=op)
    assert client.get("/api/v1/merchants", headers=bearer(token)).status_code == 401


def test_inconsistent_operators_are_refused(world) -> None:  # noqa: ANN001
    client, tokens, _mine, _other = world
    for body in ({"name": "a", "role": "merchant_admin"}, {"name": "a", "role": "auditor", "merchant_id": 1},
                 {"name": "a", "role": "root"}, {"name": "a", "role": "merchant_admin", "merchant_id": 2**40}):
        response = client.post("/api/v1/operators", headers=bearer(tokens["operator"]), json=body)
        assert response.status_code == 422, body


def test_only_operators_create_operators(world) -> None:  # noqa: ANN001
    client, tokens, _mine, _other = world
    for role in ("merchant_admin", "auditor"):
        response = client.post("/api/v1/operators", headers=bearer(tokens[role]), json={"name": "a", "role": "operator"})
        assert response.status_code == 403 and response.json()["detail"]["code"] == "forbidden_role"
