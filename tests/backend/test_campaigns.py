"""Campaigns at payment time, through the real API on SQLite and PostgreSQL: the payer pays the
price less the discount, the merchant is paid the full price, the budget is never exceeded, a
repeat of a payment gets the same discount, refunds give the campaign its share back."""
from __future__ import annotations

import uuid
from datetime import timedelta

from tests.backend.campaign_helpers import campaign, merchant_balance
from tests.backend.campaign_invariants import campaign_problems
from tests.backend.money_helpers import canteen  # noqa: F401 - fixture


def test_fixed_reduction_pays_the_merchant_the_full_price(canteen) -> None:  # noqa: ANN001, F811
    cid = canteen.customer(wallet_fen=5000)
    camp = campaign(canteen, kind="fixed", amount_fen=300, budget_fen=10_000)
    paid = canteen.pay(cid, 1500)
    assert (paid["status"], paid["amount_fen"], paid["discount_fen"], paid["paid_fen"]) == ("approved", 1500, 300, 1200)
    assert paid["campaign_id"] == camp["id"]
    assert paid["balances"]["wallet_fen"] == 3800
    assert merchant_balance(canteen) == 1500
    record = canteen.client.get(f"/api/v1/payments/{paid['payment_id']}", headers=canteen.staff).json()
    assert (record["price_fen"], record["discount_fen"], record["paid_fen"]) == (1500, 300, 1200)
    view = canteen.client.get(f"/api/v1/campaigns/{camp['id']}", headers=canteen.staff).json()
    assert (view["spent_fen"], view["budget_left_fen"], view["uses"]) == (300, 9700, 1)
    assert canteen.ledger_ok() == []


def test_a_repeat_gets_the_same_discount_and_spends_once(canteen) -> None:  # noqa: ANN001, F811
    cid = canteen.customer(wallet_fen=5000)
    camp = campaign(canteen, kind="random", min_fen=10, max_fen=500, budget_fen=10_000)
    payment_id = str(uuid.uuid4())
    first = canteen.pay(cid, 1500, payment_id)
    again = canteen.pay(cid, 1500, payment_id)
    assert first == again and 10 <= first["discount_fen"] <= 500
    view = canteen.client.get(f"/api/v1/campaigns/{camp['id']}", headers=canteen.staff).json()
    assert (view["spent_fen"], view["uses"]) == (first["discount_fen"], 1)
    assert canteen.view(cid)["wallet_fen"] == 5000 - first["paid_fen"]


def test_the_best_offer_wins_and_campaigns_do_not_stack(canteen) -> None:  # noqa: ANN001, F811
    cid = canteen.customer(wallet_fen=5000)
    campaign(canteen, kind="fixed", amount_fen=100, budget_fen=10_000)
    best = campaign(canteen, kind="percent", percent_off=20, cap_fen=250, budget_fen=10_000)
    campaign(canteen, kind="threshold", threshold_fen=2000, amount_fen=500, budget_fen=10_000)
    paid = canteen.pay(cid, 1500)          # 20% of 15.00 = 3.00, capped at 2.50; 满20减5 not reached
    assert (paid["discount_fen"], paid["campaign_id"]) == (250, best["id"])


def test_budget_stops_the_campaign(canteen) -> None:  # noqa: ANN001, F811
    cid = canteen.customer(wallet_fen=50_000)
    camp = campaign(canteen, kind="fixed", amount_fen=300, budget_fen=700)
    discounts = [canteen.pay(cid, 1000).get("discount_fen", 0) for _ in range(4)]
    assert discounts == [300, 300, 0, 0]   # 100 fen left: not enough for a 300 reduction
    view = canteen.client.get(f"/api/v1/campaigns/{camp['id']}", headers=canteen.staff).json()
    assert view["spent_fen"] == 600 and view["spent_fen"] <= view["budget_fen"]


def test_where_and_when_and_limits(canteen) -> None:  # noqa: ANN001, F811
    cid = canteen.customer(wallet_fen=50_000)
    now = canteen.now()
    campaign(canteen, kind="fixed", amount_fen=100, budget_fen=10_000, scenes=["parking"])
    campaign(canteen, kind="fixed", amount_fen=200, budget_fen=10_000, methods=["card"])
    campaign(canteen, kind="fixed", amount_fen=300, budget_fen=10_000, starts_at=(now + timedelta(hours=1)).isoformat())
    campaign(canteen, kind="fixed", amount_fen=400, budget_fen=10_000, merchant_ids=[canteen.merchant_id + 1000])
    assert "discount_fen" not in canteen.pay(cid, 1000)      # none of them applies to a face payment here now
    campaign(canteen, kind="fixed", amount_fen=50, budget_fen=10_000, per_customer_daily_limit=1)
    assert [canteen.pay(cid, 1000).get("discount_fen", 0) for _ in range(2)] == [50, 0]


def test_paused_campaign_gives_nothing_and_resumes(canteen) -> None:  # noqa: ANN001, F811
    cid = canteen.customer(wallet_fen=5000)
    camp = campaign(canteen, kind="fixed", amount_fen=100, budget_fen=10_000)
    canteen.post(f"/api/v1/campaigns/{camp['id']}/status", {"status": "paused"}, expect=200)
    assert "discount_fen" not in canteen.pay(cid, 1000)
    canteen.post(f"/api/v1/campaigns/{camp['id']}/status", {"status": "active"}, expect=200)
    assert canteen.pay(cid, 1000)["discount_fen"] == 100


def test_declined_payment_spends_no_budget(canteen) -> None:  # noqa: ANN001, F811
    cid = canteen.customer(wallet_fen=500)
    camp = campaign(canteen, kind="fixed", amount_fen=100, budget_fen=10_000)
    declined = canteen.pay(cid, 1000)
    assert declined["status"] == "declined" and "discount_fen" not in declined
    view = canteen.client.get(f"/api/v1/campaigns/{camp['id']}", headers=canteen.staff).json()
    assert (view["spent_fen"], view["uses"]) == (0, 0)
    assert canteen.pay(cid, 600)["paid_fen"] == 500       # 6.00 less 1.00 fits the 5.00 wallet


def test_partial_and_full_refund_share_with_the_campaign(canteen) -> None:  # noqa: ANN001, F811
    cid = canteen.customer(wallet_fen=5000)
    camp = campaign(canteen, kind="fixed", amount_fen=300, budget_fen=10_000)
    paid = canteen.pay(cid, 1500)                                   # payer 1200, campaign 300
    part = canteen.refund(paid["payment_id"], 500)                  # a third of the price
    assert (part["campaign_fen"], sum(s["amount_fen"] for s in part["split"])) == (100, 400)
    rest = canteen.refund(paid["payment_id"], 1000)
    assert (rest["campaign_fen"], sum(s["amount_fen"] for s in rest["split"])) == (200, 800)
    assert canteen.view(cid)["wallet_fen"] == 5000
    view = canteen.client.get(f"/api/v1/campaigns/{camp['id']}", headers=canteen.staff).json()
    assert (view["spent_fen"], view["uses"]) == (0, 0)
    assert merchant_balance(canteen) == 0
    assert canteen.ledger_ok() == []


def test_coupon_used_once_and_restored_by_a_full_refund(canteen) -> None:  # noqa: ANN001, F811
    cid = canteen.customer(wallet_fen=5000)
    camp = campaign(canteen, kind="fixed", amount_fen=500, budget_fen=10_000, mode="coupon")
    expires = (canteen.now() + timedelta(days=7)).isoformat()
    issued = canteen.post(f"/api/v1/campaigns/{camp['id']}/coupons",
                          {"issue_id": "batch-1", "customer_ids": [cid], "expires_at": expires})
    again = canteen.post(f"/api/v1/campaigns/{camp['id']}/coupons",
                         {"issue_id": "batch-1", "customer_ids": [cid], "expires_at": expires})
    assert issued["coupon_ids"] == again["coupon_ids"] and len(issued["coupon_ids"]) == 1
    first = canteen.pay(cid, 1500)
    assert (first["discount_fen"], first["coupon_id"]) == (500, issued["coupon_ids"][0])
    assert "discount_fen" not in canteen.pay(cid, 1500)            # used: no second discount
    assert [c["status"] for c in canteen.view(cid)["coupons"]] == ["used"]
    canteen.refund(first["payment_id"], 1500)
    assert [c["status"] for c in canteen.view(cid)["coupons"]] == ["restored"]
    assert canteen.pay(cid, 1500)["coupon_id"] == issued["coupon_ids"][0]
    assert canteen.ledger_ok() == []


def test_coupons_to_a_group_and_a_claim(canteen) -> None:  # noqa: ANN001, F811
    group = canteen.post("/api/v1/customer-groups", {"name": "class 3", "funding_order": "subsidy_first"})
    members = [canteen.customer(f"张{i}三", group_id=group["id"]) for i in range(3)]
    outsider = canteen.customer("李四")
    camp = campaign(canteen, kind="fixed", amount_fen=100, budget_fen=10_000, mode="coupon")
    issued = canteen.post(f"/api/v1/campaigns/{camp['id']}/coupons",
                          {"issue_id": "g", "group_id": group["id"],
                           "expires_at": (canteen.now() + timedelta(days=1)).isoformat()})
    assert len(issued["coupon_ids"]) == len(members)
    claim = canteen.post(f"/api/v1/campaigns/{camp['id']}/claims", {"customer_id": outsider})
    assert canteen.post(f"/api/v1/campaigns/{camp['id']}/claims", {"customer_id": outsider}) == claim
    assert canteen.view(outsider)["coupons"][0]["source"] == "claimed"


def test_expired_coupon_gives_nothing(canteen) -> None:  # noqa: ANN001, F811
    cid = canteen.customer(wallet_fen=5000)
    camp = campaign(canteen, kind="fixed", amount_fen=100, budget_fen=10_000, mode="coupon")
    canteen.post(f"/api/v1/campaigns/{camp['id']}/coupons",
                 {"issue_id": "x", "customer_ids": [cid], "expires_at": (canteen.now() + timedelta(hours=1)).isoformat()})
    canteen.at(canteen.now() + timedelta(hours=2))
    assert "discount_fen" not in canteen.pay(cid, 1000)
    assert [c["status"] for c in canteen.view(cid)["coupons"]] == ["expired"]


def test_settlement_pays_the_merchant_the_full_price(canteen) -> None:  # noqa: ANN001, F811
    from tests.backend.test_settlement import DAY, mine, run_day

    cid = canteen.customer(wallet_fen=5000)
    campaign(canteen, kind="fixed", amount_fen=300, budget_fen=10_000)
    first = canteen.pay(cid, 1500)                     # payer 1200, campaign 300
    canteen.pay(cid, 1000)                             # payer 700, campaign 300
    canteen.refund(first["payment_id"], 1500)          # all back: payer 1200, campaign 300
    day = mine(run_day(canteen, DAY), canteen.merchant_id)
    assert (day["gross_fen"], day["refunds_fen"], day["net_fen"]) == (2500, 1500, 1000)
    assert merchant_balance(canteen) == 0              # the payable was paid out in full
    assert canteen.ledger_ok() == []


def test_bank_outcome_unknown_reversal_gives_the_discount_back(canteen) -> None:  # noqa: ANN001, F811
    from backend.corebanking import CoreBankingSimulator

    bank = canteen.app.state.corebanking = CoreBankingSimulator()
    cid = canteen.card_holder("6222021234567890123", wallet_fen=300, bank_fen=10_000)
    camp = campaign(canteen, kind="fixed", amount_fen=200, budget_fen=10_000)
    bank.fail_next("applied", status_unknown=1)    # the bank took it, but cannot say so yet
    payment_id = str(uuid.uuid4())
    first = canteen.pay(cid, 1000, payment_id)
    assert (first["status"], first["reason"]) == ("declined", "bank_outcome_unknown")
    held = canteen.client.get(f"/api/v1/campaigns/{camp['id']}", headers=canteen.staff).json()
    assert held["spent_fen"] == 200                # held with the payment until the bank can tell
    assert canteen.pay(cid, 1000, payment_id) == first   # the repeat resolves it: all reversed
    view = canteen.client.get(f"/api/v1/campaigns/{camp['id']}", headers=canteen.staff).json()
    assert (view["spent_fen"], view["uses"]) == (0, 0)
    assert bank.balance("6222021234567890123") == 10_000 and canteen.view(cid)["wallet_fen"] == 300
    assert campaign_problems(canteen.app) == []
