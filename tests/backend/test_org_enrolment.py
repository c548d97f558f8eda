"""Enrolment codes and terminal registration: a code works once, expires, is bound to its site
and lane, and a malformed registration body is refused with nothing written."""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.clock import ManualClock
from backend.models.terminals import EnrolmentCode, Terminal
from sync.auth import TerminalAuth
from core.signing import new_private_key, public_key_text
from core.wire import RegisterResponse
from tests.backend.helpers import TEST_KEYS, bearer, enrolment_code, make_app, make_merchant_site, operator_token

REGISTER = "/api/v1/terminals/register"


@pytest.fixture
def env(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    with TestClient(app) as client:
        yield app, client, make_merchant_site(app, kind="parking")


def _register(client, code: str, key=None):  # noqa: ANN001, ANN202
    return client.post(REGISTER, json={"enrolment_code": code, "public_key": public_key_text(key or new_private_key()),
                                       "hardware_id": "rk3568-0001"})


def _terminals(app) -> int:  # noqa: ANN001
    with app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(Terminal))


def test_code_registers_one_terminal_with_its_place_and_keys(env) -> None:  # noqa: ANN001
    app, client, ids = env
    code = enrolment_code(client, app, ids["merchant_id"], ids["site_id"], ids["lane_id"], scene="parking",
                          name="东门出口")
    key = new_private_key()
    response = _register(client, code.lower().replace("-", " "), key)   # typed sloppily: still the code
    assert response.status_code == 201, response.text
    body = RegisterResponse.model_validate(response.json())
    assert (body.merchant_id, body.site_id, body.lane_id, body.scene, body.name) == \
        (ids["merchant_id"], ids["site_id"], ids["lane_id"], "parking", "东门出口")
    assert body.card_hash_key == TEST_KEYS["card_hash_key"]
    assert client.get("/api/v1/terminal/time", auth=TerminalAuth(key, body.terminal_id)).status_code == 200
    with app.state.sessions() as s:   # only the keyed hash of the code is kept
        stored = s.scalars(select(EnrolmentCode)).one()
        assert code not in (stored.code_hash, stored.terminal_name) and stored.terminal_id == body.terminal_id


def test_code_works_only_once(env) -> None:  # noqa: ANN001
    app, client, ids = env
    code = enrolment_code(client, app, ids["merchant_id"], ids["site_id"], scene="parking")
    assert _register(client, code).status_code == 201
    again = _register(client, code)
    assert again.status_code == 409 and again.json()["detail"]["code"] == "enrolment_code_used"
    assert "新的注册码" in again.json()["detail"]["message_zh"]
    assert _terminals(app) == 1


def test_two_terminals_racing_for_one_code_get_one_registration(env) -> None:  # noqa: ANN001
    app, client, ids = env
    code = enrolment_code(client, app, ids["merchant_id"], ids["site_id"], scene="parking")
    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda _: _register(client, code).status_code, range(4)))
    assert statuses.count(201) == 1 and set(statuses) <= {201, 409}
    assert _terminals(app) == 1


def test_expired_code_is_refused(env) -> None:  # noqa: ANN001
    app, client, ids = env
    token = operator_token(app)
    code = client.post("/api/v1/enrolment-codes", headers=bearer(token),
                       json={"site_id": ids["site_id"], "name": "t", "valid_hours": 1}).json()["code"]
    app.state.clock = ManualClock(datetime.now(timezone.utc) + timedelta(seconds=3601))
    response = _register(client, code)
    assert response.status_code == 410 and response.json()["detail"]["code"] == "enrolment_code_expired"
    assert _terminals(app) == 0


def test_unknown_code_and_bad_key_are_refused(env) -> None:  # noqa: ANN001
    app, client, ids = env
    assert _register(client, "ABCD-EFGH-JKMN").status_code == 404
    code = enrolment_code(client, app, ids["merchant_id"], ids["site_id"], scene="parking")
    bad_key = base64.b64encode(b"\x01" * 31).decode().ljust(44, "A")
    response = client.post(REGISTER, json={"enrolment_code": code, "public_key": bad_key})
    assert response.status_code == 422 and response.json()["detail"]["code"] == "bad_public_key"
    with_nul = client.post(REGISTER, json={"enrolment_code": code, "public_key": public_key_text(new_private_key()),
                                           "hardware_id": "hw\x00"})
    assert with_nul.status_code == 422 and with_nul.json()["detail"]["code"] == "invalid_request"
    assert "hardware_id" in with_nul.json()["detail"]["message_en"]      # the field is named, in zh and en
    assert _register(client, code).status_code == 201    # the failed attempts did not spend the code


def test_code_for_a_lane_of_another_site_or_wrong_scene_is_refused(env) -> None:  # noqa: ANN001
    app, client, ids = env
    other = make_merchant_site(app, kind="parking", name="other")
    token = bearer(operator_token(app))
    wrong_lane = client.post("/api/v1/enrolment-codes", headers=token,
                             json={"site_id": ids["site_id"], "lane_id": other["lane_id"], "name": "t"})
    assert wrong_lane.status_code == 422 and wrong_lane.json()["detail"]["code"] == "lane_not_in_site"
    wrong_scene = client.post("/api/v1/enrolment-codes", headers=token,
                              json={"site_id": ids["site_id"], "name": "t", "scene": "canteen"})
    assert wrong_scene.status_code == 422 and wrong_scene.json()["detail"]["code"] == "scene_mismatch"


def test_suspended_merchant_cannot_register_terminals(env) -> None:  # noqa: ANN001
    app, client, ids = env
    code = enrolment_code(client, app, ids["merchant_id"], ids["site_id"], scene="parking")
    client.post(f"/api/v1/merchants/{ids['merchant_id']}/suspend", headers=bearer(operator_token(app)),
                json={"reason": "audit"})
    response = _register(client, code)
    assert response.status_code == 409 and response.json()["detail"]["code"] == "merchant_not_active"
    assert _terminals(app) == 0


def test_terminal_list_shows_last_seen(env) -> None:  # noqa: ANN001
    app, client, ids = env
    code = enrolment_code(client, app, ids["merchant_id"], ids["site_id"], scene="parking")
    key = new_private_key()
    tid = _register(client, code, key).json()["terminal_id"]
    listed = client.get("/api/v1/terminals", headers=bearer(operator_token(app))).json()
    assert [(t["id"], t["status"]) for t in listed] == [(tid, "active")]
    first_seen = listed[0]["last_seen_at"]
    app.state.clock = ManualClock(datetime.now(timezone.utc) + timedelta(seconds=60))
    client.get("/api/v1/terminal/time", auth=TerminalAuth(key, tid, clock=app.state.clock.timestamp))
    assert client.get(f"/api/v1/terminals/{tid}", headers=bearer(operator_token(app))).json()["last_seen_at"] > first_seen


_json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=80),
                            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
                            max_leaves=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(_json_values,
                      st.fixed_dictionaries({"enrolment_code": _json_values, "public_key": _json_values},
                                            optional={"hardware_id": _json_values, "x": _json_values})))
def test_garbage_registration_bodies_get_4xx_and_create_nothing(sqlite_url: str, body) -> None:  # noqa: ANN001
    app = make_app(sqlite_url)
    with TestClient(app) as client:
        response = client.post(REGISTER, json=body)
    assert 400 <= response.status_code < 500
    assert response.json()["detail"]["code"]
    assert _terminals(app) == 0


@pytest.mark.parametrize("raw", [b"", b"{", b'{"enrolment_code": "ABCDEF"', b"\xff\xfe", b"null",
                                 b'{"enrolment_code": "' + b"A" * 100_000 + b'"}'])
def test_truncated_and_oversized_registration_bodies(sqlite_url: str, raw: bytes) -> None:
    app = make_app(sqlite_url)
    with TestClient(app) as client:
        response = client.post(REGISTER, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"]["code"] == "invalid_request"
    assert _terminals(app) == 0


def test_logs_never_hold_codes_tokens_or_keys(sqlite_url: str, capsys) -> None:  # noqa: ANN001
    app = make_app(sqlite_url)
    with TestClient(app) as client:
        ids = make_merchant_site(app)
        token = operator_token(app)
        code = client.post("/api/v1/enrolment-codes", headers=bearer(token),
                           json={"site_id": ids["site_id"], "name": "t"}).json()["code"]
        key = new_private_key()
        tid = _register(client, code, key).json()["terminal_id"]
        client.get("/api/v1/terminal/time", auth=TerminalAuth(key, tid))
    logs = capsys.readouterr()
    text = logs.out + logs.err
    assert "terminal_registered" in text      # the logs are there ...
    for secret in (code, code.replace("-", ""), token, public_key_text(key), TEST_KEYS["card_hash_key"]):
        assert secret not in text             # ... without the secrets
