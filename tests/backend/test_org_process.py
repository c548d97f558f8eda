"""Registration and a signed call against the real backend process over loopback (uvicorn):
the path and query the server verifies are exactly the bytes the terminal signed, including
percent-encoded characters."""
from __future__ import annotations

from pathlib import Path

import httpx

from sync.auth import TerminalAuth
from core.signing import new_private_key, public_key_text
from tests.backend.helpers import TEST_KEYS, bearer, make_app, make_merchant_site, operator_token
from terminal.demo.backend_process import BackendProcess


def test_register_and_signed_calls_over_loopback(db_url: str, tmp_path: Path) -> None:
    seeding = make_app(db_url)       # same keys as the process: tokens and codes hash alike
    ids = make_merchant_site(seeding, kind="parking")
    token = operator_token(seeding)
    seeding.state.engine.dispose()
    env = {"GATEPAY_DATA_KEY": TEST_KEYS["data_key"], "GATEPAY_HASH_KEY": TEST_KEYS["hash_key"],
           "GATEPAY_CARD_HASH_KEY": TEST_KEYS["card_hash_key"]}
    with BackendProcess(db_url, tmp_path, extra_env=env) as backend, httpx.Client(base_url=backend.url) as client:
        code = client.post("/api/v1/enrolment-codes", headers=bearer(token),
                           json={"site_id": ids["site_id"], "lane_id": ids["lane_id"], "name": "出口1"}).json()["code"]
        key = new_private_key()
        registered = client.post("/api/v1/terminals/register",
                                 json={"enrolment_code": code, "public_key": public_key_text(key)})
        assert registered.status_code == 201, registered.text
        auth = TerminalAuth(key, registered.json()["terminal_id"])
        for url in ("/api/v1/terminal/time", "/api/v1/terminal/time?plate=%E4%BA%ACA12345&x=a+b&y=%2F"):
            response = client.get(url, auth=auth)
            assert response.status_code == 200, (url, response.text)
        replay = client.build_request("GET", "/api/v1/terminal/time")
        auth_flow = auth.auth_flow(replay)
        signed = next(auth_flow)
        assert client.send(signed).status_code == 200
        assert client.send(signed).json()["detail"]["code"] == "replay"
