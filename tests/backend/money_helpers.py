"""Helpers for the money tests: a canteen with a registered terminal, customers signed up
through the real operator API, top-ups, grants, and signed payment calls."""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.clock import ManualClock, SystemClock
from sync.auth import TerminalAuth
from tests.backend.helpers import bearer, make_app, make_merchant_site, operator_token, register_terminal

CONSENT_AT = "2026-03-01T08:00:00+08:00"


def template(seed: int) -> str:
    """A face template far from every other seed's (random unit vectors in 128-d)."""
    vector = np.random.default_rng(seed).normal(size=128).astype("<f4")
    vector /= np.linalg.norm(vector)
    return base64.b64encode(vector.astype("<f4").tobytes()).decode()


@dataclass
class Canteen:
    app: FastAPI
    client: object
    token: str
    merchant_id: int
    site_id: int
    terminal_id: int
    key: Ed25519PrivateKey

    @property
    def staff(self) -> dict[str, str]:
        return bearer(self.token)

    @property
    def auth(self) -> TerminalAuth:
        # Sign with the backend's clock, so a test that moves app.state.clock stays in the window.
        return TerminalAuth(self.key, self.terminal_id, clock=self.app.state.clock.timestamp)

    def at(self, when: datetime) -> None:
        """Set the backend's clock (operators, terminals and simulators all follow it)."""
        if isinstance(self.app.state.clock, ManualClock):
            self.app.state.clock.set(when)
        else:
            self.app.state.clock = ManualClock(when)

    def now(self, zone: tzinfo = timezone.utc) -> datetime:
        """The backend's time: the canteen's day is pinned (open_canteen), never today's date."""
        return self.app.state.clock.now().astimezone(zone)

    def post(self, path: str, json: object, expect: int | None = 201) -> dict:  # noqa: A002
        response = self.client.post(path, json=json, headers=self.staff)
        if expect is not None:
            assert response.status_code == expect, response.text
        return response.json()

    def customer(self, name: str = "张小三", *, wallet_fen: int = 0, seed: int | None = None,
                 per_payment: int = 100_000, per_day: int = 1_000_000, group_id: int | None = None,
                 funding_order: str | None = None, id_number: str | None = None) -> int:
        body = {"name": name, "group_id": group_id}
        if id_number:
            body["id_number"] = id_number
        cid = self.post("/api/v1/customers", body)["id"]
        self.post(f"/api/v1/customers/{cid}/signings/face",
                  {"consent_at": CONSENT_AT, "consent_text_version": "v1", "templates": [template(seed or cid)],
                   "per_payment_limit_fen": per_payment, "per_day_limit_fen": per_day,
                   "funding_order": funding_order})
        if wallet_fen:
            self.deposit(cid, wallet_fen)
        return cid

    def card_holder(self, card: str, *, wallet_fen: int = 0, bank_fen: int | None = None) -> int:
        """A diner who pays with their own money only, the wallet first, then `card`, bound through
        the API (and opened at the bank simulator with `bank_fen` when given)."""
        cid = self.customer(wallet_fen=wallet_fen, funding_order="own_only")
        if bank_fen is not None:
            self.app.state.corebanking.open_account(card, bank_fen)
        response = self.client.put(f"/api/v1/customers/{cid}/bank-card", json={"card_number": card},
                                   headers=self.staff)
        assert response.status_code == 200, response.text
        return cid

    def deposit(self, customer_id: int, amount_fen: int) -> None:
        self.post(f"/api/v1/customers/{customer_id}/deposits",
                  {"deposit_id": f"dep-{uuid.uuid4().hex}", "amount_fen": amount_fen})

    def program(self, **kw) -> int:  # noqa: ANN003
        body = {"name": "lunch subsidy", "funder": "school", "kind": "monthly", "merchant_ids": [self.merchant_id]}
        body.update(kw)
        return self.post("/api/v1/subsidy-programs", body)["id"]

    def grant(self, program_id: int, rows: list[tuple[int, int]], batch_id: str | None = None) -> dict:
        csv_text = "customer_id,amount_fen\n" + "".join(f"{c},{a}\n" for c, a in rows)
        response = self.client.post(f"/api/v1/subsidy-programs/{program_id}/grant-batches",
                                    params={"batch_id": batch_id or uuid.uuid4().hex}, content=csv_text.encode(),
                                    headers={**self.staff, "Content-Type": "text/csv"})
        assert response.status_code == 200, response.text
        return response.json()

    def pay(self, customer_id: int, amount_fen: int, payment_id: str | None = None, **kw) -> dict:  # noqa: ANN003
        response = self.pay_raw(customer_id, amount_fen, payment_id, **kw)
        assert response.status_code == 200, response.text
        return response.json()

    def pay_raw(self, customer_id: int, amount_fen: int, payment_id: str | None = None, **kw):  # noqa: ANN003, ANN201
        kw.setdefault("occurred_at", self.now())
        body = payment_body(customer_id, amount_fen, payment_id, **kw)
        return self.client.post("/api/v1/terminal/payments", json=body, auth=self.auth)

    def refund(self, payment_id: str, amount_fen: int, refund_id: str | None = None) -> dict:
        body = {"refund_id": refund_id or str(uuid.uuid4()), "payment_id": payment_id, "amount_fen": amount_fen,
                "reason": "wrong dish", "occurred_at": self.now().isoformat()}
        response = self.client.post("/api/v1/terminal/refunds", json=body, auth=self.auth)
        assert response.status_code == 200, response.text
        return response.json()

    def view(self, customer_id: int) -> dict:
        response = self.client.get(f"/api/v1/customers/{customer_id}", headers=self.staff)
        assert response.status_code == 200, response.text
        return response.json()

    def ledger_ok(self) -> list[str]:
        response = self.client.get("/api/v1/ledger/check", headers=self.staff)
        assert response.status_code == 200, response.text
        return response.json()["problems"]


def payment_body(customer_id: int, amount_fen: int, payment_id: str | None = None, *,
                 meal_period: str | None = "lunch", occurred_at: datetime | None = None, **kw) -> dict:  # noqa: ANN003
    body = {"payment_id": payment_id or str(uuid.uuid4()), "amount_fen": amount_fen,
            "credential": {"kind": "face", "customer_id": customer_id},
            "occurred_at": (occurred_at or datetime.now(timezone.utc)).isoformat(), "meal_period": meal_period}
    body.update(kw)
    return body


@pytest.fixture
def canteen(db_url: str):  # noqa: ANN201
    """A canteen with a registered terminal on a fresh database (SQLite and PostgreSQL)."""
    app = make_app(db_url)
    with TestClient(app) as client:
        yield open_canteen(app, client)


def open_canteen(app: FastAPI, client, pin: bool = True) -> Canteen:  # noqa: ANN001
    """A canteen on `app`, whose clock is pinned (core.clock.DEFAULT_START, a Monday lunch time in
    mid-month) unless the test pinned its own: no test depends on the day it runs. `pin=False`
    keeps the real clock, for tests whose simulators stamp real time."""
    if pin and isinstance(app.state.clock, SystemClock):
        app.state.clock = ManualClock()
    ids = make_merchant_site(app, "canteen")
    terminal_id, key = register_terminal(client, app, ids["merchant_id"], ids["site_id"], ids["lane_id"])
    return Canteen(app, client, operator_token(app), ids["merchant_id"], ids["site_id"], terminal_id, key)
