"""Switching offline budget slices through the API (PUT/DELETE /api/v1/campaigns/{id}/offline,
issue 17), on SQLite and PostgreSQL: on, every terminal the campaign applies at holds a slice
through the change feed, reserved from the budget; off, the open slices close and their unused
part goes back; refusals are clear and change nothing; roles as the other campaign changes; and
each switch is on record with the operator's id. Also: targeted coupons pass over customers who
opted out of marketing, while claiming one themselves stays open to them."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from backend.models.campaigns import OfflineCampaign
from tests.backend.bad_input_helpers import assert_clear_422
from tests.backend.campaign_helpers import campaign
from tests.backend.helpers import bearer, make_merchant_site, operator_token
from tests.backend.money_helpers import canteen  # noqa: F401 - fixture
from tests.backend.slice_invariants import slice_problems
from tests.backend.test_campaign_slices import budget_left, pulled_slices, slices

FIXED = dict(kind="fixed", amount_fen=300)


def switch(canteen, campaign_id: int, body: dict | None, headers: dict | None = None):  # noqa: ANN001, ANN201, F811
    """PUT the body (DELETE when None) as the bank's operator unless told."""
    path, headers = f"/api/v1/campaigns/{campaign_id}/offline", headers or canteen.staff
    if body is None:
        return canteen.client.delete(path, headers=headers)
    return canteen.client.put(path, json=body, headers=headers)


def offline_rows(canteen) -> list[tuple[int, int, int]]:  # noqa: ANN001, F811
    with canteen.app.state.sessions() as session:
        return [(r.campaign_id, r.share_pct, r.cap_fen) for r in session.scalars(select(OfflineCampaign))]


def test_on_gives_terminals_slices_and_off_gives_the_unused_part_back(canteen) -> None:  # noqa: ANN001, F811
    cid = campaign(canteen, budget_fen=10_000, **FIXED)["id"]
    on = switch(canteen, cid, {"share_pct": 10, "cap_fen": 800})
    assert on.status_code == 200, on.text
    assert on.json() == {"campaign_id": cid, "offline": True, "share_pct": 10, "cap_fen": 800,
                         "budget_left_fen": 9_200, "reserved_fen": 800}   # 10 % of 100.00 = 10.00, capped at 8.00
    assert f"{canteen.terminal_id}:{cid}" in pulled_slices(canteen, canteen.auth)
    assert budget_left(canteen, cid) == 9_200
    view = canteen.client.get(f"/api/v1/campaigns/{cid}", headers=canteen.staff).json()
    assert view["offline"] == {"share_pct": 10, "cap_fen": 800}
    resized = switch(canteen, cid, {"share_pct": 20, "cap_fen": 1_500})      # the same switch again: a new size
    assert resized.status_code == 200 and resized.json()["share_pct"] == 20
    assert offline_rows(canteen) == [(cid, 20, 1_500)]
    off = switch(canteen, cid, None)
    assert off.status_code == 200, off.text
    assert off.json()["offline"] is False and off.json()["returned_fen"] == 800
    assert budget_left(canteen, cid) == 10_000 and offline_rows(canteen) == []
    assert {p["status"] for p in slices(canteen, cid)} == {"closed"}
    closed = pulled_slices(canteen, canteen.auth)[f"{canteen.terminal_id}:{cid}"]
    assert closed["status"] == "closed"                                   # the terminal learns it
    again = switch(canteen, cid, None)                                    # off twice: nothing more
    assert again.status_code == 200 and again.json()["returned_fen"] == 0
    assert slice_problems(canteen.app) == [] and canteen.ledger_ok() == []


def test_a_paused_campaign_can_be_let_out_and_gets_slices_when_it_resumes(canteen) -> None:  # noqa: ANN001, F811
    cid = campaign(canteen, budget_fen=10_000, status="draft", **FIXED)["id"]
    assert switch(canteen, cid, {"share_pct": 5, "cap_fen": 1_000}).json()["reserved_fen"] == 0
    assert slices(canteen, cid) == []
    canteen.post(f"/api/v1/campaigns/{cid}/status", {"status": "active"}, expect=200)
    assert [p["granted"] for p in slices(canteen, cid)] == [500]


@pytest.mark.parametrize("body", [
    {"share_pct": 0, "cap_fen": 100}, {"share_pct": 101, "cap_fen": 100}, {"share_pct": -1, "cap_fen": 100},
    {"share_pct": "5", "cap_fen": 100}, {"share_pct": 5.5, "cap_fen": 100}, {"share_pct": True, "cap_fen": 100},
    {"share_pct": 5, "cap_fen": 0}, {"share_pct": 5, "cap_fen": 1_000_001}, {"share_pct": 5, "cap_fen": 10**30},
    {"share_pct": 5, "cap_fen": "200元"}, {"share_pct": 5}, {"cap_fen": 100}, {},
    {"share_pct": 5, "cap_fen": 100, "surprise": 1}, [5, 100], None, "on",
], ids=lambda body: json.dumps(body)[:40])
def test_bad_sizes_are_refused_in_words_and_change_nothing(canteen, body) -> None:  # noqa: ANN001, F811
    cid = campaign(canteen, budget_fen=10_000, **FIXED)["id"]
    assert_clear_422(canteen.client.put(f"/api/v1/campaigns/{cid}/offline", json=body, headers=canteen.staff))
    assert offline_rows(canteen) == [] and slices(canteen, cid) == []


def test_garbage_truncated_and_oversize_bodies_are_refused(canteen) -> None:  # noqa: ANN001, F811
    cid = campaign(canteen, budget_fen=10_000, **FIXED)["id"]
    headers = {**canteen.staff, "Content-Type": "application/json"}
    for raw in (b"\xff\xfe garbage", b'{"share_pct": 5, "cap_f', b"",
                b'{"share_pct": 5, "cap_fen": 100, "pad": "' + b"x" * 1_000_000 + b'"}',
                b'{"share_pct": ' + b"9" * 4_000 + b', "cap_fen": 100}'):
        response = canteen.client.put(f"/api/v1/campaigns/{cid}/offline", content=raw, headers=headers)
        assert_clear_422(response)
    # past Python's 4300-digit limit the JSON parser itself fails: FastAPI answers 400 (app-wide, not this route's)
    huge = canteen.client.put(f"/api/v1/campaigns/{cid}/offline", headers=headers,
                              content=b'{"share_pct": ' + b"9" * 5_000 + b', "cap_fen": 100}')
    assert huge.status_code in (400, 422)
    assert offline_rows(canteen) == [] and budget_left(canteen, cid) == 10_000


def test_coupon_ended_and_unknown_campaigns_are_refused(canteen) -> None:  # noqa: ANN001, F811
    coupons = campaign(canteen, budget_fen=10_000, mode="coupon", **FIXED)["id"]
    ended = campaign(canteen, budget_fen=10_000, **FIXED)["id"]
    canteen.post(f"/api/v1/campaigns/{ended}/status", {"status": "ended"}, expect=200)
    size = {"share_pct": 5, "cap_fen": 1_000}
    for campaign_id, status, code in ((coupons, 409, "not_an_instant_campaign"), (ended, 409, "campaign_closed"),
                                      (999_999, 404, "campaign_not_found")):
        response = switch(canteen, campaign_id, size)
        assert response.status_code == status, response.text
        detail = response.json()["detail"]
        assert detail["code"] == code and detail["message_zh"] and detail["message_en"]
    assert switch(canteen, 999_999, None).status_code == 404
    assert switch(canteen, coupons, None).status_code == 200       # off is harmless: it was never on
    assert offline_rows(canteen) == []


def test_roles_as_the_other_campaign_changes_and_each_switch_on_record(canteen) -> None:  # noqa: ANN001, F811
    other = make_merchant_site(canteen.app, name="other canteen")["merchant_id"]
    mine = bearer(operator_token(canteen.app, "merchant_admin", canteen.merchant_id))
    theirs = bearer(operator_token(canteen.app, "merchant_admin", other))
    auditor = bearer(operator_token(canteen.app, "auditor"))
    bank = campaign(canteen, budget_fen=10_000, **FIXED)["id"]
    own = canteen.client.post("/api/v1/campaigns", headers=mine, json={
        "name": "本店立减", "funder_kind": "merchant", "budget_fen": 10_000, "status": "active", **FIXED})
    assert own.status_code == 201, own.text
    size = {"share_pct": 5, "cap_fen": 1_000}
    assert switch(canteen, bank, size, mine).status_code == 404          # the bank's campaign: not its own
    assert switch(canteen, own.json()["id"], size, theirs).status_code == 404
    assert switch(canteen, own.json()["id"], size, auditor).status_code == 403
    assert switch(canteen, own.json()["id"], None, auditor).status_code == 403
    assert offline_rows(canteen) == []
    with capture_logs() as said:
        assert switch(canteen, own.json()["id"], size, mine).status_code == 200
        assert switch(canteen, own.json()["id"], None, mine).status_code == 200
    on_record = [(e["event"], e["campaign_id"]) for e in said if e["event"].startswith("campaign_offline")]
    assert on_record == [("campaign_offline_on", own.json()["id"]), ("campaign_offline_off", own.json()["id"])]
    assert all(isinstance(e["operator_id"], int) for e in said if e["event"].startswith("campaign_offline"))


def _opted_out(canteen, customer_id: int) -> None:  # noqa: ANN001, F811
    response = canteen.client.put(f"/api/v1/customers/{customer_id}/marketing-opt-out", headers=canteen.staff)
    assert response.status_code == 200, response.text


def test_issued_coupons_pass_over_customers_who_opted_out_but_they_may_claim(canteen) -> None:  # noqa: ANN001, F811
    group = canteen.post("/api/v1/customer-groups", {"name": "三年级二班", "funding_order": "subsidy_first"})
    members = [canteen.customer(f"张{i}三", group_id=group["id"]) for i in range(3)]
    listed_in, listed_out = canteen.customer("李四海"), canteen.customer("王五")
    _opted_out(canteen, members[0])
    _opted_out(canteen, listed_out)
    cid = campaign(canteen, budget_fen=10_000, mode="coupon", **FIXED)["id"]
    body = {"issue_id": "spring-1", "customer_ids": [listed_in, listed_out], "group_id": group["id"],
            "expires_at": (canteen.now() + timedelta(days=7)).isoformat()}
    issued = canteen.post(f"/api/v1/campaigns/{cid}/coupons", body)
    assert len(issued["coupon_ids"]) == 3 and issued["skipped_opted_out"] == 2
    assert canteen.view(members[0])["coupons"] == [] and canteen.view(listed_out)["coupons"] == []
    assert len(canteen.view(members[1])["coupons"]) == 1 and len(canteen.view(listed_in)["coupons"]) == 1
    again = canteen.post(f"/api/v1/campaigns/{cid}/coupons", body)            # the same issue: nobody twice
    assert again["coupon_ids"] == issued["coupon_ids"] and again["skipped_opted_out"] == 2
    only_out = canteen.post(f"/api/v1/campaigns/{cid}/coupons", {**body, "issue_id": "spring-2", "group_id": None,
                                                                 "customer_ids": [listed_out]})
    assert (only_out["coupon_ids"], only_out["skipped_opted_out"]) == ([], 1)
    claimed = canteen.post(f"/api/v1/campaigns/{cid}/claims", {"customer_id": listed_out})   # their own choice
    assert [c["id"] for c in canteen.view(listed_out)["coupons"]] == [claimed["coupon_id"]]
