"""Offline budget slices of instant campaigns (issue 17) through the real API, on SQLite and
PostgreSQL: a campaign let out offline gives each terminal a slice of its budget through the change
feed; a pushed offline discount is charged to the pushing terminal's slice and the funder pays it
as online; a claim beyond what the rule or the slice covers is never the campaign's, and the diner
pays what the terminal told them; pausing the campaign or disabling the terminal gives the unused
part back; and whatever the terminals claim, no slice and no budget is ever overspent."""
from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from backend.models.campaigns import Campaign, CampaignSlice
from backend.services.campaign_slices import allow_offline, refresh_all
from core.campaigns import discount_fen
from core.wire.changes import CampaignSliceData
from sync.auth import TerminalAuth
from tests.backend.campaign_helpers import account_balance, campaign, merchant_balance
from tests.backend.campaign_invariants import campaign_problems
from tests.backend.helpers import register_terminal
from tests.backend.money_helpers import canteen, payment_body  # noqa: F401 - canteen is a fixture
from tests.backend.slice_invariants import slice_problems

FIXED = dict(kind="fixed", amount_fen=300)


def offline(canteen, campaign_id: int, share_pct: int = 5, cap_fen: int = 1000) -> None:  # noqa: ANN001, F811
    with canteen.app.state.sessions() as session:
        allow_offline(session, session.get(Campaign, campaign_id), share_pct, cap_fen, now=canteen.now())
        session.commit()


def slices(canteen, campaign_id: int) -> list[dict]:  # noqa: ANN001, F811
    with canteen.app.state.sessions() as session:
        return [dict(id=p.id, terminal_id=p.terminal_id, granted=p.granted_fen, used=p.used_fen, status=p.status)
                for p in session.scalars(select(CampaignSlice).where(CampaignSlice.campaign_id == campaign_id)
                                         .order_by(CampaignSlice.id))]


def budget_left(canteen, campaign_id: int) -> int:  # noqa: ANN001, F811
    response = canteen.client.get(f"/api/v1/campaigns/{campaign_id}", headers=canteen.staff)
    assert response.status_code == 200, response.text
    return response.json()["budget_left_fen"]


def pulled_slices(canteen, auth) -> dict[str, dict]:  # noqa: ANN001, F811
    """The campaign_slice changes a terminal pulls now (newest per key)."""
    found, cursor = {}, 0
    while True:
        response = canteen.client.get(f"/api/v1/terminal/sync/pull?cursor={cursor}&limit=500", auth=auth)
        assert response.status_code == 200, response.text
        page = response.json()
        found.update({c["key"]: c["data"] for c in page["changes"] if c["kind"] == "campaign_slice"})
        cursor = page["cursor"]
        if not page["more"]:
            return found


def push(canteen, auth, body: dict, seq: int = 1) -> dict:  # noqa: ANN001, F811
    response = canteen.client.post("/api/v1/terminal/sync/push", auth=auth,
                                   json={"items": [{"seq": seq, "kind": "payment", "payment": body}]})
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def claim(canteen, customer_id: int, price: int, campaign_id: int, discount: int, **kw) -> dict:  # noqa: ANN001, ANN003, F811
    return payment_body(customer_id, price, offline=True, occurred_at=canteen.now(), offline_campaign_id=campaign_id,
                        offline_discount_fen=discount, **kw)


def paid(result: dict) -> int:
    """What the diner paid by a payment answer (paid_fen is sent only when a discount applied)."""
    return result["payment"].get("paid_fen") or result["payment"]["amount_fen"]


def off(result: dict) -> int:
    return result["payment"].get("discount_fen", 0)


def second_terminal(canteen) -> tuple[int, TerminalAuth]:  # noqa: ANN001, F811
    terminal_id, key = register_terminal(canteen.client, canteen.app, canteen.merchant_id, canteen.site_id)
    return terminal_id, TerminalAuth(key, terminal_id, clock=canteen.app.state.clock.timestamp)


def test_each_terminal_gets_a_slice_through_the_feed_reserved_from_the_budget(canteen) -> None:  # noqa: ANN001, F811
    other_id, _ = second_terminal(canteen)
    online_only = campaign(canteen, budget_fen=10_000, **FIXED)["id"]
    cid = campaign(canteen, budget_fen=10_000, **FIXED)["id"]
    offline(canteen, cid, share_pct=5, cap_fen=1000)          # 5 % of 100.00 = 5.00 per terminal
    assert slices(canteen, online_only) == []
    mine = slices(canteen, cid)
    assert sorted(p["terminal_id"] for p in mine) == sorted([canteen.terminal_id, other_id])
    assert {p["granted"] for p in mine} == {500}
    assert budget_left(canteen, cid) == 10_000 - 1000 and budget_left(canteen, online_only) == 10_000
    late_id, late = second_terminal(canteen)                   # registered later: its slice comes at once
    assert late_id in {p["terminal_id"] for p in slices(canteen, cid)}
    assert f"{late_id}:{cid}" in pulled_slices(canteen, late)
    assert budget_left(canteen, cid) == 10_000 - 1500
    feed = pulled_slices(canteen, canteen.auth)
    data = CampaignSliceData.model_validate(feed[f"{canteen.terminal_id}:{cid}"])
    assert (data.terminal_id, data.campaign_id, data.status) == (canteen.terminal_id, cid, "open")
    assert data.granted_fen == 500
    assert (data.kind, data.amount_fen, data.merchant_ids) == ("fixed", 300, [canteen.merchant_id])
    assert slice_problems(canteen.app) == []


def test_a_pushed_offline_discount_is_charged_to_the_slice_once(canteen) -> None:  # noqa: ANN001, F811
    diner = canteen.customer(wallet_fen=5_000)
    cid = campaign(canteen, budget_fen=10_000, **FIXED)["id"]
    offline(canteen, cid, share_pct=10, cap_fen=1000)
    left = budget_left(canteen, cid)
    body = claim(canteen, diner, 1_200, cid, 300)
    result = push(canteen, canteen.auth, body)
    assert result["status"] == "booked", result
    paid = result["payment"]
    assert (paid["amount_fen"], paid["discount_fen"], paid["paid_fen"], paid["campaign_id"]) == (1_200, 300, 900, cid)
    assert canteen.view(diner)["wallet_fen"] == 4_100
    assert merchant_balance(canteen) == 1_200 and account_balance(canteen.app, f"campaign:{cid}") == -300
    assert slices(canteen, cid)[0]["used"] == 300
    assert budget_left(canteen, cid) == left                  # reserved when the slice was granted
    assert push(canteen, canteen.auth, body)["status"] == "duplicate"
    assert slices(canteen, cid)[0]["used"] == 300 and canteen.view(diner)["wallet_fen"] == 4_100
    assert slice_problems(canteen.app) == []


def test_a_claim_beyond_the_rule_the_slice_or_any_slice_is_never_the_campaigns(canteen) -> None:  # noqa: ANN001, F811
    diner = canteen.customer(wallet_fen=20_000)
    cid = campaign(canteen, budget_fen=500, **FIXED)["id"]
    offline(canteen, cid, share_pct=100, cap_fen=500)         # the whole 5.00 budget: nothing to top up from
    online_only = campaign(canteen, budget_fen=10_000, **FIXED)["id"]
    # The rule gives 3.00 off 12.00: a terminal claiming 8.00 gets 3.00 from the campaign; the
    # diner pays the 4.00 the terminal showed, the merchant is owed 7.00 (it bears the 5.00).
    over_rule = push(canteen, canteen.auth, claim(canteen, diner, 1_200, cid, 800))
    assert over_rule["status"] == "booked"
    assert (over_rule["payment"]["discount_fen"], over_rule["payment"]["paid_fen"]) == (300, 400)
    assert canteen.view(diner)["wallet_fen"] == 20_000 - 400
    assert merchant_balance(canteen) == 700
    # 2.00 left in the slice: an honest 3.00 claim gets 2.00 from it, the merchant bears 1.00.
    short = push(canteen, canteen.auth, claim(canteen, diner, 1_000, cid, 300), seq=2)
    assert (short["payment"]["discount_fen"], short["payment"]["paid_fen"]) == (200, 700)
    # A campaign this terminal holds no slice of pays nothing at all.
    none = push(canteen, canteen.auth, claim(canteen, diner, 1_000, online_only, 300), seq=3)
    assert none["status"] == "booked" and (off(none), paid(none)) == (0, 700)
    unknown = push(canteen, canteen.auth, claim(canteen, diner, 1_000, 99_999, 300), seq=4)
    assert unknown["status"] == "booked" and (off(unknown), paid(unknown)) == (0, 700)
    assert canteen.view(diner)["wallet_fen"] == 20_000 - 400 - 700 - 700 - 700
    assert account_balance(canteen.app, f"campaign:{cid}") == -500
    assert account_balance(canteen.app, f"campaign:{online_only}") == 0
    assert slices(canteen, cid)[0]["used"] == 500
    assert slice_problems(canteen.app) == [] and canteen.ledger_ok() == []
    assert campaign_problems(canteen.app) == []                # the campaign tests' invariants know slices too


def test_pause_gives_the_unused_part_back_and_resume_opens_a_new_slice(canteen) -> None:  # noqa: ANN001, F811
    diner = canteen.customer(wallet_fen=20_000)
    cid = campaign(canteen, budget_fen=10_000, **FIXED)["id"]
    offline(canteen, cid, share_pct=10, cap_fen=1000)
    push(canteen, canteen.auth, claim(canteen, diner, 1_200, cid, 300))
    canteen.post(f"/api/v1/campaigns/{cid}/status", {"status": "paused"}, expect=200)
    [closed] = slices(canteen, cid)
    assert (closed["status"], closed["granted"], closed["used"]) == ("closed", 300, 300)
    assert budget_left(canteen, cid) == 10_000 - 300
    feed = pulled_slices(canteen, canteen.auth)[f"{canteen.terminal_id}:{cid}"]
    assert feed["status"] == "closed"
    late = push(canteen, canteen.auth, claim(canteen, diner, 1_200, cid, 300), seq=2)   # given before it heard
    assert (off(late), paid(late)) == (0, 900)
    canteen.post(f"/api/v1/campaigns/{cid}/status", {"status": "active"}, expect=200)
    reopened = slices(canteen, cid)[-1]
    assert reopened["status"] == "open" and reopened["id"] != closed["id"] and reopened["granted"] == 1000
    assert pulled_slices(canteen, canteen.auth)[f"{canteen.terminal_id}:{cid}"]["slice_id"] == reopened["id"]
    assert slice_problems(canteen.app) == []


def test_a_disabled_terminal_gives_its_slice_back(canteen) -> None:  # noqa: ANN001, F811
    other_id, _ = second_terminal(canteen)
    cid = campaign(canteen, budget_fen=10_000, **FIXED)["id"]
    offline(canteen, cid, share_pct=10, cap_fen=1000)
    response = canteen.client.post(f"/api/v1/terminals/{other_id}/disable", json={"reason": "retired"},
                                   headers=canteen.staff)
    assert response.status_code == 200, response.text
    by_terminal = {p["terminal_id"]: p for p in slices(canteen, cid)}
    assert by_terminal[other_id]["status"] == "closed" and by_terminal[canteen.terminal_id]["status"] == "open"
    assert budget_left(canteen, cid) == 10_000 - 1000
    assert slice_problems(canteen.app) == []


def test_a_slice_is_topped_up_when_half_is_spent_and_refunds_go_to_the_budget(canteen) -> None:  # noqa: ANN001, F811
    diner = canteen.customer(wallet_fen=20_000)
    cid = campaign(canteen, budget_fen=2_000, **FIXED)["id"]
    offline(canteen, cid, share_pct=30, cap_fen=5000)         # 6.00
    first = push(canteen, canteen.auth, claim(canteen, diner, 1_000, cid, 300))
    assert slices(canteen, cid)[0]["granted"] == 600            # 3.00 left: half, not less
    push(canteen, canteen.auth, claim(canteen, diner, 1_000, cid, 300), seq=2)
    assert slices(canteen, cid)[0] | {"id": 0} == {"id": 0, "terminal_id": canteen.terminal_id, "granted": 1200,
                                                  "used": 600, "status": "open"}
    assert budget_left(canteen, cid) == 2_000 - 1_200
    canteen.refund(first["payment"]["payment_id"], 1_000)        # the campaign's 3.00 goes back to its budget
    assert budget_left(canteen, cid) == 2_000 - 1_200 + 300
    assert canteen.view(diner)["wallet_fen"] == 20_000 - 700
    assert slice_problems(canteen.app) == [] and canteen.ledger_ok() == []


def test_the_job_closes_slices_of_a_campaign_whose_time_is_up(canteen) -> None:  # noqa: ANN001, F811
    ends = canteen.now().replace(microsecond=0)
    cid = campaign(canteen, budget_fen=10_000, ends_at=(ends.replace(year=ends.year + 1)).isoformat(), **FIXED)["id"]
    offline(canteen, cid, share_pct=10, cap_fen=1000)
    assert slices(canteen, cid)[0]["status"] == "open"
    with canteen.app.state.sessions() as session:
        done = refresh_all(session, ends.replace(year=ends.year + 2))
        session.commit()
    assert done["returned_fen"] == 1000 and slices(canteen, cid)[0]["status"] == "closed"
    assert budget_left(canteen, cid) == 10_000 and slice_problems(canteen.app) == []


# --- whatever the terminals do ------------------------------------------------------------------

ops = st.lists(st.one_of(
    st.tuples(st.just("pay"), st.integers(0, 1), st.integers(2, 3_000), st.sampled_from(["honest", "greedy", "none"])),
    st.tuples(st.just("push"), st.integers(0, 1)),
    st.tuples(st.sampled_from(["pause", "resume", "job", "refund"])),
), min_size=1, max_size=14)


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=ops, kind=st.sampled_from(["fixed", "random", "percent"]))
def test_slices_are_never_overspent_whatever_the_terminals_do(canteen, plan, kind) -> None:  # noqa: ANN001, F811
    """Two terminals take discounts offline (honestly from what they pulled, greedily: the whole
    price but a fen, or not at all), push them in batches when they like, while the campaign is
    paused and resumed, the job runs and payments are refunded: no slice is used beyond its grant,
    the budget never beyond itself, the funder pays exactly the covered discounts, the diner pays
    exactly what the terminal told them, and an honest claim on a slice still open is covered."""
    terms = {"fixed": FIXED, "random": dict(kind="random", min_fen=1, max_fen=400),
             "percent": dict(kind="percent", percent_off=20, cap_fen=500)}[kind]
    if not hasattr(canteen, "spare"):
        canteen.spare = second_terminal(canteen)
    terminals = [(canteen.terminal_id, canteen.auth), canteen.spare]
    diner = canteen.customer(wallet_fen=200_000)
    cid = campaign(canteen, budget_fen=1_500, **terms)["id"]
    offline(canteen, cid, share_pct=30, cap_fen=400)
    status = "active"
    spent_locally: dict[int, int] = {}            # slice id -> what the terminal gave from it
    queues: list[list[tuple[dict, int, bool]]] = [[], []]
    booked: list[dict] = []
    wallet = 200_000
    for op in plan:
        if op[0] == "pay":
            _, t, price, mode = op
            view = pulled_slices(canteen, terminals[t][1]).get(f"{terminals[t][0]}:{cid}")
            given_off, honest_open = 0, False
            if view is not None and view["status"] == "open" and mode != "none":
                data = CampaignSliceData.model_validate(view)
                body = payment_body(diner, price, offline=True, occurred_at=canteen.now())
                rule = discount_fen(data.terms(), price, body["payment_id"])
                left = data.granted_fen - spent_locally.get(data.slice_id, 0)
                if mode == "greedy" and price > 1:
                    given_off = price - 1
                elif mode == "honest" and 0 < rule <= left:
                    given_off, honest_open = rule, True
                if given_off:
                    spent_locally[data.slice_id] = spent_locally.get(data.slice_id, 0) + given_off
                    body.update(offline_campaign_id=cid, offline_discount_fen=given_off)
            else:
                body = payment_body(diner, price, offline=True, occurred_at=canteen.now())
            queues[t].append((body, given_off, honest_open))
        elif op[0] == "push":
            t = op[1]
            for body, given_off, honest_open in queues[t]:
                result = push(canteen, terminals[t][1], body, seq=len(booked) + 1)
                assert result["status"] == "booked", result
                assert paid(result) == body["amount_fen"] - given_off       # what the terminal told the diner
                assert off(result) <= given_off
                if honest_open:
                    assert off(result) == given_off, (result, given_off)
                wallet -= paid(result)
                booked.append(result)
            queues[t] = []
        elif op[0] in ("pause", "resume"):
            target = "paused" if op[0] == "pause" else "active"
            if status != target:
                canteen.post(f"/api/v1/campaigns/{cid}/status", {"status": target}, expect=200)
                status = target
                if target == "paused":    # the terminals hear of it before they give more
                    for q in queues:
                        q[:] = [(b, g, False) for b, g, _ in q]
        elif op[0] == "job":
            with canteen.app.state.sessions() as session:
                refresh_all(session, canteen.now())
                session.commit()
        elif op[0] == "refund" and booked:
            result = booked.pop(0)
            canteen.refund(result["payment"]["payment_id"], result["payment"]["amount_fen"],
                           refund_id=str(uuid.uuid4()))
            wallet += paid(result)
        assert slice_problems(canteen.app) == []
    assert canteen.view(diner)["wallet_fen"] == wallet


@pytest.mark.parametrize("bad", [
    {"offline_discount_fen": -1}, {"offline_discount_fen": 10**9}, {"offline_discount_fen": "a lot"},
    {"offline_discount_fen": 300.5}, {"offline_discount_fen": 1_200}, {"offline_campaign_id": None},
    {"offline_campaign_id": "five"}, {"offline_campaign_id": [1]},
])
def test_a_garbled_claim_is_rejected_and_touches_no_slice(canteen, bad) -> None:  # noqa: ANN001, F811
    diner = canteen.customer(wallet_fen=5_000)
    cid = campaign(canteen, budget_fen=10_000, **FIXED)["id"]
    offline(canteen, cid, share_pct=10, cap_fen=1000)
    result = push(canteen, canteen.auth, {**claim(canteen, diner, 1_200, cid, 300), **bad})
    assert result["status"] == "rejected" and result["reason"].startswith("malformed"), result
    assert slices(canteen, cid)[0]["used"] == 0 and canteen.view(diner)["wallet_fen"] == 5_000
    assert slice_problems(canteen.app) == []
