"""Property: any sequence of payments, refunds, coupons and campaign changes (through the real API)
keeps the ledger balanced, never spends a campaign beyond its budget, never uses a coupon twice;
and what the payer paid plus the discount is always the price."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.backend.campaign_helpers import campaign
from tests.backend.campaign_invariants import campaign_problems
from tests.backend.helpers import make_app
from tests.backend.money_helpers import open_canteen
from tests.conftest import new_sqlite_db

START = datetime(2026, 3, 30, 11, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
TERMS = [dict(kind="fixed", amount_fen=300), dict(kind="random", min_fen=1, max_fen=800),
         dict(kind="percent", percent_off=15, cap_fen=400), dict(kind="threshold", threshold_fen=1000, amount_fen=250)]

ops = st.lists(st.one_of(
    st.tuples(st.just("pay"), st.integers(0, 1), st.integers(1, 4000)),
    st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 4000)),
    st.tuples(st.just("campaign"), st.integers(0, 3), st.integers(1, 2000), st.booleans()),
    st.tuples(st.just("status"), st.integers(0, 5), st.sampled_from(["paused", "active", "ended"])),
    st.tuples(st.just("coupon"), st.integers(0, 5), st.integers(0, 1)),
    st.tuples(st.just("later"), st.integers(1, 30)),
), min_size=1, max_size=16)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=ops)
def test_any_sequence_keeps_books_budgets_and_coupons_sound(sqlite_template, tmp_path, steps) -> None:  # noqa: ANN001
    app = make_app(new_sqlite_db(sqlite_template, tmp_path))
    with TestClient(app) as client:
        canteen = open_canteen(app, client)
        now = START
        canteen.at(now)
        customers = [canteen.customer("张三", seed=1, wallet_fen=30_000),
                     canteen.customer("李四", seed=2, wallet_fen=30_000)]
        campaigns: list[int] = []
        approved: list[tuple[str, int]] = []
        for n, step in enumerate(steps):
            if step[0] == "pay":
                result = canteen.pay(customers[step[1]], step[2])
                if result["status"] == "approved":
                    assert result.get("paid_fen", step[2]) + result.get("discount_fen", 0) == step[2]
                    assert sum(s["amount_fen"] for s in result["split"]) == result.get("paid_fen", step[2])
                    approved.append((result["payment_id"], step[2]))
            elif step[0] == "refund" and approved:
                payment_id, _ = approved[step[1] % len(approved)]
                result = canteen.refund(payment_id, step[2])
                if result["status"] == "refunded":
                    assert sum(s["amount_fen"] for s in result["split"]) + result.get("campaign_fen", 0) == step[2]
            elif step[0] == "campaign":
                mode = "coupon" if step[3] else "instant"
                campaigns.append(campaign(canteen, budget_fen=step[2], mode=mode, **TERMS[step[1]])["id"])
            elif step[0] == "status" and campaigns:
                canteen.post(f"/api/v1/campaigns/{campaigns[step[1] % len(campaigns)]}/status",
                             {"status": step[2]}, expect=None)
            elif step[0] == "coupon" and campaigns:
                canteen.post(f"/api/v1/campaigns/{campaigns[step[1] % len(campaigns)]}/coupons",
                             {"issue_id": f"i{n}", "customer_ids": [customers[step[2]]],
                              "expires_at": (now + timedelta(hours=12)).isoformat()}, expect=None)
            elif step[0] == "later":
                now += timedelta(hours=step[1])
                canteen.at(now)
            assert campaign_problems(app) == []
    app.state.engine.dispose()
