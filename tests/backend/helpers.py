"""Test utilities for backend tests: a real app on a real database, operators, a merchant with
a site and lane, and a terminal registered through the real enrolment-code and register endpoints.

    app = make_app(db_url)
    with TestClient(app) as client:
        ids = make_merchant_site(app)
        terminal_id, key = register_terminal(client, app, ids["merchant_id"], ids["site_id"])
        client.get("/api/v1/terminal/time", auth=TerminalAuth(key, terminal_id))
"""
from __future__ import annotations

import base64
import time
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from backend.app import create_app
from backend.channels.compose import all_simulated
from backend.config import BackendSettings
from backend.services.merchants import apply_merchant, approve
from backend.services.operators import create_operator
from backend.services.sites import create_lane, create_site
from core.clock import Clock
from core.signing import new_private_key, public_key_text

# Fixed, obviously-test keys (32 bytes each), so hashes are reproducible across a test.
TEST_KEYS = {name: base64.b64encode(bytes([n]) * 32).decode()
             for n, name in enumerate(("data_key", "hash_key", "card_hash_key"), start=1)}


def make_app(db_url: str, simulated: bool = True, clock: Clock | None = None, **settings: object) -> FastAPI:
    """The real backend app on an already migrated database (fixtures sqlite_url / pg_url / db_url).
    The tests choose simulators for the channels and the bank core explicitly (`simulated`); a
    deployment gets none unless its settings say so. `clock` pins its time (a ManualClock); sign
    terminal calls with `clock=app.state.clock.timestamp`."""
    chosen = all_simulated(query_every_s=0) if simulated else {}
    return create_app(BackendSettings(database_url=db_url, **TEST_KEYS, **{**chosen, **settings}), clock=clock)


def operator_token(app: FastAPI, role: str = "operator", merchant_id: int | None = None,
                   name: str | None = None) -> str:
    """A new operator with `role` (a merchant admin needs merchant_id); returns its bearer token."""
    with app.state.sessions() as session:
        new = create_operator(session, app.state.settings.keys["hash"], name=name or f"test {role}",
                              role=role, merchant_id=merchant_id)
        session.commit()
        return new.token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_merchant_site(app: FastAPI, kind: str = "canteen", name: str | None = None) -> dict[str, int]:
    """An approved merchant of `kind` (canteen | parking) with one site and one lane."""
    with app.state.sessions() as session:
        merchant = apply_merchant(session, name=name or f"test {kind}", kind=kind,
                                  settlement_account_no="6222000011112222", settlement_bank_name="test bank")
        approve(session, merchant, now=app.state.clock.now())
        site = create_site(session, merchant, name=f"{merchant.name} site",
                           kind="canteen" if kind == "canteen" else "car_park")
        lane = create_lane(session, site, name="lane 1", direction="both" if kind == "canteen" else "exit")
        session.commit()
        return {"merchant_id": merchant.id, "site_id": site.id, "lane_id": lane.id}


def enrolment_code(client, app: FastAPI, merchant_id: int, site_id: int, lane_id: int | None = None,  # noqa: ANN001
                   scene: str = "canteen", name: str = "test terminal") -> str:
    token = operator_token(app)
    response = client.post("/api/v1/enrolment-codes", headers=bearer(token),
                           json={"site_id": site_id, "lane_id": lane_id, "name": name, "scene": scene})
    assert response.status_code == 201, response.text
    assert response.json()["merchant_id"] == merchant_id
    return response.json()["code"]


def register_terminal(client, app: FastAPI, merchant_id: int, site_id: int, lane_id: int | None = None,  # noqa: ANN001
                      scene: str = "canteen") -> tuple[int, Ed25519PrivateKey]:
    """Register a terminal through the real endpoints (sync client: starlette TestClient or
    httpx.Client). Sign later calls with `auth=TerminalAuth(key, terminal_id)`."""
    code = enrolment_code(client, app, merchant_id, site_id, lane_id, scene)
    key = new_private_key()
    response = client.post("/api/v1/terminals/register",
                           json={"enrolment_code": code, "public_key": public_key_text(key),
                                 "hardware_id": "test-hw"})
    assert response.status_code == 201, response.text
    return response.json()["terminal_id"], key


def wait_for(condition: Callable[[], object], timeout_s: float = 20.0, every_s: float = 0.05) -> bool:
    """Poll `condition` every `every_s` until it is true (True) or the time is up (False): for work
    a background thread or another process does (the backend's jobs, a restarted worker)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every_s)
    return False


def schema_drift(db_url: str) -> list:
    """What Alembic's autogenerate finds between the migrated database and every model (the
    settlement and reconciliation tables included): empty where the migrations match the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import backend.reconciliation.models  # noqa: F401 - registers the tables
    import backend.settlement.models  # noqa: F401
    from backend.db import make_engine
    from backend.models import Base

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()
