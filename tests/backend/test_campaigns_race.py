"""Two terminals racing against one campaign budget and one coupon, on the real backend process
(SQLite and PostgreSQL): whatever the two clients do at the same moment, the budget is never
spent beyond itself, a coupon serves one payment, and the ledger balances."""
from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terminal.demo.backend_process import BackendProcess
from tests.backend.campaign_helpers import campaign
from tests.backend.campaign_invariants import campaign_problems
from tests.backend.helpers import TEST_KEYS, make_app
from tests.backend.money_helpers import open_canteen, payment_body

pytestmark = [pytest.mark.slow]
KEY_ENV = {f"GATEPAY_{name.upper()}": value for name, value in TEST_KEYS.items()}


@pytest.fixture
def served(db_url: str, tmp_path):  # noqa: ANN001, ANN201
    """A canteen set up in-process and a real backend process serving its terminal."""
    app = make_app(db_url)
    with TestClient(app) as client:
        canteen = open_canteen(app, client, pin=False)     # the backend process reads the real clock
        with BackendProcess(db_url, tmp_path, extra_env=KEY_ENV) as backend:
            yield canteen, backend
    app.state.engine.dispose()


def _race(url: str, auth, plans: list[list[dict]]) -> list[list[dict]]:  # noqa: ANN001
    """Each client sends its payments and refunds in order, both clients at once."""
    barrier = threading.Barrier(len(plans))
    answers: list[list[dict]] = [[] for _ in plans]

    def client(i: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            barrier.wait()
            for step in plans[i]:
                path = "/api/v1/terminal/refunds" if "refund_id" in step else "/api/v1/terminal/payments"
                response = http.post(path, json=step, auth=auth)
                answers[i].append({"code": response.status_code, **response.json()})

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(plans))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return answers


steps = st.lists(st.tuples(st.integers(0, 1), st.integers(200, 3000), st.booleans()), min_size=1, max_size=6)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=steps, second=steps, budget=st.integers(300, 2000))
def test_two_racing_clients_never_overspend_nor_reuse_a_coupon(served, first, second, budget) -> None:  # noqa: ANN001
    canteen, backend = served
    diners = [canteen.customer(wallet_fen=50_000), canteen.customer(wallet_fen=50_000)]
    instant = campaign(canteen, kind="random", min_fen=100, max_fen=400, budget_fen=budget)
    coupons = campaign(canteen, kind="fixed", amount_fen=500, budget_fen=5000, mode="coupon")
    canteen.post(f"/api/v1/campaigns/{coupons['id']}/coupons",
                 {"issue_id": uuid.uuid4().hex, "customer_ids": diners,
                  "expires_at": (canteen.now() + timedelta(days=1)).isoformat()})
    now = canteen.now()

    def plan(moves: list[tuple[int, int, bool]]) -> list[dict]:
        out = []
        for who, amount, then_refund in moves:
            body = payment_body(diners[who], amount, occurred_at=now)
            out.append(body)
            if then_refund:      # refunded in full straight away: the coupon and budget come back
                out.append({"refund_id": str(uuid.uuid4()), "payment_id": body["payment_id"], "amount_fen": amount,
                            "reason": "wrong dish", "occurred_at": now.isoformat()})
        return out

    answers = _race(backend.url, canteen.auth, [plan(first), plan(second)])
    assert {a["code"] for answer in answers for a in answer} == {200}
    paid = [a for answer in answers for a in answer if "payment_id" in a and "refund_id" not in a]
    assert all(a["status"] == "approved" for a in paid)
    of_instant = {a["payment_id"] for a in paid if a.get("campaign_id") == instant["id"]}
    given_back = sum(a.get("campaign_fen", 0) for answer in answers for a in answer
                     if "refund_id" in a and a["payment_id"] in of_instant)
    assert sum(a["discount_fen"] for a in paid if a["payment_id"] in of_instant) - given_back <= budget
    assert campaign_problems(canteen.app) == []


def test_twenty_payments_at_once_share_a_budget_for_five(served) -> None:  # noqa: ANN001
    canteen, backend = served
    diners = [canteen.customer(wallet_fen=10_000) for _ in range(4)]
    instant = campaign(canteen, kind="fixed", amount_fen=200, budget_fen=1000)
    coupons = campaign(canteen, kind="fixed", amount_fen=700, budget_fen=5000, mode="coupon")
    canteen.post(f"/api/v1/campaigns/{coupons['id']}/coupons",
                 {"issue_id": "one-each", "customer_ids": diners,
                  "expires_at": (canteen.now() + timedelta(days=1)).isoformat()})
    plans = [[payment_body(diners[i % 4], 1000, occurred_at=canteen.now())] for i in range(20)]
    paid = [a for answer in _race(backend.url, canteen.auth, plans) for a in answer]
    assert [a["status"] for a in paid] == ["approved"] * 20
    by_campaign = [a.get("campaign_id") for a in paid]
    assert by_campaign.count(coupons["id"]) == 4          # each diner's one coupon, once
    assert by_campaign.count(instant["id"]) == 5          # 10.00 of budget: five 2.00 reductions
    assert by_campaign.count(None) == 11
    assert campaign_problems(canteen.app) == []
