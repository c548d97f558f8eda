"""The backend's periodic jobs (backend/jobs.py) run while it serves: a payment whose bank outcome
was unknown is settled without anyone calling resolve-bank, and a failing job does not stop the
others."""
from __future__ import annotations

import threading
import uuid

from fastapi.testclient import TestClient

from backend.corebanking import CoreBankingSimulator
from backend.jobs import Job, JobRunner
from tests.backend.helpers import make_app, wait_for
from tests.backend.money_helpers import open_canteen

CARD = "6222021234567890123"



def test_an_unknown_bank_outcome_is_settled_by_the_running_backend(db_url: str) -> None:
    app = make_app(db_url, run_jobs=True, resolve_bank_every_s=0.2)
    bank = app.state.corebanking = CoreBankingSimulator()
    with TestClient(app) as client:                    # serving: the lifespan starts the jobs
        canteen = open_canteen(app, client)
        cid = canteen.card_holder(CARD, wallet_fen=300, bank_fen=10_000)
        bank.fail_next("applied", status_unknown=3)     # taken, but the core cannot say so for a while
        paid = canteen.pay(cid, 1000, str(uuid.uuid4()))
        assert paid["reason"] == "bank_outcome_unknown"
        assert wait_for(lambda: bank.balance(CARD) == 10_000), "the job never gave the bank debit back"
        assert wait_for(lambda: canteen.view(cid)["wallet_fen"] == 300)
        assert canteen.ledger_ok() == []
    app.state.engine.dispose()


def test_a_failing_job_is_logged_and_the_others_keep_running(sqlite_url: str) -> None:
    app = make_app(sqlite_url)
    runs = {"broken": 0, "healthy": 0}
    two_healthy_runs = threading.Event()

    def broken(_session, _now):  # noqa: ANN001, ANN202
        runs["broken"] += 1
        raise RuntimeError("the bank core is down")

    def healthy(_session, _now):  # noqa: ANN001, ANN202
        runs["healthy"] += 1
        if runs["healthy"] >= 2:
            two_healthy_runs.set()
        return {"done": 1}

    runner = JobRunner(app.state.sessions, [Job("broken", 0.05, broken), Job("healthy", 0.05, healthy),
                                            Job("off", 0, healthy)])
    runner.start()
    try:
        assert two_healthy_runs.wait(10)
    finally:
        runner.stop()
    assert runs["broken"] >= 2                          # tried again after failing
    assert [j.name for j in runner.jobs] == ["broken", "healthy"]   # every_s 0 = off
    app.state.engine.dispose()
