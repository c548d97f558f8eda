"""The coupon expiry job (backend/jobs.py expire_coupons), on SQLite and PostgreSQL: the running
backend marks coupons past their expiry as expired (the campaign's coupon counts say so), leaves
used and unexpired ones alone, restored ones expire too, a second run changes nothing, and large
numbers go in batches."""
from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.models.campaigns import Coupon
from backend.services.campaign_admin import EXPIRY_GRACE, expire_coupons
from core.clock import ManualClock
from tests.backend.campaign_helpers import campaign
from tests.backend.campaign_invariants import campaign_problems
from tests.backend.helpers import make_app, wait_for
from tests.backend.money_helpers import open_canteen


def _counts(canteen, campaign_id: int) -> dict[str, int]:  # noqa: ANN001
    return canteen.client.get(f"/api/v1/campaigns/{campaign_id}", headers=canteen.staff).json()["coupons"]


def _issue(canteen, campaign_id: int, customers: list[int], issue_id: str, hours: float) -> list[int]:  # noqa: ANN001
    return canteen.post(f"/api/v1/campaigns/{campaign_id}/coupons",
                        {"issue_id": issue_id, "customer_ids": customers,
                         "expires_at": (canteen.now() + timedelta(hours=hours)).isoformat()})["coupon_ids"]


def test_the_running_backend_expires_coupons_once(db_url: str) -> None:
    app = make_app(db_url, clock=ManualClock(), run_jobs=True, expire_coupons_every_s=0.1)
    with TestClient(app) as client:                    # serving: the lifespan starts the jobs
        canteen = open_canteen(app, client)
        diners = [canteen.customer(wallet_fen=5000) for _ in range(4)]
        offer = campaign(canteen, kind="fixed", amount_fen=200, budget_fen=10_000, mode="coupon")
        _issue(canteen, offer["id"], diners[:3], "today", hours=1)
        _issue(canteen, offer["id"], diners[3:], "next-week", hours=24 * 7)
        used = canteen.pay(diners[0], 1000)
        refunded = canteen.pay(diners[1], 1000)
        canteen.refund(refunded["payment_id"], 1000)   # a full refund restores the coupon
        assert (used["discount_fen"], refunded["discount_fen"]) == (200, 200)
        assert _counts(canteen, offer["id"]) == {"issued": 2, "used": 1, "expired": 0, "restored": 1}

        canteen.at(canteen.now() + timedelta(hours=1) + EXPIRY_GRACE)
        assert wait_for(lambda: _counts(canteen, offer["id"])["expired"] == 2), _counts(canteen, offer["id"])
        assert _counts(canteen, offer["id"]) == {"issued": 1, "used": 1, "expired": 2, "restored": 0}
        assert "discount_fen" not in canteen.pay(diners[1], 1000)        # restored, then expired: gone
        assert canteen.pay(diners[3], 1000)["discount_fen"] == 200       # next week's still serves
        with app.state.sessions() as session:                            # a run after the job: nothing to do
            assert expire_coupons(session, canteen.now()) == 0
        assert campaign_problems(app) == []
    app.state.engine.dispose()


def test_many_coupons_expire_in_batches(db_url: str) -> None:
    app = make_app(db_url, clock=ManualClock())
    with TestClient(app) as client:
        canteen = open_canteen(app, client)
        diners = [canteen.customer() for _ in range(7)]
        offer = campaign(canteen, kind="fixed", amount_fen=100, budget_fen=10_000, mode="coupon")
        _issue(canteen, offer["id"], diners, "all", hours=2)
        later = canteen.now() + timedelta(hours=2)
        with app.state.sessions() as session:
            assert expire_coupons(session, later, batch=3) == 0          # within the grace: left alone
            assert expire_coupons(session, later + EXPIRY_GRACE, batch=3) == 7
            assert expire_coupons(session, later + EXPIRY_GRACE, batch=3) == 0
            assert set(session.scalars(select(Coupon.status))) == {"expired"}
    app.state.engine.dispose()
