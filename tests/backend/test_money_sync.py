"""Sync endpoints through the real API: push (per-item booked / duplicate / declined / rejected,
one bad item never fails the batch) and pull (signings, balances, programs; masked names only)."""
from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.auth import TerminalAuth
from tests.backend.helpers import make_app, make_merchant_site, register_terminal
from tests.backend.money_helpers import canteen, open_canteen, payment_body, template  # noqa: F401 - canteen is a fixture


def _push(canteen, items: list) -> list[dict]:  # noqa: ANN001
    response = canteen.client.post("/api/v1/terminal/sync/push", json={"items": items}, auth=canteen.auth)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_push_books_each_item_on_its_own(canteen) -> None:  # noqa: ANN001
    rich = canteen.customer("张三", wallet_fen=1000)
    poor = canteen.customer("李四", wallet_fen=100)
    ok = payment_body(rich, 600, offline=True, terminal_seq=1)
    results = _push(canteen, [
        {"seq": 1, "kind": "payment", "payment": ok},
        {"seq": 2, "kind": "payment", "payment": payment_body(poor, 500, offline=True)},
        {"seq": 3, "kind": "payment", "payment": {**payment_body(rich, 100), "amount_fen": -1}},
        {"seq": 4, "kind": "payment"},
        "not even an object",
        {"seq": 6, "kind": "event", "event": {"type": "gate_opened_by_hand", "by": "cashier 2"}},
        {"seq": 7, "kind": "refund", "refund": {"refund_id": str(uuid.uuid4()), "payment_id": str(uuid.uuid4()),
                                                "amount_fen": 1, "reason": "x", "occurred_at": ok["occurred_at"]}},
    ])
    assert [(r["seq"], r["status"]) for r in results] == [
        (1, "booked"), (2, "declined"), (3, "rejected"), (4, "rejected"), (0, "rejected"), (6, "booked"),
        (7, "rejected")]
    assert results[1]["reason"] == "insufficient_funds"
    assert results[0]["payment"]["split"] == [{"source": "wallet", "program_id": None, "amount_fen": 600}]
    assert results[6]["reason"] == "payment_not_found"
    again = _push(canteen, [{"seq": 1, "kind": "payment", "payment": ok},
                            {"seq": 6, "kind": "event", "event": {"type": "gate_opened_by_hand"}}])
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    assert canteen.view(rich)["wallet_fen"] == 400 and canteen.view(poor)["wallet_fen"] == 100
    assert canteen.ledger_ok() == []


def test_an_online_try_then_an_offline_push_of_the_same_payment_books_once(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=1000)
    body = payment_body(cid, 300)
    assert canteen.pay(cid, 300, body["payment_id"], occurred_at=None)["status"] == "approved"
    pushed = _push(canteen, [{"seq": 9, "kind": "payment", "payment": {**body, "offline": True, "terminal_seq": 9}}])
    assert pushed[0]["status"] == "duplicate"
    assert canteen.view(cid)["wallet_fen"] == 700


def test_pushed_refund_goes_back_and_is_booked_once(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=1000)
    paid = canteen.pay(cid, 600)
    refund = {"refund_id": str(uuid.uuid4()), "payment_id": paid["payment_id"], "amount_fen": 250,
              "reason": "wrong dish", "occurred_at": "2026-03-10T12:05:00+08:00"}
    first = _push(canteen, [{"seq": 3, "kind": "refund", "refund": refund}])
    assert first[0]["status"] == "booked" and first[0]["refund"]["split"][0]["source"] == "wallet"
    assert _push(canteen, [{"seq": 3, "kind": "refund", "refund": refund}])[0]["status"] == "duplicate"
    too_much = _push(canteen, [{"seq": 4, "kind": "refund", "refund": {**refund, "refund_id": str(uuid.uuid4()),
                                                                       "amount_fen": 400}}])
    assert (too_much[0]["status"], too_much[0]["reason"]) == ("declined", "refund_exceeds_payment")
    assert canteen.view(cid)["wallet_fen"] == 650


@pytest.mark.parametrize("body", [{"items": []}, {"items": "x"}, {"nope": 1}, [], {"items": [{}] * 501}])
def test_push_body_that_is_not_a_batch_is_a_422(canteen, body) -> None:  # noqa: ANN001
    response = canteen.client.post("/api/v1/terminal/sync/push", json=body, auth=canteen.auth)
    assert response.status_code == 422


def test_pull_carries_signings_with_templates_balances_and_programs_masked(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer("欧阳小明", wallet_fen=800, seed=5)
    program = canteen.program()
    canteen.grant(program, [(cid, 500)])
    changes = _pull_all(canteen)
    face = [c for c in changes if c["kind"] == "face_signing"][-1]
    assert face["key"] == str(cid)
    assert face["data"]["masked_name"] == "欧**明" and face["data"]["templates"] == [template(5)]
    balance = [c for c in changes if c["kind"] == "balance" and c["key"] == str(cid)][-1]
    assert balance["data"]["wallet_fen"] == 800
    assert balance["data"]["subsidies"] == [{"program_id": program, "balance_fen": 500}]
    assert any(c["kind"] == "subsidy_program" and c["key"] == str(program) for c in changes)
    assert "欧阳小明" not in str(changes)
    signing = canteen.client.get(f"/api/v1/customers/{cid}/signings", headers=canteen.staff).json()[0]
    canteen.post(f"/api/v1/signings/{signing['id']}/revoke", {"reason": "left"}, expect=200)
    revoked = [c for c in _pull_all(canteen) if c["kind"] == "face_signing"][-1]
    assert revoked["deleted"] and revoked["data"]["status"] == "revoked" and revoked["data"]["templates"] == []


def test_a_groups_new_funding_order_reaches_terminals_with_its_face_signings(canteen) -> None:  # noqa: ANN001
    group = canteen.post("/api/v1/customer-groups", {"name": "night shift"})["id"]
    cid = canteen.customer(group_id=group)
    cursor = canteen.client.get("/api/v1/terminal/sync/pull", params={"cursor": 0}, auth=canteen.auth).json()["cursor"]
    response = canteen.client.patch(f"/api/v1/customer-groups/{group}", json={"funding_order": "own_first"},
                                    headers=canteen.staff)
    assert response.status_code == 200
    changes = canteen.client.get("/api/v1/terminal/sync/pull", params={"cursor": cursor}, auth=canteen.auth).json()
    kinds = {(c["kind"], c["key"]): c["data"] for c in changes["changes"]}
    assert kinds[("customer_group", str(group))] == {"funding_order": "own_first"}
    assert kinds[("face_signing", str(cid))]["funding_order"] == "own_first"


def test_pull_cursor_pages_through_everything_once(canteen) -> None:  # noqa: ANN001
    for n in range(5):
        canteen.customer(f"顾客{n}", wallet_fen=100)
    everything = _pull_all(canteen, limit=1000)
    paged, cursor = [], 0
    while True:
        page = canteen.client.get("/api/v1/terminal/sync/pull", params={"cursor": cursor, "limit": 3},
                                  auth=canteen.auth).json()
        paged += page["changes"]
        cursor = page["cursor"]
        if not page["more"]:
            break
    # Pages coalesce to the newest row per (kind, key) each: applied in order, the small pages
    # end with the same newest row of every key as one big page, and no row comes twice.
    assert len({c["id"] for c in paged}) == len(paged)
    assert ({(c["kind"], c["key"]): c["id"] for c in paged}
            == {(c["kind"], c["key"]): c["id"] for c in everything})
    for bad in ({"cursor": -1}, {"limit": 0}, {"limit": 100000}, {"cursor": "x"}):
        assert canteen.client.get("/api/v1/terminal/sync/pull", params=bad, auth=canteen.auth).status_code == 422


def test_pull_is_scoped_to_the_terminals_site(canteen) -> None:  # noqa: ANN001
    other = make_merchant_site(canteen.app, "canteen", name="other canteen")
    other_tid, _ = register_terminal(canteen.client, canteen.app, other["merchant_id"], other["site_id"])
    from backend.services.changes import record_change

    with canteen.app.state.sessions() as session:
        record_change(session, "offline_limits", other["site_id"], {"x": 1}, merchant_id=other["merchant_id"],
                      site_id=other["site_id"])
        session.commit()
    assert not any(c["kind"] == "offline_limits" and c["key"] == str(other["site_id"]) for c in _pull_all(canteen))


def _pull_all(canteen, limit: int = 1000) -> list[dict]:  # noqa: ANN001
    response = canteen.client.get("/api/v1/terminal/sync/pull", params={"cursor": 0, "limit": limit},
                                  auth=canteen.auth)
    assert response.status_code == 200, response.text
    return response.json()["changes"]


junk = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.floats(allow_nan=False, allow_infinity=False),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(junk | st.fixed_dictionaries({"seq": st.integers(-5, 10), "kind": st.sampled_from(
    ["payment", "refund", "event", "x"]), "payment": junk}), min_size=1, max_size=5))
def test_garbage_push_items_are_rejected_one_by_one(sqlite_url: str, items: list) -> None:
    app = make_app(sqlite_url)
    with TestClient(app) as client:
        canteen = _cached_canteen(app, client)
        response = client.post("/api/v1/terminal/sync/push", json={"items": items}, auth=canteen.auth)
        assert response.status_code == 200
        assert [r["status"] for r in response.json()["results"]] == ["rejected"] * len(items)


_CANTEENS: dict[str, object] = {}


def _cached_canteen(app, client):  # noqa: ANN001, ANN202
    """One terminal per database across hypothesis examples (registration is the slow part)."""
    url = app.state.settings.database_url
    if url not in _CANTEENS:
        _CANTEENS[url] = open_canteen(app, client)
    found = _CANTEENS[url]
    found.app, found.client = app, client
    return found


def _balances(changes: list[dict], cid: int) -> list[dict]:
    return [c for c in changes if c["kind"] == "balance" and c["key"] == str(cid)]


def test_balance_changes_go_only_where_the_diner_can_pay_one_row_per_diner_a_page(canteen) -> None:  # noqa: ANN001
    other = make_merchant_site(canteen.app, "canteen", name="other canteen")
    other_tid, other_key = register_terminal(canteen.client, canteen.app, other["merchant_id"], other["site_id"])
    here_only = canteen.post("/api/v1/customers", {"name": "王五"})["id"]
    canteen.post(f"/api/v1/customers/{here_only}/signings/face",
                 {"consent_at": "2026-03-01T08:00:00+08:00", "consent_text_version": "v1",
                  "templates": [template(here_only)], "per_payment_limit_fen": 100_000,
                  "per_day_limit_fen": 1_000_000, "merchant_ids": [canteen.merchant_id]})
    canteen.deposit(here_only, 1000)
    anywhere = canteen.customer("赵六", wallet_fen=1000)
    for _ in range(4):
        assert canteen.pay(here_only, 100)["status"] == "approved"
        assert canteen.pay(anywhere, 100)["status"] == "approved"
    mine = _pull_all(canteen)
    assert [c["data"]["wallet_fen"] for c in _balances(mine, here_only)] == [600]
    assert [c["data"]["wallet_fen"] for c in _balances(mine, anywhere)] == [600]
    theirs = canteen.client.get("/api/v1/terminal/sync/pull", params={"cursor": 0, "limit": 1000},
                                auth=TerminalAuth(other_key, other_tid, clock=canteen.app.state.clock.timestamp)).json()["changes"]
    assert _balances(theirs, here_only) == []
    assert [c["data"]["wallet_fen"] for c in _balances(theirs, anywhere)] == [600]
    # Paging in small pages still ends with the newest balance of each diner.
    last, cursor = {}, 0
    while True:
        page = canteen.client.get("/api/v1/terminal/sync/pull", params={"cursor": cursor, "limit": 2},
                                  auth=canteen.auth).json()
        last.update({c["key"]: c["data"]["wallet_fen"] for c in page["changes"] if c["kind"] == "balance"})
        cursor = page["cursor"]
        if not page["more"]:
            break
    assert last[str(here_only)] == last[str(anywhere)] == 600


def test_one_push_books_many_payments_of_one_diner_and_declines_only_the_one_too_many(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer("钱七", wallet_fen=1000)
    bodies = [payment_body(cid, 300, offline=True, terminal_seq=n) for n in range(1, 5)]
    items = [{"seq": n, "kind": "payment", "payment": body} for n, body in enumerate(bodies, start=1)]
    results = _push(canteen, items + [items[0]])
    assert [r["status"] for r in results] == ["booked", "booked", "booked", "declined", "duplicate"]
    assert canteen.view(cid)["wallet_fen"] == 100 and canteen.ledger_ok() == []
    assert [r["status"] for r in _push(canteen, items)] == ["duplicate"] * 4
