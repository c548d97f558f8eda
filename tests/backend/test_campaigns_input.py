"""Campaign input refused in words (garbage, oversize, unknown kinds, terms that cannot hold),
nothing stored; who may run which campaign; and the random reduction's auditable draw."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.campaigns import Terms, discount_fen, random_reduction_fen
from tests.backend.bad_input_helpers import assert_clear_422, count
from tests.backend.campaign_helpers import campaign
from tests.backend.helpers import bearer, make_merchant_site, operator_token
from tests.backend.money_helpers import canteen  # noqa: F401 - fixture

GOOD = {"name": "午餐立减", "kind": "fixed", "amount_fen": 300, "budget_fen": 100_000}


@pytest.mark.parametrize("change", [
    {"amount_fen": "abc"}, {"amount_fen": -5}, {"amount_fen": 10**12}, {"amount_fen": 1.5}, {"amount_fen": True},
    {"budget_fen": 0}, {"budget_fen": 10**15}, {"kind": "bogus"}, {"kind": None}, {"mode": "lottery"},
    {"percent_off": 100, "kind": "percent", "cap_fen": 100}, {"scenes": ["casino"]}, {"methods": ["cash"]},
    {"name": ""}, {"name": "x" * 500}, {"surprise": 1}, {"starts_at": "tomorrow"},
    {"kind": "random", "min_fen": 500, "max_fen": 100},        # bounds the wrong way round
    {"kind": "percent", "percent_off": 12},                      # no cap
    {"kind": "threshold", "threshold_fen": 1000, "amount_fen": 1000},
    {"kind": "fixed", "amount_fen": None},
    {"starts_at": "2026-05-02T00:00:00+08:00", "ends_at": "2026-05-01T00:00:00+08:00"},
], ids=lambda change: ",".join(f"{k}" for k in change))
def test_bad_campaign_is_refused_in_words_and_nothing_stored(canteen, db_url, change) -> None:  # noqa: ANN001, F811
    response = canteen.client.post("/api/v1/campaigns", json={**GOOD, **change}, headers=canteen.staff)
    assert_clear_422(response)
    assert count(db_url, "campaigns") == 0


def test_bad_coupon_issues_are_refused(canteen) -> None:  # noqa: ANN001, F811
    cid = canteen.customer()
    instant = campaign(canteen, kind="fixed", amount_fen=100, budget_fen=1000)
    coupons = campaign(canteen, kind="fixed", amount_fen=100, budget_fen=1000, mode="coupon")
    later = (canteen.now() + timedelta(days=1)).isoformat()
    for path, body, code in [
            (f"/api/v1/campaigns/{instant['id']}/coupons", {"issue_id": "a", "customer_ids": [cid], "expires_at": later}, 409),
            (f"/api/v1/campaigns/{coupons['id']}/coupons", {"issue_id": "b", "customer_ids": [cid],
                                                            "expires_at": canteen.now().isoformat()}, 422),
            (f"/api/v1/campaigns/{coupons['id']}/coupons", {"issue_id": "c", "customer_ids": [], "expires_at": later}, 422),
            (f"/api/v1/campaigns/{coupons['id']}/coupons", {"issue_id": "d", "customer_ids": [cid + 999],
                                                            "expires_at": later}, 404),
            (f"/api/v1/campaigns/{coupons['id']}/coupons", {"issue_id": "bad id!", "customer_ids": [cid],
                                                            "expires_at": later}, 422),
            ("/api/v1/campaigns/999/coupons", {"issue_id": "e", "customer_ids": [cid], "expires_at": later}, 404)]:
        response = canteen.client.post(path, json=body, headers=canteen.staff)
        assert response.status_code == code, (path, body, response.text)
        detail = response.json()["detail"]
        assert detail["message_zh"] and detail["message_en"]
    assert canteen.view(cid)["coupons"] == []
    ended = canteen.client.post(f"/api/v1/campaigns/{coupons['id']}/status", json={"status": "ended"},
                                headers=canteen.staff)
    again = canteen.client.post(f"/api/v1/campaigns/{coupons['id']}/status", json={"status": "active"},
                                headers=canteen.staff)
    assert ended.status_code == 200 and again.status_code == 409


def test_roles_merchant_admin_runs_its_own_auditor_reads(canteen) -> None:  # noqa: ANN001, F811
    other = make_merchant_site(canteen.app, name="other canteen")["merchant_id"]
    mine = bearer(operator_token(canteen.app, "merchant_admin", canteen.merchant_id))
    theirs = bearer(operator_token(canteen.app, "merchant_admin", other))
    auditor = bearer(operator_token(canteen.app, "auditor"))
    bank = campaign(canteen, kind="fixed", amount_fen=100, budget_fen=1000)
    post = canteen.client.post
    assert post("/api/v1/campaigns", json=GOOD, headers=mine).status_code == 403          # a bank campaign
    own = post("/api/v1/campaigns", json={**GOOD, "funder_kind": "merchant"}, headers=mine)
    assert own.status_code == 201 and own.json()["merchant_ids"] == [canteen.merchant_id]
    assert post("/api/v1/campaigns", json={**GOOD, "funder_kind": "merchant", "merchant_ids": [other]},
                headers=mine).status_code == 403
    assert post("/api/v1/campaigns", json=GOOD, headers=auditor).status_code == 403
    assert [c["id"] for c in canteen.client.get("/api/v1/campaigns", headers=mine).json()] == [own.json()["id"]]
    assert canteen.client.get("/api/v1/campaigns", headers=theirs).json() == []
    assert len(canteen.client.get("/api/v1/campaigns", headers=auditor).json()) == 2
    for who, campaign_id in ((mine, bank["id"]), (theirs, own.json()["id"])):
        assert post(f"/api/v1/campaigns/{campaign_id}/status", json={"status": "paused"}, headers=who).status_code == 404
    assert post(f"/api/v1/campaigns/{own.json()['id']}/status", json={"status": "active"}, headers=mine).status_code == 200


@given(campaign_id=st.integers(1, 10**6), payment_id=st.uuids(), low=st.integers(1, 5000), span=st.integers(0, 5000))
def test_random_reduction_is_repeatable_and_within_bounds(campaign_id, payment_id, low, span) -> None:  # noqa: ANN001
    drawn = random_reduction_fen(campaign_id, str(payment_id), low, low + span)
    assert low <= drawn <= low + span
    assert drawn == random_reduction_fen(campaign_id, str(payment_id), low, low + span)
    terms = Terms(campaign_id=campaign_id, kind="random", min_fen=low, max_fen=low + span)
    assert discount_fen(terms, 100_000, str(payment_id)) == drawn


def test_random_reduction_is_published_arithmetic() -> None:
    """An auditor recomputes it from docs/MARKETING.md: sha256("<campaign>:<payment>"), first 8
    bytes big-endian, modulo the span."""
    import hashlib
    digest = hashlib.sha256(b"7:8c3c6f0e-1d7a-4d5e-9f55-2d0c2b7d1a11").digest()
    assert random_reduction_fen(7, "8c3c6f0e-1d7a-4d5e-9f55-2d0c2b7d1a11", 100, 500) == \
        100 + int.from_bytes(digest[:8], "big") % 401


@given(price=st.integers(1, 1_000_000), off=st.integers(1, 1_000_000))
def test_a_discount_never_takes_the_whole_price(price, off) -> None:  # noqa: ANN001
    for terms in (Terms(1, "fixed", amount_fen=off), Terms(1, "percent", percent_off=99, cap_fen=off),
                  Terms(1, "threshold", amount_fen=off, threshold_fen=off + 1)):
        assert 0 <= discount_fen(terms, price, "p") <= price - 1


def test_campaign_tables_match_the_models(db_url: str) -> None:
    from tests.backend.helpers import schema_drift

    mine = {"campaigns", "coupons", "campaign_uses"}
    assert [d for d in schema_drift(db_url) if any(f"'{name}'" in str(d) or f"table {name}" in str(d)
                                                   for name in mine)] == []


def test_a_merchant_admin_reaches_only_customers_who_can_pay_at_its_merchant(canteen) -> None:  # noqa: ANN001, F811
    """A merchant's admin gives coupons only to customers signed to pay there; an unsigned customer,
    one signed only at another merchant and an id that does not exist get the same answer, so the
    bank's customer ids cannot be probed through coupons."""
    other = make_merchant_site(canteen.app, name="other canteen")["merchant_id"]
    mine = bearer(operator_token(canteen.app, "merchant_admin", canteen.merchant_id))
    own = canteen.client.post("/api/v1/campaigns", json={**GOOD, "funder_kind": "merchant", "mode": "coupon"},
                              headers=mine)
    assert own.status_code == 201, own.text
    signed_here = canteen.customer(name="甲")                      # a face signing valid at any merchant
    unsigned = canteen.post("/api/v1/customers", {"name": "乙"})["id"]
    elsewhere = canteen.post("/api/v1/customers", {"name": "丙"})["id"]
    canteen.post(f"/api/v1/customers/{elsewhere}/signings/card",
                 {"card_hash": "c" * 64, "per_payment_limit_fen": 1000, "per_day_limit_fen": 2000,
                  "merchant_ids": [other]})
    expires = (canteen.now() + timedelta(days=7)).isoformat()

    def issue(cid: int, issue_id: str):  # noqa: ANN202
        return canteen.client.post(f"/api/v1/campaigns/{own.json()['id']}/coupons", headers=mine,
                                   json={"issue_id": issue_id, "customer_ids": [cid], "expires_at": expires})

    answers = [issue(cid, f"probe-{cid}") for cid in (unsigned, elsewhere, 999_999)]
    assert {a.status_code for a in answers} == {404}
    assert {a.json()["detail"]["code"] for a in answers} == {"customer_not_found"}
    claim = canteen.client.post(f"/api/v1/campaigns/{own.json()['id']}/claims", headers=mine,
                                json={"customer_id": elsewhere})
    assert claim.status_code == 404
    assert issue(signed_here, "batch-1").status_code == 201
    # the bank's operator is not limited to one merchant's customers
    bank_issue = canteen.client.post(f"/api/v1/campaigns/{own.json()['id']}/coupons", headers=canteen.staff,
                                     json={"issue_id": "bank-1", "customer_ids": [elsewhere], "expires_at": expires})
    assert bank_issue.status_code == 201, bank_issue.text
