"""schemathesis against the backend's OpenAPI: every operation gets generated bodies, paths and
query strings (valid and invalid); none may answer a 5xx. Operator endpoints get an operator's
token, terminal endpoints a real signature (so the fuzz reaches the handlers, not just the auth
checks). Bounded for CI: FUZZ_EXAMPLES (default 5) examples per operation; the long run is

    GATEPAY_FUZZ_EXAMPLES=300 .venv/bin/python -m pytest tests/fuzz/test_api_schemathesis.py
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from sync.auth import TerminalAuth
from tests.backend.helpers import bearer, make_app, make_merchant_site, operator_token, register_terminal
from tests.backend.money_helpers import CONSENT_AT, template

FUZZ_EXAMPLES = int(os.environ.get("GATEPAY_FUZZ_EXAMPLES", "5"))


@pytest.fixture(scope="module")
def world(sqlite_template, tmp_path_factory):  # noqa: ANN001, ANN201
    from tests.conftest import new_sqlite_db

    app = make_app(new_sqlite_db(sqlite_template, tmp_path_factory.mktemp("fuzz")))
    client = TestClient(app, raise_server_exceptions=False)
    client.__enter__()
    ids = make_merchant_site(app)
    terminal_id, key = register_terminal(client, app, ids["merchant_id"], ids["site_id"], ids["lane_id"])
    staff = bearer(operator_token(app))
    cid = client.post("/api/v1/customers", json={"name": "张小三"}, headers=staff).json()["id"]
    client.post(f"/api/v1/customers/{cid}/signings/face", headers=staff, json={
        "consent_at": CONSENT_AT, "consent_text_version": "v1", "templates": [template(cid)],
        "per_payment_limit_fen": 1000, "per_day_limit_fen": 5000})
    yield app, client, staff, TerminalAuth(key, terminal_id)
    client.__exit__(None, None, None)


def _call(world, case) -> int:  # noqa: ANN001
    _app, client, staff, auth = world
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    headers = {**(kwargs.pop("headers", None) or {}), **staff}
    signed = auth if case.path.startswith("/api/v1/terminal") else None
    passed = {k: v for k, v in kwargs.items() if k in ("params", "json", "content", "files")}
    if "data" in kwargs:
        passed["content"] = kwargs["data"]
    return client.request(kwargs["method"], kwargs["url"], headers=headers, auth=signed, **passed).status_code


def test_no_operation_answers_a_server_error(world):  # noqa: ANN001
    # schemathesis' pytest plugin does not run on this pytest; its strategies are driven here directly.
    schema = schemathesis.openapi.from_asgi("/openapi.json", world[0])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    errors: dict[str, str] = {}
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_5xx(case) -> None:  # noqa: ANN001
            status = _call(world, case)
            assert status < 500, f"{case.method} {case.path} answered {status}"

        try:
            no_5xx()
        except AssertionError as exc:
            errors[f"{operation.method.upper()} {operation.path}"] = str(exc)[:300]
    assert errors == {}
