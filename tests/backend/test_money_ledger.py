"""The ledger's invariants: a property test over random sequences of grants, top-ups, payments,
refunds and expiries (through the real API), and check-ledger catching a tampered database."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from tests.backend.helpers import make_app
from tests.backend.money_helpers import open_canteen
from tests.conftest import new_sqlite_db

START = datetime(2026, 3, 30, 11, 30, tzinfo=ZoneInfo("Asia/Shanghai"))

ops = st.lists(st.one_of(
    st.tuples(st.just("grant"), st.integers(0, 1), st.integers(0, 1), st.integers(1, 3000)),
    st.tuples(st.just("deposit"), st.integers(0, 1), st.integers(1, 3000)),
    st.tuples(st.just("pay"), st.integers(0, 1), st.integers(1, 4000)),
    st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 4000)),
    st.tuples(st.just("later"), st.integers(1, 30)),      # hours pass, then the expiry job runs
), min_size=1, max_size=14)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=ops)
def test_any_sequence_keeps_the_ledger_balanced_and_no_customer_below_zero(sqlite_template, tmp_path, steps) -> None:  # noqa: ANN001
    app = make_app(new_sqlite_db(sqlite_template, tmp_path))
    with TestClient(app) as client:
        canteen = open_canteen(app, client)
        now = START
        canteen.at(now)
        customers = [canteen.customer("张三", seed=1), canteen.customer("李四", seed=2, funding_order="own_first")]
        programs = [canteen.program(kind="daily", per_day_cap_fen=1500), canteen.program(expiry_policy="month_end")]
        approved: list[tuple[str, int]] = []
        refunded: dict[str, int] = {}
        for step in steps:
            if step[0] == "grant":
                canteen.grant(programs[step[2]], [(customers[step[1]], step[3])])
            elif step[0] == "deposit":
                canteen.deposit(customers[step[1]], step[2])
            elif step[0] == "pay":
                result = canteen.pay(customers[step[1]], step[2])
                if result["status"] == "approved":
                    assert sum(s["amount_fen"] for s in result["split"]) == step[2]
                    approved.append((result["payment_id"], step[2]))
            elif step[0] == "refund" and approved:
                payment_id, amount = approved[step[1] % len(approved)]
                result = canteen.refund(payment_id, step[2])
                left = amount - refunded.get(payment_id, 0)
                assert (result["status"] == "refunded") == (step[2] <= left)
                if result["status"] == "refunded":
                    refunded[payment_id] = refunded.get(payment_id, 0) + step[2]
            elif step[0] == "later":
                now += timedelta(hours=step[1])
                canteen.at(now)
                canteen.post("/api/v1/subsidies/expire", {}, expect=200)
            for cid in customers:
                view = canteen.view(cid)
                assert view["wallet_fen"] >= 0 and all(s["balance_fen"] >= 0 for s in view["subsidies"])
        assert canteen.ledger_ok() == []
    app.state.engine.dispose()


def test_check_ledger_command_names_what_was_tampered_with(sqlite_url: str, tmp_path) -> None:  # noqa: ANN001
    app = make_app(sqlite_url)
    with TestClient(app) as client:
        canteen = open_canteen(app, client)
        cid = canteen.customer(wallet_fen=1000)
        canteen.pay(cid, 400)
    app.state.engine.dispose()
    env = {"GATEPAY_DATABASE_URL": sqlite_url, "GATEPAY_KEY_FILE": str(tmp_path / "k.json"), "PATH": "/usr/bin:/bin"}

    def check() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "terminal.cli", "backend", "check-ledger"], env=env,
                              capture_output=True, text=True)

    clean = check()
    assert clean.returncode == 0 and "balanced" in clean.stdout
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        # someone edits the cached balance, and one entry of the payment posting
        conn.execute(text("UPDATE ledger_accounts SET balance_fen = balance_fen + 5 WHERE code = :c"),
                     {"c": f"wallet:{cid}"})
        conn.execute(text("UPDATE ledger_entries SET amount_fen = 399 WHERE id = "
                          "(SELECT max(id) FROM ledger_entries WHERE side = 'C')"))
    engine.dispose()
    dirty = check()
    assert dirty.returncode == 1
    assert f"account wallet:{cid} shows 605 fen but its entries sum to 600 fen" in dirty.stderr
    assert "is unbalanced: debits 400 fen, credits 399 fen" in dirty.stderr
