"""Duplicate and out-of-order pushes at the sync API (what a retrying, restarted or cloned
terminal can send; the terminal's own retries are covered in tests/sync/test_faults.py):

- the same items again, in one batch or in reverse order: 'duplicate', booked once;
- a refund that arrives before its payment: 'rejected: payment_not_found', nothing booked; sent
  again after the payment it is booked — once;
- a payment id reused with another body (amount): 'rejected: payment_id_reused', the first
  booking stands. The wallet and the ledger check prove nothing was doubled."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import httpx
import pytest

from terminal.enrol import device_auth

PUSH = "/api/v1/terminal/sync/push"


def payment_item(seq: int, customer: int, amount: int, payment_id: str | None = None) -> dict:
    return {"seq": seq, "kind": "payment", "payment": {
        "payment_id": payment_id or str(uuid.uuid4()), "amount_fen": amount,
        "credential": {"kind": "face", "customer_id": customer},
        "occurred_at": datetime.now(timezone.utc).isoformat(), "meal_period": "lunch", "offline": True,
        "terminal_seq": seq}}


def refund_item(seq: int, payment_id: str, amount: int, refund_id: str) -> dict:
    return {"seq": seq, "kind": "refund", "refund": {
        "refund_id": refund_id, "payment_id": payment_id, "amount_fen": amount, "reason": "wrong dish",
        "occurred_at": datetime.now(timezone.utc).isoformat()}}


def statuses(http: httpx.Client, auth, items: list[dict]) -> list[tuple[str, str | None]]:  # noqa: ANN001
    r = http.post(PUSH, json={"items": items}, auth=auth)
    assert r.status_code == 200, r.text
    return [(x["status"], x["reason"]) for x in r.json()["results"]]


@pytest.fixture
def pusher(site, tmp_path):  # noqa: ANN001, ANN201
    """A registered terminal and push(items) -> [(status, reason)] signed with its key."""
    term = site.terminal(tmp_path / "t")
    auth = device_auth(term.store)
    with httpx.Client(base_url=site.url, timeout=30) as http:
        yield term, lambda items: statuses(http, auth, items)
    term.close()


def test_duplicates_and_reordering_book_each_item_once(site, pusher):
    term, push = pusher
    cid = site.diner(wallet_fen=100_000)
    items = [payment_item(seq, cid, 100 * seq) for seq in range(1, 21)]
    assert {s for s, _ in push(list(reversed(items)))} == {"booked"}
    assert {s for s, _ in push(items + items[:5])} == {"duplicate"}
    assert len(site.payments(term.store.identity().terminal_id)) == 20
    assert site.wallet(cid) == 100_000 - sum(100 * s for s in range(1, 21))
    assert site.ledger_problems() == []


def test_a_refund_before_its_payment_waits_and_is_booked_once_after_it(site, pusher):
    _, push = pusher
    cid = site.diner(wallet_fen=10_000)
    pay = payment_item(1, cid, 800)
    refund = refund_item(2, pay["payment"]["payment_id"], 300, str(uuid.uuid4()))
    assert push([refund]) == [("rejected", "payment_not_found")]
    assert site.wallet(cid) == 10_000
    assert push([pay]) == [("booked", None)]
    assert push([refund]) == [("booked", None)]
    assert push([pay, refund, refund]) == [("duplicate", None)] * 3
    assert site.wallet(cid) == 10_000 - 800 + 300
    assert site.ledger_problems() == []


def test_a_payment_id_reused_for_another_amount_is_refused(site, pusher):
    _, push = pusher
    cid = site.diner(wallet_fen=10_000)
    first = payment_item(1, cid, 500)
    changed = payment_item(2, cid, 9_000, payment_id=first["payment"]["payment_id"])
    assert push([first]) == [("booked", None)]
    assert push([changed]) == [("rejected", "payment_id_reused")]
    assert site.wallet(cid) == 10_000 - 500
    assert site.ledger_problems() == []
