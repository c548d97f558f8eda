"""`gatepay backend serve --workers 2` with simulated channels: the simulator's orders live in a
database every worker shares, so a QR order made through one worker is paid and seen paid through
any other (each worker used to keep its own simulator in memory: 3 of 12 orders stayed pending)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from backend.channels.compose import simulated_env
from sync.auth import TerminalAuth
from tests.backend.helpers import TEST_KEYS, make_app, make_merchant_site, register_terminal, wait_for
from tests.backend.test_workers import _healthy
from terminal.demo.backend_process import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_workers(tmp_path, sqlite_url):  # noqa: ANN001, ANN201
    port = free_port()
    log = tmp_path / "backend.log"
    env = {**os.environ, "GATEPAY_DATABASE_URL": sqlite_url, "GATEPAY_KEY_FILE": str(tmp_path / "keys.json"),
           **{f"GATEPAY_{k.upper()}": v for k, v in TEST_KEYS.items()}, **simulated_env(query_every_s=0)}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "terminal.cli", "backend", "serve", "--port", str(port),
                                 "--workers", "2", "--no-jobs"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    if not wait_for(lambda: _healthy(url), 60, every_s=0.2):
        proc.kill()
        pytest.fail(f"backend did not start:\n{log.read_text()[-3000:]}")
    yield url, log, sqlite_url
    proc.terminate()
    proc.wait(30)


def _pids(log: Path, path_part: str) -> set[int]:
    pids = set()
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "request" and path_part in entry.get("path", ""):
            pids.add(entry["pid"])
    return pids


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
    assert wait_for(lambda: len(_pids(log, "/channel-sim/pay")) == 2 and len(_pids(log, "/terminal/parking/orders")) == 2,
                    10), (_pids(log, "/channel-sim/pay"), _pids(log, "/terminal/parking/orders"))
    text = log.read_text(errors="replace")
    assert "SIMULATED" in text and "no real money moves" in text     # serve said so, loudly
