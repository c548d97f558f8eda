"""A car park on the real backend app (in-process ASGI), as the parking tests start from: one
approved parking merchant with a site and a lane, lane terminals registered through the real
endpoints, an operator token, and (when given) the site's parking rules set through the API."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from fastapi.testclient import TestClient

from core.clock import ManualClock
from sync.auth import TerminalAuth
from tests.backend.helpers import bearer, make_app, make_merchant_site, operator_token, register_terminal

RULES = {"tariffs": {"default": {"free_minutes": 15, "day": {"first_period_minutes": 60, "first_period_fen": 500,
                                                             "unit_minutes": 60, "unit_fen": 200}}},
         "no_entry_fee_fen": 5000, "repeat_entry": "replace",
         "plans": [{"code": "monthly", "months": 1, "price_fen": 30000}]}


@contextmanager
def car_park(db_url: str, rules: dict | None = None, clock: ManualClock | None = None,
             terminals: int = 1) -> Iterator[dict]:
    """dict(app, client, op, db_url, merchant_id, site_id, lane_id, auth[, auth2 ...]): `auth` signs
    as the first lane terminal, `auth2` as the second. A pinned `clock` dates the signatures too."""
    app = make_app(db_url, clock=clock)
    stamp = app.state.clock.timestamp if clock else None
    with TestClient(app) as client:
        ids = make_merchant_site(app, kind="parking")
        auths = {}
        for n in range(1, terminals + 1):
            tid, key = register_terminal(client, app, ids["merchant_id"], ids["site_id"], ids["lane_id"],
                                         scene="parking")
            auths["auth" if n == 1 else f"auth{n}"] = TerminalAuth(key, tid, clock=stamp)
        op = bearer(operator_token(app))
        if rules is not None:
            assert client.put(f"/api/v1/sites/{ids['site_id']}/parking/rules", json=rules, headers=op).status_code == 200
        yield dict(app=app, client=client, op=op, db_url=db_url, **auths, **ids)
