"""Two terminals racing against one campaign budget and one coupon each diner holds, on the real
backend process (SQLite and PostgreSQL), while an operator pauses and resumes the campaign:
whatever they do at the same moment — payments, partial and full refunds — the budget is never
spent beyond itself, a coupon serves one payment (a full refund restores it), every refund gives
the campaign its proportional share and the payer the rest, and the ledger balances."""
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
from sync.auth import TerminalAuth
from tests.backend.helpers import TEST_KEYS, make_app, register_terminal
from tests.backend.money_helpers import open_canteen, payment_body

pytestmark = [pytest.mark.slow]
KEY_ENV = {f"GATEPAY_{name.upper()}": value for name, value in TEST_KEYS.items()}


@pytest.fixture
def served(db_url: str, tmp_path):  # noqa: ANN001, ANN201
    """A canteen set up in-process and a real backend process serving its terminal."""
    app = make_app(db_url)
    with TestClient(app) as client:
        canteen = open_canteen(app, client, pin=False)     # the backend process reads the real clock
        backend = BackendProcess(db_url, tmp_path, extra_env=KEY_ENV).start(timeout=90)   # a busy machine starts slowly
        try:
            yield canteen, backend
        finally:
            backend.stop()
    app.state.engine.dispose()


def _race(url: str, auths: list, plans: list[list[dict]], operator: list[dict] = (),  # noqa: ANN001
          staff: dict | None = None) -> list[list[dict]]:
    """Each terminal sends its payments and refunds in order, all at once; meanwhile an operator
    (if given) changes campaigns. auths[i] signs plans[i]: one terminal each."""
    barrier = threading.Barrier(len(plans) + (1 if operator else 0))
    answers: list[list[dict]] = [[] for _ in plans]

    def terminal(i: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            barrier.wait()
            for step in plans[i]:
                path = "/api/v1/terminal/refunds" if "refund_id" in step else "/api/v1/terminal/payments"
                response = http.post(path, json=step, auth=auths[i % len(auths)])
                answers[i].append({"code": response.status_code, **response.json()})

    def desk() -> None:
        with httpx.Client(base_url=url, timeout=60, headers=staff) as http:
            barrier.wait()
            for change in operator:
                http.post(change["path"], json=change["body"])

    threads = [threading.Thread(target=terminal, args=(i,)) for i in range(len(plans))]
    if operator:
        threads.append(threading.Thread(target=desk))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return answers


# (who pays, price, then: keep | a partial refund of that share of the price | a full refund)
steps = st.lists(st.tuples(st.integers(0, 1), st.integers(200, 3000),
                           st.one_of(st.none(), st.just(1.0), st.floats(0.05, 0.95))), min_size=1, max_size=6)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=steps, second=steps, budget=st.integers(300, 2000), toggles=st.integers(0, 4))
def test_two_racing_terminals_never_overspend_nor_reuse_a_coupon(served, first, second, budget,  # noqa: ANN001
                                                                  toggles) -> None:
    canteen, backend = served
    second_terminal, key = register_terminal(canteen.client, canteen.app, canteen.merchant_id, canteen.site_id)
    auths = [canteen.auth, TerminalAuth(key, second_terminal, clock=canteen.app.state.clock.timestamp)]
    diners = [canteen.customer(wallet_fen=50_000), canteen.customer(wallet_fen=50_000)]
    instant = campaign(canteen, kind="random", min_fen=100, max_fen=400, budget_fen=budget)
    coupons = campaign(canteen, kind="fixed", amount_fen=500, budget_fen=5000, mode="coupon")
    canteen.post(f"/api/v1/campaigns/{coupons['id']}/coupons",
                 {"issue_id": uuid.uuid4().hex, "customer_ids": diners,
                  "expires_at": (canteen.now() + timedelta(days=1)).isoformat()})
    now = canteen.now()

    def plan(moves: list[tuple[int, int, float | None]]) -> list[dict]:
        out = []
        for who, amount, refund in moves:
            body = payment_body(diners[who], amount, occurred_at=now)
            out.append(body)
            if refund is not None:      # straight away, by the same terminal: in order after its payment
                out.append({"refund_id": str(uuid.uuid4()), "payment_id": body["payment_id"],
                            "amount_fen": max(1, round(amount * refund)), "reason": "wrong dish",
                            "occurred_at": now.isoformat()})
        return out

    # The operator pauses and resumes the instant campaign while the terminals pay (ending with it active).
    desk = [{"path": f"/api/v1/campaigns/{instant['id']}/status", "body": {"status": s}}
            for _ in range(toggles) for s in ("paused", "active")]
    answers = _race(backend.url, auths, [plan(first), plan(second)], desk, canteen.staff)
    assert {a["code"] for answer in answers for a in answer} == {200}
    paid = {a["payment_id"]: a for answer in answers for a in answer if "refund_id" not in a}
    assert all(a["status"] == "approved" for a in paid.values())
    refunds = [a for answer in answers for a in answer if "refund_id" in a]
    assert all(r["status"] == "refunded" for r in refunds)
    for refund in refunds:          # each payment has at most one refund: its share, from the first fen
        payment = paid[refund["payment_id"]]
        share = payment.get("discount_fen", 0) * refund["amount_fen"] // payment["amount_fen"]
        assert refund.get("campaign_fen", 0) == share
        assert sum(s["amount_fen"] for s in refund["split"]) == refund["amount_fen"] - share
    given_back = {r["payment_id"]: r.get("campaign_fen", 0) for r in refunds}
    of_instant = [a for a in paid.values() if a.get("campaign_id") == instant["id"]]
    assert sum(a["discount_fen"] - given_back.get(a["payment_id"], 0) for a in of_instant) <= budget
    fully = {r["payment_id"] for r in refunds if r["amount_fen"] == paid[r["payment_id"]]["amount_fen"]}
    for diner in diners:            # one coupon each: used by at most one payment not refunded in full
        uses = [a for a in paid.values() if a.get("coupon_id") and a["customer_id"] == diner]
        assert len([a for a in uses if a["payment_id"] not in fully]) <= 1
        status = [c["status"] for c in canteen.view(diner)["coupons"]]
        assert status == (["used"] if any(a["payment_id"] not in fully for a in uses)
                          else ["restored"] if uses else ["issued"])
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
    paid = [a for answer in _race(backend.url, [canteen.auth], plans) for a in answer]
    assert [a["status"] for a in paid] == ["approved"] * 20
    by_campaign = [a.get("campaign_id") for a in paid]
    assert by_campaign.count(coupons["id"]) == 4          # each diner's one coupon, once
    assert by_campaign.count(instant["id"]) == 5          # 10.00 of budget: five 2.00 reductions
    assert by_campaign.count(None) == 11
    assert campaign_problems(canteen.app) == []
