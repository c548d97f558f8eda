"""Racing payments on PostgreSQL against the real backend process: row locks keep one account
from being overdrawn, and one payment id races to exactly one booking."""
from __future__ import annotations

import threading
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient

from sync.auth import TerminalAuth
from tests.backend.helpers import TEST_KEYS, make_app
from tests.backend.money_helpers import open_canteen, payment_body
from terminal.demo.backend_process import BackendProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
KEY_ENV = {f"GATEPAY_{name.upper()}": value for name, value in TEST_KEYS.items()}


def _race(url: str, auth: TerminalAuth, bodies: list[dict]) -> list[dict]:
    barrier = threading.Barrier(len(bodies))
    results: list[dict | None] = [None] * len(bodies)

    def one(i: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            barrier.wait()
            response = client.post("/api/v1/terminal/payments", json=bodies[i], auth=auth)
            results[i] = {"code": response.status_code, **response.json()}

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results  # type: ignore[return-value]


def test_fifty_parallel_payments_on_one_account_with_money_for_thirty(pg_url: str, tmp_path) -> None:  # noqa: ANN001
    app = make_app(pg_url)
    with TestClient(app) as client:
        canteen = open_canteen(app, client, pin=False)     # a real backend process serves the race
        cid = canteen.customer(wallet_fen=3000)
        with BackendProcess(pg_url, tmp_path, extra_env=KEY_ENV) as backend:
            results = _race(backend.url, canteen.auth, [payment_body(cid, 100) for _ in range(50)])
            same_id = payment_body(cid, 1)
            repeats = _race(backend.url, canteen.auth, [same_id] * 10)
        assert all(r["code"] == 200 for r in results)
        approved = [r for r in results if r["status"] == "approved"]
        assert len(approved) == 30
        assert {r["reason"] for r in results if r["status"] == "declined"} == {"insufficient_funds"}
        assert sorted(r["balances"]["wallet_fen"] for r in approved) == list(range(0, 3000, 100))
        # one payment id raced ten times: booked once, the same answer for everyone
        assert {(r["code"], r["status"], r["reason"]) for r in repeats} == {(200, "declined", "insufficient_funds")}
        assert canteen.view(cid)["wallet_fen"] == 0
        assert canteen.ledger_ok() == []


def test_one_payment_id_racing_books_once(pg_url: str, tmp_path) -> None:  # noqa: ANN001
    app = make_app(pg_url)
    with TestClient(app) as client:
        canteen = open_canteen(app, client, pin=False)     # a real backend process serves the race
        cid = canteen.customer(wallet_fen=1000)
        body = payment_body(cid, 100, str(uuid.uuid4()))
        with BackendProcess(pg_url, tmp_path, extra_env=KEY_ENV) as backend:
            results = _race(backend.url, canteen.auth, [body] * 12)
        assert {r["code"] for r in results} == {200}
        assert {r["status"] for r in results} == {"approved"}
        assert len({r["booked_at"] for r in results}) == 1
        assert canteen.view(cid)["wallet_fen"] == 900
        assert canteen.ledger_ok() == []
