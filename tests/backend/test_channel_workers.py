"""`gatepay backend serve --workers 2` with simulated channels: the simulator's orders live in a
database every worker shares, so a QR order made through one worker is paid and seen paid through
any other (each worker used to keep its own simulator in memory: 3 of 12 orders stayed pending)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import httpx
import pytest

from sync.auth import TerminalAuth
from tests.backend.helpers import TEST_KEYS, make_app, make_merchant_site, register_terminal, wait_for
from tests.backend.test_workers import request_pids
from terminal.demo.backend_process import BackendProcess


@pytest.fixture
def two_workers(tmp_path, sqlite_url):  # noqa: ANN001, ANN201
    keys = {f"GATEPAY_{k.upper()}": v for k, v in TEST_KEYS.items()}       # the seeding app's keys
    backend = BackendProcess(sqlite_url, tmp_path, extra_env=keys, serve_args=["--workers", "2", "--no-jobs"],
                             log_path=tmp_path / "backend.log").start(timeout=60)
    yield backend.url, backend.log_path, sqlite_url
    backend.stop()


def test_qr_orders_made_and_paid_through_different_workers_are_all_paid(two_workers):  # noqa: ANN001
    url, log, db_url = two_workers
    seed = make_app(db_url)                    # the same database and keys, to seed it in-process
    ids = make_merchant_site(seed, kind="parking")
    with httpx.Client(base_url=url, timeout=10) as client:
        tid, key = register_terminal(client, seed, ids["merchant_id"], ids["site_id"], ids["lane_id"], scene="parking")
    auth = TerminalAuth(key, tid)

    def fresh() -> httpx.Client:               # a new connection: the kernel picks a worker by its port
        return httpx.Client(base_url=url, timeout=10)

    orders = []
    for _ in range(12):
        body = {"order_id": str(uuid.uuid4()), "plate": "京A12345", "amount_fen": 700,
                "session_id": str(uuid.uuid4()), "occurred_at": datetime.now(timezone.utc).isoformat()}
        with fresh() as c:
            r = c.post("/api/v1/terminal/parking/orders", json=body, auth=auth)
        assert r.status_code == 201, r.text
        orders.append(r.json())
    for order in orders:                       # the driver's app pays; the channel notifies a worker
        with fresh() as c:
            r = c.post("/api/v1/parking/channel-sim/pay", json={"qr_text": order["qr_text"]})
        assert r.status_code == 200, r.text
    for order in orders:                       # and every worker sees every order paid
        for _ in range(2):
            with fresh() as c:
                state = c.get(f"/api/v1/terminal/parking/orders/{order['order_id']}", auth=auth).json()
            assert state["status"] == "paid", state
    # access-log lines are written after the answer
    def both_workers() -> tuple[set[int], set[int]]:
        return request_pids(log, "/channel-sim/pay"), request_pids(log, "/terminal/parking/orders")
    assert wait_for(lambda: [len(pids) for pids in both_workers()] == [2, 2], 10), both_workers()
    text = log.read_text(errors="replace")
    assert "SIMULATED" in text and "no real money moves" in text     # serve said so, loudly
