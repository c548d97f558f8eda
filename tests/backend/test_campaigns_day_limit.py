"""A signing's per-day limit counts what the diner paid, not prices: a discount leaves room under
the limit, and a partial refund gives back only the payer's share of it (SQLite and PostgreSQL)."""
from __future__ import annotations

from tests.backend.campaign_helpers import campaign
from tests.backend.money_helpers import canteen  # noqa: F401 - fixture


def test_the_day_limit_sums_what_was_paid_not_prices(canteen) -> None:  # noqa: ANN001, F811
    cid = canteen.customer(wallet_fen=10_000, per_payment=2000, per_day=2000)
    offer = campaign(canteen, kind="fixed", amount_fen=300, budget_fen=10_000)
    first = canteen.pay(cid, 1500)
    assert (first["status"], first["paid_fen"]) == ("approved", 1200)
    second = canteen.pay(cid, 1000)          # prices 25.00 > 20.00, but paid 12.00 + 7.00
    assert (second["status"], second["paid_fen"]) == ("approved", 700)
    canteen.post(f"/api/v1/campaigns/{offer['id']}/status", {"status": "paused"}, expect=200)
    assert canteen.pay(cid, 101)["reason"] == "over_day_limit"     # 19.00 paid: one more yuan fits, not 1.01
    assert canteen.pay(cid, 100)["status"] == "approved"
    back = canteen.refund(first["payment_id"], 500)               # the campaign gets 1.00, the diner 4.00
    assert (back["status"], back["campaign_fen"]) == ("refunded", 100)
    assert canteen.pay(cid, 401)["reason"] == "over_day_limit"
    assert canteen.pay(cid, 400)["status"] == "approved"
    assert canteen.view(cid)["wallet_fen"] == 10_000 - 1200 - 700 - 100 + 400 - 400
