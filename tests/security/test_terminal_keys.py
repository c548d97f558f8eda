"""Stolen, cloned and replaying terminals, against the real backend process.

- Stolen: the operator disables the terminal; from then on its key is refused on every call
  (online payment, push, pull), and whatever the thief approves offline is never booked.
- Cloned (the store file and its key copied to a second box): both copies sign validly, so the
  backend cannot tell them apart per request. What it can detect: the two copies number their
  offline queue independently, so the same terminal sends one sequence number with two different
  payment ids. `clone_evidence` is that check (see docs/SECURITY.md); disabling the terminal
  stops both copies.
- Replay: the exact bytes of a signed request sent again are refused (nonce already used), and
  a request kept back beyond the signature window is refused (clock), so nothing is booked twice.
"""
from __future__ import annotations

import shutil
import uuid
from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy import func, select

from backend.models.payments import Payment
from sync.auth import TerminalAuth
from sync.client import SyncClient
from core.signing import private_key_from_bytes
from core.crypto import new_key
from terminal.enrol import device_auth
from tests.sync.rig import Canteen


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    canteen = Canteen(tmp_path_factory.mktemp("keys"))
    yield canteen
    canteen.close()


def clone_evidence(site: Canteen, terminal_id: int) -> list[tuple[int, int]]:
    """(terminal_seq, number of different payment ids) where one terminal used a seq twice."""
    with site.app.state.sessions() as s:
        rows = s.execute(select(Payment.terminal_seq, func.count(func.distinct(Payment.payment_uuid)))
                         .where(Payment.terminal_id == terminal_id, Payment.terminal_seq.is_not(None))
                         .group_by(Payment.terminal_seq)
                         .having(func.count(func.distinct(Payment.payment_uuid)) > 1)).all()
    return [(seq, n) for seq, n in rows]


def test_a_stolen_terminal_is_disabled_and_its_key_refused_everywhere(site, tmp_path):
    diner = site.diner(wallet_fen=10_000)
    term = site.terminal(tmp_path / "stolen")
    terminal_id = term.store.identity().terminal_id
    assert term.pay(diner).status == "approved"
    booked_before = site.payments(terminal_id)

    site.post(f"/api/v1/terminals/{terminal_id}/disable", {"reason": "reported stolen"}, expect=200)

    auth = device_auth(term.store)
    with httpx.Client(base_url=site.url) as http:
        for method, path in [("GET", "/api/v1/terminal/sync/pull?cursor=0&limit=10"), ("GET", "/api/v1/terminal/time"),
                             ("POST", "/api/v1/terminal/sync/push")]:
            r = http.request(method, path, json={"items": []} if method == "POST" else None, auth=auth)
            assert r.status_code == 403 and r.json()["detail"]["code"] == "terminal_disabled", (path, r.text)
    # The thief keeps paying: online is refused, so the terminal falls back to its offline rules;
    # whatever it approves there stays on the stolen box: the backend books none of it.
    for _ in range(3):
        term.pay(diner)
    term.engine.cycle()
    assert site.payments(terminal_id) == booked_before
    assert site.wallet(diner) == 10_000 - 500
    assert site.ledger_problems() == []
    term.close()


def test_a_cloned_terminal_shows_up_as_one_sequence_number_with_two_payment_ids(site, tmp_path):
    diner = site.diner(wallet_fen=100_000)
    key = new_key()
    original = site.terminal(tmp_path / "original", key=key)
    terminal_id = original.store.identity().terminal_id
    original.close()
    shutil.copytree(tmp_path / "original", tmp_path / "clone")         # the store file, copied whole
    dead = "http://127.0.0.1:9"                                         # both copies queue offline
    copies = [site.terminal(tmp_path / name, key=key, url=dead) for name in ("original", "clone")]
    for term in copies:
        for _ in range(2):
            assert term.pay(diner).status == "approved"   # offline approvals, seq 1 and 2 on each copy
    for term in copies:
        term.engine.client = SyncClient(site.url, device_auth(term.store))
        term.engine.cycle()
        term.close()
    # Both copies' payments are real meals and are booked (the signatures are valid) ...
    assert len(site.payments(terminal_id)) == 4
    # ... and the clone is visible: each sequence number arrived with two payment ids.
    assert clone_evidence(site, terminal_id) == [(1, 2), (2, 2)]
    assert site.ledger_problems() == []


def test_a_replayed_or_held_back_request_is_refused_and_books_nothing(site, tmp_path):
    diner = site.diner(wallet_fen=10_000)
    term = site.terminal(tmp_path / "replay")
    auth = device_auth(term.store)
    terminal_id = term.store.identity().terminal_id
    body = {"payment_id": str(uuid.uuid4()), "amount_fen": 300, "credential": {"kind": "face", "customer_id": diner},
            "occurred_at": datetime.now(timezone.utc).isoformat(), "meal_period": "lunch"}
    with httpx.Client(base_url=site.url) as http:
        signed = http.build_request("POST", "/api/v1/terminal/payments", json=body)
        for step in auth.auth_flow(signed):
            signed = step
        first = http.send(signed)
        assert first.status_code == 200 and first.json()["status"] == "approved"
        again = http.send(http.build_request("POST", "/api/v1/terminal/payments", content=signed.content,
                                             headers=dict(signed.headers)))
        assert again.status_code == 401 and again.json()["detail"]["code"] == "replay"
        # Signed ten minutes ago (beyond the 5-minute window), never sent until now.
        old = TerminalAuth(private_key_from_bytes(term.store.get_secret("device_key")), terminal_id,
                           clock=lambda: datetime.now(timezone.utc).timestamp() - 600)
        body2 = {**body, "payment_id": str(uuid.uuid4())}
        late = http.post("/api/v1/terminal/payments", json=body2, auth=old)
        assert late.status_code == 401 and late.json()["detail"]["code"] == "clock"
    assert site.wallet(diner) == 10_000 - 300
    assert site.ledger_problems() == []
    term.close()
