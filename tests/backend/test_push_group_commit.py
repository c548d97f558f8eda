"""Group commit of a push on PostgreSQL (backend/api/sync_commit.py): the items' transactions do
not wait for the disk, the push's last commit does, and nothing is answered before it; consecutive
payments share a transaction (backend/api/sync.py, _book_together); a pushed batch books, answers
and re-pushes exactly as before (SQLite and PostgreSQL)."""
from __future__ import annotations

from sqlalchemy import event

from backend.api import sync as sync_api
from backend.api.sync import TOGETHER_ITEMS
from tests.backend.money_helpers import canteen, payment_body  # noqa: F401 - canteen is a fixture
from tests.backend.test_bad_input import POISON_FEN, poison_payments


def _push(canteen, items: list) -> list[dict]:  # noqa: ANN001, F811
    response = canteen.client.post("/api/v1/terminal/sync/push", json={"items": items}, auth=canteen.auth)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def _transactions_of_a_push(canteen, items: list) -> tuple[list[list[str]], list[dict]]:  # noqa: ANN001, F811
    """The push's statements grouped by transaction (BEGIN ... COMMIT), and its answer."""
    engine = canteen.app.state.engine
    log: list[str] = []
    listeners = [("begin", lambda *_: log.append("BEGIN")), ("commit", lambda *_: log.append("COMMIT")),
                 ("before_cursor_execute", lambda *a: log.append(" ".join(a[2].split())))]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        results = _push(canteen, items)
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)
    transactions, current = [], []
    for line in log:
        if line == "BEGIN":
            current = []
        elif line == "COMMIT":
            transactions.append(current)
        else:
            current.append(line)
    return transactions, results


def test_each_item_commits_without_waiting_and_the_answer_waits_for_the_disk(canteen, monkeypatch) -> None:  # noqa: ANN001, F811
    monkeypatch.setattr(sync_api, "TOGETHER_S", 60.0)   # a loaded machine must not split these three
    rich = canteen.customer("张三", wallet_fen=10_000)
    items = [{"seq": i, "kind": "payment", "payment": payment_body(rich, 100, offline=True, terminal_seq=i)}
             for i in range(1, 4)]
    transactions, results = _transactions_of_a_push(canteen, items)
    assert [r["status"] for r in results] == ["booked"] * 3
    bookings = [t for t in transactions if any("INSERT INTO payments " in s for s in t)]
    last = transactions[-1]
    assert any(s.startswith("UPDATE terminals SET last_push_at") for s in last)
    no_wait = "SET LOCAL synchronous_commit = off"
    if canteen.app.state.engine.dialect.name == "postgresql":
        assert all(t[0] == no_wait for t in bookings)
        assert sum("INSERT INTO payments " in s for t in bookings for s in t) == 3
        assert len(bookings) < 3              # payments in a row share a transaction
        assert no_wait not in last            # the commit the answer waits for flushes the WAL
    else:
        assert not any(no_wait in s for t in transactions for s in t)
    # Re-pushed (the answer was lost): every item is a duplicate, the wallet paid once.
    again = _push(canteen, items)
    assert [r["status"] for r in again] == ["duplicate"] * 3
    assert canteen.view(rich)["wallet_fen"] == 9_700


def test_a_failure_inside_a_shared_transaction_books_every_other_item_once(canteen, db_url: str) -> None:  # noqa: ANN001, F811
    """Items past what one transaction takes, one in the middle that the database refuses (its
    shared transaction is rolled back whole and its items booked alone) and one of another kind
    between them: each answer is the one-by-one answer, the wallet pays each booked item once."""
    rich = canteen.customer("李四", wallet_fen=1_000_000)
    poison_payments(db_url)
    count = TOGETHER_ITEMS + 20
    amounts = {seq: POISON_FEN if seq == 30 else 100 + seq for seq in range(1, count + 1)}
    items = [{"seq": seq, "kind": "payment", "payment": payment_body(rich, amount, offline=True, terminal_seq=seq)}
             for seq, amount in amounts.items()]
    items.insert(10, {"seq": count + 1, "kind": "event", "event": {"gate": "opened by hand"}})
    for expected in ("booked", "duplicate"):      # and pushed again, as after a lost answer
        results = _push(canteen, items)
        assert [r["seq"] for r in results] == [item["seq"] for item in items]
        by_seq = {r["seq"]: r for r in results}
        assert by_seq[30]["status"] == "rejected" and by_seq[30]["reason"].startswith("unprocessable")
        assert {by_seq[seq]["status"] for seq in amounts if seq != 30} == {expected}
    paid = sum(amount for seq, amount in amounts.items() if seq != 30)
    assert canteen.view(rich)["wallet_fen"] == 1_000_000 - paid
    assert canteen.ledger_ok() == []


def test_the_nonce_commits_without_waiting_the_payment_waits_and_a_replay_is_refused(canteen) -> None:  # noqa: ANN001, F811
    """backend/auth.py: on PostgreSQL the signed request's nonce transaction does not wait for the
    WAL flush (the payment's own, later commit does, and flushes it too); a replay is refused."""
    rich = canteen.customer("王五", wallet_fen=10_000)
    engine = canteen.app.state.engine
    log: list[str] = []
    listeners = [("before_cursor_execute", lambda *a: log.append(" ".join(a[2].split())))]
    request = canteen.client.build_request("POST", "/api/v1/terminal/payments", json=payment_body(rich, 300))
    signed = next(canteen.auth.auth_flow(request))
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        first = canteen.client.send(signed)
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)
    assert first.status_code == 200 and first.json()["status"] == "approved", first.text
    nonce_at = next(i for i, s in enumerate(log) if s.startswith("INSERT INTO used_nonces"))
    nonce_tx, rest = log[:nonce_at + 1], log[nonce_at + 1:]
    no_wait = any("set_config(" in s for s in nonce_tx)   # (synchronous_commit, off, local)
    assert no_wait == (engine.dialect.name == "postgresql")
    assert not any("set_config(" in s or "synchronous_commit" in s for s in rest)   # the payment's commit waits for the disk
    again = canteen.client.send(signed)
    assert again.status_code == 401 and again.json()["detail"]["code"] == "replay"
    assert canteen.view(rich)["wallet_fen"] == 9_700
