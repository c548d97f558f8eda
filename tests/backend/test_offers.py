"""Offers from habits through the real API on SQLite and PostgreSQL: a diner who paid for lunch at
the canteen on three days gets one coupon after their next approved payment, in the payment's
answer; a repeat of that payment gets the same offer and no second coupon; none for a diner who
opted out, for a declined or offline payment, or while an unused offer is held; and a broken offer
never breaks the payment."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import text

from core.wire import PaymentResult
from tests.backend.campaign_helpers import campaign
from tests.backend.helpers import bearer, operator_token
from tests.backend.money_helpers import canteen  # noqa: F401 - fixture

LUNCH = {"code": "lunch", "name_zh": "午餐", "name_en": "lunch", "start": "11:00", "end": "13:30", "max_meals": 0}


def habit_offer_campaign(shop, amount_fen: int = 200) -> dict:  # noqa: ANN001
    """The canteen's lunch period, and a coupon campaign chosen for offers from habits."""
    response = shop.client.put(f"/api/v1/sites/{shop.site_id}/meal-periods", json={"periods": [LUNCH]},
                               headers=shop.staff)
    assert response.status_code == 200, response.text
    camp = campaign(shop, kind="fixed", amount_fen=amount_fen, budget_fen=100_000, mode="coupon")
    response = shop.client.put(f"/api/v1/campaigns/{camp['id']}/habit-offer", headers=shop.staff)
    assert response.status_code == 200, response.text
    return camp


def lunches_on_days(shop, cid: int, days: int) -> list[dict]:  # noqa: ANN001
    """One lunch a day for `days` days, the clock moving a day after each."""
    paid = []
    for _ in range(days):
        paid.append(shop.pay(cid, 1000))
        shop.at(shop.now() + timedelta(days=1))
    return paid


def offer_coupons(shop, cid: int) -> list[dict]:  # noqa: ANN001
    return [c for c in shop.view(cid)["coupons"] if c["source"] == "offer"]


def test_a_habit_gets_one_offer_in_the_answer_and_a_repeat_the_same(canteen) -> None:  # noqa: ANN001, F811
    camp = habit_offer_campaign(canteen)
    cid = canteen.customer(wallet_fen=50_000)
    before = lunches_on_days(canteen, cid, 3)
    assert all("offer" not in p for p in before)          # two days, then three: a habit from the fourth
    payment_id = str(uuid.uuid4())
    paid = canteen.pay(cid, 1000, payment_id)
    offer = PaymentResult.model_validate(paid).offer
    assert offer is not None and offer.campaign_id == camp["id"]
    assert offer.title_zh.startswith("下次午餐立减 2.00 元 · ") and "lunch" in offer.title_en
    tomorrow = (canteen.now() + timedelta(days=1)).astimezone(offer.expires_at.tzinfo).date()
    assert (offer.expires_at.date(), offer.expires_at.strftime("%H:%M")) == (tomorrow, "13:30")
    assert canteen.pay(cid, 1000, payment_id) == paid                     # a repeat: the same offer
    assert [c["id"] for c in offer_coupons(canteen, cid)] == [offer.coupon_id]
    canteen.at(canteen.now() + timedelta(days=1))
    used = canteen.pay(cid, 1000)                          # the next lunch takes it
    assert (used["coupon_id"], used["discount_fen"]) == (offer.coupon_id, 200)
    assert "offer" not in used                             # it held an unused offer when it paid
    again = canteen.pay(cid, 1000)
    assert again["offer"]["coupon_id"] != offer.coupon_id
    assert canteen.ledger_ok() == []


def test_opted_out_declined_and_offline_get_none(canteen) -> None:  # noqa: ANN001, F811
    habit_offer_campaign(canteen)
    cid = canteen.customer(wallet_fen=50_000)
    lunches_on_days(canteen, cid, 3)
    out = canteen.client.put(f"/api/v1/customers/{cid}/marketing-opt-out", headers=canteen.staff)
    assert out.status_code == 200 and out.json()["opted_out"] is True
    assert "offer" not in canteen.pay(cid, 1000)
    declined = canteen.pay(cid, 900_000)
    assert declined["status"] == "declined" and "offer" not in declined
    back = canteen.client.delete(f"/api/v1/customers/{cid}/marketing-opt-out", headers=canteen.staff)
    assert back.status_code == 200 and back.json()["opted_out"] is False
    assert "offer" not in canteen.pay(cid, 900_000)                      # declined: none
    offline = canteen.pay(cid, 1000, offline=True, terminal_seq=1)
    assert offline["status"] == "approved" and "offer" not in offline  # the terminal already answered
    assert offer_coupons(canteen, cid) == []
    assert "offer" in canteen.pay(cid, 1000)


def test_no_habit_no_campaign_no_offer(canteen) -> None:  # noqa: ANN001, F811
    cid = canteen.customer(wallet_fen=50_000)
    lunches_on_days(canteen, cid, 4)
    assert "offer" not in canteen.pay(cid, 1000)                          # no habit-offer campaign
    camp = habit_offer_campaign(canteen)
    other = canteen.customer(wallet_fen=50_000)
    assert "offer" not in canteen.pay(other, 1000)                        # no habit yet
    canteen.post(f"/api/v1/campaigns/{camp['id']}/status", {"status": "paused"}, expect=200)
    assert "offer" not in canteen.pay(cid, 1000)                          # paused
    canteen.post(f"/api/v1/campaigns/{camp['id']}/status", {"status": "active"}, expect=200)
    assert "offer" in canteen.pay(cid, 1000)


def test_a_broken_offer_never_breaks_the_payment(canteen) -> None:  # noqa: ANN001, F811
    habit_offer_campaign(canteen)
    cid = canteen.customer(wallet_fen=50_000)
    lunches_on_days(canteen, cid, 3)
    with canteen.app.state.engine.begin() as connection:      # the offers' own table is gone
        connection.execute(text("DROP TABLE habit_offer_campaigns"))
    paid = canteen.pay(cid, 1000)
    assert paid["status"] == "approved" and "offer" not in paid
    assert canteen.view(cid)["wallet_fen"] == 50_000 - 4 * 1000 and canteen.ledger_ok() == []


def test_opt_out_and_habit_offer_roles_and_bad_input(canteen) -> None:  # noqa: ANN001, F811
    cid = canteen.customer()
    instant = campaign(canteen, kind="fixed", amount_fen=100, budget_fen=1000)
    refused = canteen.client.put(f"/api/v1/campaigns/{instant['id']}/habit-offer", headers=canteen.staff)
    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "not_a_coupon_campaign"
    auditor = bearer(operator_token(canteen.app, "auditor"))
    admin = bearer(operator_token(canteen.app, "merchant_admin", merchant_id=canteen.merchant_id))
    assert canteen.client.get(f"/api/v1/customers/{cid}/marketing-opt-out", headers=auditor).json()["opted_out"] is False
    for who in (auditor, admin):
        assert canteen.client.put(f"/api/v1/customers/{cid}/marketing-opt-out", headers=who).status_code == 403
    bank_camp = campaign(canteen, kind="fixed", amount_fen=100, budget_fen=1000, mode="coupon")
    assert canteen.client.put(f"/api/v1/campaigns/{bank_camp['id']}/habit-offer", headers=admin).status_code == 404
    for bad in ("0", "-1", "abc", "9" * 30, "1.5"):
        assert canteen.client.put(f"/api/v1/customers/{bad}/marketing-opt-out",
                                  headers=canteen.staff).status_code in (404, 422), bad
    assert canteen.client.put("/api/v1/customers/999999/marketing-opt-out", headers=canteen.staff).status_code == 404
    twice = [canteen.client.put(f"/api/v1/customers/{cid}/marketing-opt-out", headers=canteen.staff).json()
             for _ in range(2)]
    assert twice[0] == twice[1] and twice[0]["opted_out"] is True
    assert datetime.fromisoformat(twice[0]["opted_out_at"]) <= canteen.now()
