"""Group commit of a push on PostgreSQL (backend/api/sync_commit.py): the items' transactions do
not wait for the disk, the push's last commit does, and nothing is answered before it; a pushed
batch books, answers and re-pushes exactly as before (SQLite and PostgreSQL)."""
from __future__ import annotations

from sqlalchemy import event

from tests.backend.money_helpers import canteen, payment_body  # noqa: F401 - canteen is a fixture


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


def test_each_item_commits_without_waiting_and_the_answer_waits_for_the_disk(canteen) -> None:  # noqa: ANN001, F811
    rich = canteen.customer("张三", wallet_fen=10_000)
    items = [{"seq": i, "kind": "payment", "payment": payment_body(rich, 100, offline=True, terminal_seq=i)}
             for i in range(1, 4)]
    transactions, results = _transactions_of_a_push(canteen, items)
    assert [r["status"] for r in results] == ["booked"] * 3
    bookings = [t for t in transactions if any(s.startswith("INSERT INTO payments ") for s in t)]
    last = transactions[-1]
    assert any(s.startswith("UPDATE terminals SET last_push_at") for s in last)
    no_wait = "SET LOCAL synchronous_commit = off"
    if canteen.app.state.engine.dialect.name == "postgresql":
        assert len(bookings) == 3 and all(t[0] == no_wait for t in bookings)
        assert no_wait not in last            # the commit the answer waits for flushes the WAL
    else:
        assert not any(no_wait in s for t in transactions for s in t)
    # Re-pushed (the answer was lost): every item is a duplicate, the wallet paid once.
    again = _push(canteen, items)
    assert [r["status"] for r in again] == ["duplicate"] * 3
    assert canteen.view(rich)["wallet_fen"] == 9_700
