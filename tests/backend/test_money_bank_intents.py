"""A bank card debit whose payment transaction never commits (the process dies or the commit fails
between the bank's answer and the commit): the debit's intent was committed before the bank was
asked, so the resolution job gives the money back once, and a later request under the same
payment id is declined in plain words instead of "paid" by the bank's cached answer.

The bank is the real simulator; the crash is a fault installed on the app's sessions that fails
the commit of the payment's transaction, the one that marks the intent with the bank's answer
(the intent's own commit, before the bank is asked, goes through)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from core.clock import SystemClock
from backend.corebanking import CoreBankingSimulator
from backend.models.bank_intents import BankIntent
from tests.backend.helpers import make_app, wait_for
from tests.backend.money_helpers import Canteen, open_canteen, payment_body

CARD = "6222021234567890123"
START = datetime(2026, 11, 27, 4, 0, tzinfo=timezone.utc)     # 12:00 in Shanghai: lunch


class PowerCut(RuntimeError):
    pass


class CommitFault:
    """Fails the commit of the next transaction that marks a bank intent with the bank's answer
    (the payment's), as a process killed between the bank's answer and the commit would."""

    def __init__(self, canteen: Canteen):
        self.sessions, self.armed = canteen.app.state.sessions, True
        event.listen(self.sessions, "after_flush", self._after_flush)
        event.listen(self.sessions, "before_commit", self._before_commit)

    def remove(self) -> None:
        event.remove(self.sessions, "after_flush", self._after_flush)
        event.remove(self.sessions, "before_commit", self._before_commit)

    def _after_flush(self, session, _context) -> None:  # noqa: ANN001
        if any(isinstance(obj, BankIntent) and obj.status != "asked" for obj in session.dirty):
            session.info["intent_marked"] = True

    def _before_commit(self, session) -> None:  # noqa: ANN001
        if self.armed and session.info.pop("intent_marked", False):
            self.armed = False
            raise PowerCut("the backend died between the bank's answer and the commit")


def _canteen(app) -> Canteen:  # noqa: ANN001
    client = TestClient(app, raise_server_exceptions=False)    # a crash is a 500 to the terminal
    client.__enter__()
    canteen = open_canteen(app, client)
    canteen.at(START)
    return canteen


def _diner(canteen: Canteen) -> int:
    return canteen.card_holder(CARD, wallet_fen=300, bank_fen=10_000)


@pytest.fixture
def canteen(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    app.state.corebanking = CoreBankingSimulator()
    canteen = _canteen(app)
    yield canteen
    canteen.client.__exit__(None, None, None)
    app.state.engine.dispose()


def _intent(canteen: Canteen, pid: str) -> BankIntent | None:
    with canteen.app.state.sessions() as session:
        return session.scalar(select(BankIntent).where(BankIntent.ref == pid))


def _crashed_payment(canteen: Canteen, diner: int, amount_fen: int) -> str:
    """A payment whose bank debit went through and whose commit did not."""
    fault = CommitFault(canteen)
    pid = str(uuid.uuid4())
    response = canteen.pay_raw(diner, amount_fen, pid)
    fault.remove()
    assert response.status_code == 500 and not fault.armed
    return pid


def _resolve(canteen: Canteen) -> dict:
    return canteen.post("/api/v1/payments/resolve-bank", {}, expect=200)["resolved"]


def _push(canteen: Canteen, item: dict) -> dict:
    response = canteen.client.post("/api/v1/terminal/sync/push", json={"items": [item]}, auth=canteen.auth)
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def test_a_debit_whose_payment_never_committed_is_given_back_once_and_its_retry_declined(canteen) -> None:  # noqa: ANN001
    diner = _diner(canteen)
    bank = canteen.app.state.corebanking
    pid = _crashed_payment(canteen, diner, 1000)
    assert bank.balance(CARD) == 9300                     # the bank took its 700 ...
    assert canteen.client.get(f"/api/v1/payments/{pid}", headers=canteen.staff).status_code == 404   # ... we did not
    assert _intent(canteen, pid).status == "asked"        # but it is on record
    # The terminal declined offline and sent its compensating refund: there is no payment to refund.
    refund = {"refund_id": str(uuid.uuid4()), "payment_id": pid, "amount_fen": 1000,
              "reason": "terminal declined after an unanswered request", "occurred_at": START.isoformat()}
    assert _push(canteen, {"seq": 1, "kind": "refund", "refund": refund})["reason"] == "payment_not_found"

    assert _resolve(canteen) == {}                        # young: its payment may still be in flight
    assert bank.balance(CARD) == 9300
    canteen.at(START + timedelta(seconds=61))
    assert _resolve(canteen) == {"intents_returned": 1}
    assert bank.balance(CARD) == 10_000 and _intent(canteen, pid).status == "returned"
    assert _resolve(canteen) == {} and bank.balance(CARD) == 10_000   # once

    again = canteen.pay(diner, 1000, pid)                 # the terminal retries the same payment id
    assert (again["status"], again["reason"]) == ("declined", "bank_debit_returned")
    assert again["message_zh"] == "银行扣款已退回，本笔未收费，请重新支付"
    assert again["message_en"] == "The bank debit was returned; you were not charged, please pay again"
    assert canteen.pay(diner, 1000, pid) == again         # the same answer, every time
    assert bank.balance(CARD) == 10_000 and canteen.view(diner)["wallet_fen"] == 300
    paid = canteen.pay(diner, 1000)                       # a new payment is charged as usual
    assert paid["status"] == "approved" and bank.balance(CARD) == 9300
    assert canteen.view(diner)["wallet_fen"] == 0
    assert canteen.ledger_ok() == []


def test_the_offline_push_of_a_returned_debit_is_declined_and_books_nothing(canteen) -> None:  # noqa: ANN001
    diner = _diner(canteen)
    bank = canteen.app.state.corebanking
    pid = _crashed_payment(canteen, diner, 1000)
    canteen.at(START + timedelta(seconds=61))
    assert _resolve(canteen) == {"intents_returned": 1}
    body = payment_body(diner, 1000, pid, occurred_at=START, offline=True, terminal_seq=7)
    pushed = _push(canteen, {"seq": 7, "kind": "payment", "payment": body})
    assert (pushed["status"], pushed["reason"]) == ("declined", "bank_debit_returned")
    assert "未收费" in pushed["payment"]["message_zh"]
    assert bank.balance(CARD) == 10_000 and canteen.view(diner)["wallet_fen"] == 300
    assert canteen.ledger_ok() == []


def test_a_retry_before_the_job_heals_the_payment_with_the_one_debit(canteen) -> None:  # noqa: ANN001
    diner = _diner(canteen)
    bank = canteen.app.state.corebanking
    pid = _crashed_payment(canteen, diner, 1000)
    paid = canteen.pay(diner, 1000, pid)                  # the terminal's retry, seconds later
    assert paid["status"] == "approved" and bank.balance(CARD) == 9300   # the bank's one debit, booked
    assert _intent(canteen, pid).status == "booked"
    canteen.at(START + timedelta(seconds=3600))
    assert _resolve(canteen) == {} and bank.balance(CARD) == 9300        # nothing to give back
    canteen.refund(pid, 1000)
    assert bank.balance(CARD) == 10_000 and canteen.view(diner)["wallet_fen"] == 300
    assert canteen.ledger_ok() == []


def test_a_debit_the_bank_never_took_is_marked_and_a_retry_pays_normally(canteen) -> None:  # noqa: ANN001
    diner = _diner(canteen)
    bank = canteen.app.state.corebanking
    bank.fail_next("lost")                     # the debit never arrives (the status query says so)
    fault = CommitFault(canteen)               # and the payment's commit fails all the same
    pid = str(uuid.uuid4())
    assert canteen.pay_raw(diner, 1000, pid).status_code == 500
    fault.remove()
    assert bank.balance(CARD) == 10_000 and _intent(canteen, pid).status == "asked"
    canteen.at(START + timedelta(seconds=61))
    assert _resolve(canteen) == {"intents_not_taken": 1}
    paid = canteen.pay(diner, 1000, pid)       # asked again under the same reference: a real debit
    assert paid["status"] == "approved" and bank.balance(CARD) == 9300
    assert _intent(canteen, pid).status == "booked"
    assert canteen.ledger_ok() == []


def test_a_retry_asking_another_amount_is_declined_until_the_first_debit_is_back(canteen) -> None:  # noqa: ANN001
    diner = _diner(canteen)
    bank = canteen.app.state.corebanking
    pid = _crashed_payment(canteen, diner, 1000)         # the bank took 700 under this reference
    canteen.deposit(diner, 200)                          # the wallet now covers 500 of it
    again = canteen.pay(diner, 1000, pid)                # a retry would ask the bank for 500 only
    assert (again["status"], again["reason"]) == ("declined", "bank_debit_returning")
    assert "未收费" in again["message_zh"] and "not charged" in again["message_en"]
    assert canteen.view(diner)["wallet_fen"] == 500 and bank.balance(CARD) == 9300
    canteen.at(START + timedelta(seconds=61))
    assert _resolve(canteen) == {"intents_returned": 1}
    assert bank.balance(CARD) == 10_000
    assert canteen.ledger_ok() == []


def test_a_bank_answer_for_another_amount_is_never_booked(canteen) -> None:  # noqa: ANN001
    diner = _diner(canteen)
    bank = canteen.app.state.corebanking
    pid = _crashed_payment(canteen, diner, 1000)         # the bank took 700 under this reference
    with canteen.app.state.sessions() as session:        # a racing copy's record said 500 (double fault)
        session.scalar(select(BankIntent).where(BankIntent.ref == pid)).amount_fen = 500
        session.commit()
    canteen.deposit(diner, 200)                          # so the retry asks for 500: the bank repeats 700
    again = canteen.pay(diner, 1000, pid)
    assert (again["status"], again["reason"]) == ("declined", "bank_debit_returning")
    assert canteen.view(diner)["wallet_fen"] == 500 and _intent(canteen, pid).status == "asked"
    canteen.at(START + timedelta(seconds=61))
    assert _resolve(canteen) == {"intents_returned": 1}
    assert bank.balance(CARD) == 10_000                  # the 700 the bank took, not the 500 on record
    assert canteen.ledger_ok() == []


def test_an_unknown_outcome_stays_a_pending_payment_and_its_intent_follows_it(canteen) -> None:  # noqa: ANN001
    diner = _diner(canteen)
    bank = canteen.app.state.corebanking
    bank.fail_next("applied", status_unknown=1)
    pid = str(uuid.uuid4())
    assert canteen.pay(diner, 1000, pid)["reason"] == "bank_outcome_unknown"
    assert _intent(canteen, pid).status == "pending_bank"
    canteen.at(START + timedelta(seconds=61))
    assert _resolve(canteen) == {"declined": 1}          # resolved as a pending payment, not twice
    assert _intent(canteen, pid).status == "returned" and bank.balance(CARD) == 10_000
    assert _resolve(canteen) == {} and bank.balance(CARD) == 10_000
    assert canteen.ledger_ok() == []


def test_the_running_backend_gives_an_orphaned_debit_back_by_itself(db_url: str) -> None:
    app = make_app(db_url, run_jobs=True, resolve_bank_every_s=0.2, bank_intent_grace_s=0.5)
    bank = app.state.corebanking = CoreBankingSimulator()
    canteen = _canteen(app)                                # serving: the lifespan starts the jobs
    try:
        canteen.app.state.clock = SystemClock()            # the job runs on real time
        diner = _diner(canteen)
        pid = _crashed_payment(canteen, diner, 1000)
        assert bank.balance(CARD) == 9300
        assert wait_for(lambda: bank.balance(CARD) == 10_000, 15), "the job never gave the orphaned debit back"
        assert _intent(canteen, pid).status == "returned"
        assert canteen.ledger_ok() == []
    finally:
        canteen.client.__exit__(None, None, None)
        app.state.engine.dispose()
