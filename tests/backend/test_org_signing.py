"""Terminal request signing as the backend enforces it: a registered terminal's signed call
works; anything forged, stale, replayed, tampered or from a disabled or unknown terminal is refused
and leaves no trace (no nonce stored, last seen unchanged)."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.clock import ManualClock
from backend.auth import parse_signed_headers
from backend.models.terminals import Terminal, UsedNonce
from sync.auth import TerminalAuth
from core.signing import (H_NONCE, H_SIGNATURE, H_TERMINAL, H_TIMESTAMP, new_private_key, public_key_text,
                          sign_headers)
from tests.backend.helpers import bearer, make_app, make_merchant_site, operator_token, register_terminal

TIME = "/api/v1/terminal/time"


@pytest.fixture
def env(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    with TestClient(app) as client:
        ids = make_merchant_site(app)
        terminal_id, key = register_terminal(client, app, ids["merchant_id"], ids["site_id"], ids["lane_id"])
        yield app, client, terminal_id, key


def _nonces(app) -> int:  # noqa: ANN001
    with app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(UsedNonce))


def _refused(response, status: int, code: str) -> None:  # noqa: ANN001
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail["code"] == code
    assert detail["message_zh"] and detail["message_en"]


def test_signed_request_is_accepted_and_marks_the_terminal_seen(env) -> None:  # noqa: ANN001
    app, client, terminal_id, key = env
    response = client.get(TIME + "?probe=1&x=%E4%B8%AD", auth=TerminalAuth(key, terminal_id))
    assert response.status_code == 200, response.text
    assert abs(_server_ts(response) - time.time()) < 60
    with app.state.sessions() as s:
        assert s.get(Terminal, terminal_id).last_seen_at is not None
    assert _nonces(app) == 1


def _server_ts(response) -> float:  # noqa: ANN001
    from datetime import datetime

    return datetime.fromisoformat(response.json()["server_time"]).timestamp()


def test_signature_by_another_key_is_refused(env) -> None:  # noqa: ANN001
    app, client, terminal_id, _key = env
    _refused(client.get(TIME, auth=TerminalAuth(new_private_key(), terminal_id)), 401, "bad_signature")
    assert _nonces(app) == 0


def test_unknown_terminal_is_refused(env) -> None:  # noqa: ANN001
    _app, client, terminal_id, key = env
    _refused(client.get(TIME, auth=TerminalAuth(key, terminal_id + 1000)), 401, "bad_signature")


def test_stale_and_future_timestamps_are_refused(env) -> None:  # noqa: ANN001
    app, client, terminal_id, key = env
    window = app.state.settings.signature_window_s
    for skew in (-window - 5, window + 5):
        _refused(client.get(TIME, auth=TerminalAuth(key, terminal_id, clock=lambda s=skew: time.time() + s)),
                 401, "clock")
    # Within the window is fine (a terminal clock a little off is normal).
    ok = client.get(TIME, auth=TerminalAuth(key, terminal_id, clock=lambda: time.time() - window + 30))
    assert ok.status_code == 200


def test_replayed_nonce_is_refused(env) -> None:  # noqa: ANN001
    app, client, terminal_id, key = env
    headers = sign_headers(key, terminal_id, "GET", TIME, b"")
    assert client.get(TIME, headers=headers).status_code == 200
    _refused(client.get(TIME, headers=headers), 401, "replay")
    assert _nonces(app) == 1


def test_tampered_body_path_or_method_is_refused(env) -> None:  # noqa: ANN001
    app, client, terminal_id, key = env
    signed = sign_headers(key, terminal_id, "GET", TIME, b'{"amount_fen": 100}')
    _refused(client.request("GET", TIME, content=b'{"amount_fen": 900}', headers=signed), 401, "bad_signature")
    signed = sign_headers(key, terminal_id, "GET", TIME + "?cursor=1", b"")
    _refused(client.get(TIME + "?cursor=2", headers=signed), 401, "bad_signature")
    signed = sign_headers(key, terminal_id, "POST", TIME, b"")
    _refused(client.get(TIME, headers=signed), 401, "bad_signature")
    assert _nonces(app) == 0


def test_disabled_terminal_is_refused_until_enabled(env) -> None:  # noqa: ANN001
    app, client, terminal_id, key = env
    token = operator_token(app)
    disabled = client.post(f"/api/v1/terminals/{terminal_id}/disable", headers=bearer(token),
                           json={"reason": "stolen"})
    assert disabled.json()["status"] == "disabled"
    refused = client.get(TIME, auth=TerminalAuth(key, terminal_id))
    _refused(refused, 403, "terminal_disabled")
    assert "停用" in refused.json()["detail"]["message_zh"]
    client.post(f"/api/v1/terminals/{terminal_id}/enable", headers=bearer(token))
    assert client.get(TIME, auth=TerminalAuth(key, terminal_id)).status_code == 200


def test_a_terminal_row_changed_after_a_signed_call_takes_effect_on_the_next_call(env) -> None:  # noqa: ANN001
    """The parsed key is cached, the row is not: a new key or a disable counts at once."""
    app, client, terminal_id, key = env
    token = operator_token(app)
    assert client.get(TIME, auth=TerminalAuth(key, terminal_id)).status_code == 200
    client.post(f"/api/v1/terminals/{terminal_id}/disable", headers=bearer(token), json={"reason": "stolen"})
    _refused(client.get(TIME, auth=TerminalAuth(key, terminal_id)), 403, "terminal_disabled")
    client.post(f"/api/v1/terminals/{terminal_id}/enable", headers=bearer(token))
    new_key = new_private_key()
    with app.state.sessions() as s:
        s.get(Terminal, terminal_id).public_key = public_key_text(new_key)
        s.commit()
    _refused(client.get(TIME, auth=TerminalAuth(key, terminal_id)), 401, "bad_signature")
    assert client.get(TIME, auth=TerminalAuth(new_key, terminal_id)).status_code == 200


def test_missing_header_is_refused(env) -> None:  # noqa: ANN001
    app, client, terminal_id, key = env
    for drop in (H_TERMINAL, H_TIMESTAMP, H_NONCE, H_SIGNATURE):
        headers = sign_headers(key, terminal_id, "GET", TIME, b"")
        del headers[drop]
        _refused(client.get(TIME, headers=headers), 401, "unsigned")
    assert _nonces(app) == 0


def _valid_headers() -> dict[str, str]:
    return sign_headers(new_private_key(), 7, "GET", TIME, b"", now=1_700_000_000)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from([H_TERMINAL, H_TIMESTAMP, H_NONCE, H_SIGNATURE]),
       value=st.one_of(st.text(max_size=300), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_header_parser_rejects_garbage_with_a_clear_error(name: str, value: str) -> None:
    headers = _valid_headers()
    headers[name] = value
    try:
        parsed = parse_signed_headers(headers)
    except ValueError as exc:
        assert str(exc)   # a message naming what is wrong, never another exception
    else:                 # whatever passes is well-formed
        assert 1 <= parsed.terminal_id <= 2**31 - 1 and len(parsed.nonce) == 32
        assert len(parsed.signature) == 88


def test_header_parser_accepts_what_the_signer_makes() -> None:
    parsed = parse_signed_headers(_valid_headers())
    assert parsed.terminal_id == 7 and parsed.timestamp == 1_700_000_000


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headers=st.dictionaries(st.sampled_from([H_TERMINAL, H_TIMESTAMP, H_NONCE, H_SIGNATURE, "X-Other"]),
                               st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=120)))
def test_garbled_headers_over_http_get_401_and_store_nothing(sqlite_url: str, headers: dict[str, str]) -> None:
    app = make_app(sqlite_url)
    with TestClient(app) as client:
        response = client.get(TIME, headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"]["code"] in {"unsigned", "clock", "bad_signature"}
    assert _nonces(app) == 0


def test_nonces_older_than_twice_the_window_are_purged(env) -> None:  # noqa: ANN001
    app, client, terminal_id, key = env
    app.state.clock = ManualClock(datetime.now(timezone.utc))
    client.get(TIME, auth=TerminalAuth(key, terminal_id, clock=app.state.clock.timestamp))
    assert _nonces(app) == 1
    app.state.clock.advance(2 * app.state.settings.signature_window_s + 61)
    assert client.get(TIME, auth=TerminalAuth(key, terminal_id, clock=app.state.clock.timestamp)).status_code == 200
    assert _nonces(app) == 1     # the old one is gone, the new one kept


def test_oversized_signed_body_is_413_before_any_check(env) -> None:  # noqa: ANN001
    app, client, terminal_id, key = env
    from backend.auth import MAX_SIGNED_BODY

    body = b"x" * (MAX_SIGNED_BODY + 1)
    response = client.request("GET", TIME, content=body, auth=TerminalAuth(key, terminal_id))
    _refused(response, 413, "body_too_large")
    assert _nonces(app) == 0


def test_oversized_chunked_body_is_413(env) -> None:  # noqa: ANN001
    app, client, terminal_id, key = env
    from backend.auth import MAX_SIGNED_BODY

    def chunks():  # noqa: ANN202 - no Content-Length: sent chunked
        for _ in range(MAX_SIGNED_BODY // 65536 + 2):
            yield b"x" * 65536

    headers = sign_headers(key, terminal_id, "GET", TIME, b"")
    _refused(client.request("GET", TIME, content=chunks(), headers=headers), 413, "body_too_large")
    assert _nonces(app) == 0
