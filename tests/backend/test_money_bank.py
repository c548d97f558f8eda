"""The linked bank card through CoreBanking: real-time debit, insufficient funds, frozen card,
and a timeout whose unknown outcome is resolved by a status query — never charged twice."""
from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from backend.corebanking import CoreBankingSimulator
from tests.backend.helpers import make_app
from tests.backend.money_helpers import open_canteen

CARD = "6222021234567890123"


@pytest.fixture
def canteen(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    app.state.corebanking = CoreBankingSimulator()
    with TestClient(app) as client:
        yield open_canteen(app, client)


@pytest.fixture
def diner(canteen) -> int:  # noqa: ANN001
    cid = canteen.card_holder(CARD, wallet_fen=300, bank_fen=10_000)
    assert canteen.view(cid)["bank_card"] == "6222***********0123"
    return cid


def test_wallet_first_then_the_bank_card(canteen, diner: int) -> None:  # noqa: ANN001
    result = canteen.pay(diner, 1000)
    assert result["split"] == [{"source": "wallet", "program_id": None, "amount_fen": 300},
                               {"source": "bank_card", "program_id": None, "amount_fen": 700}]
    assert canteen.app.state.corebanking.balance(CARD) == 9300
    refund = canteen.refund(result["payment_id"], 1000)
    assert [(s["source"], s["amount_fen"]) for s in refund["split"]] == [("bank_card", 700), ("wallet", 300)]
    assert canteen.app.state.corebanking.balance(CARD) == 10_000
    assert canteen.ledger_ok() == []


def test_bank_insufficient_funds_and_frozen_card_decline_and_book_nothing(canteen, diner: int) -> None:  # noqa: ANN001
    assert canteen.pay(diner, 20_000)["reason"] == "bank_insufficient_funds"
    canteen.app.state.corebanking.freeze(CARD)
    result = canteen.pay(diner, 1000)
    assert result["reason"] == "bank_card_frozen" and "冻结" in result["message_zh"]
    assert canteen.view(diner)["wallet_fen"] == 300
    assert canteen.app.state.corebanking.balance(CARD) == 10_000


def test_timeout_then_status_query_that_knows_settles_at_once(canteen, diner: int) -> None:  # noqa: ANN001
    bank = canteen.app.state.corebanking
    bank.fail_next("applied")                 # the answer is lost, but the status query knows
    paid = canteen.pay(diner, 1000)
    assert paid["status"] == "approved" and bank.balance(CARD) == 9300
    bank.fail_next("lost")                    # never arrived: the status query says so
    declined = canteen.pay(diner, 500)
    assert declined["reason"] == "bank_declined" and bank.balance(CARD) == 9300
    assert canteen.view(diner)["wallet_fen"] == 0
    assert canteen.ledger_ok() == []


def test_unknown_outcome_is_declined_and_the_bank_debit_is_given_back_once(canteen, diner: int) -> None:  # noqa: ANN001
    bank = canteen.app.state.corebanking
    bank.fail_next("applied", status_unknown=1)     # the answer is lost and the core is still catching up
    pid = str(uuid.uuid4())
    first = canteen.pay(diner, 1000, pid)
    assert (first["status"], first["reason"]) == ("declined", "bank_outcome_unknown")
    assert "未收费" in first["message_zh"] and "not charged" in first["message_en"]
    assert bank.balance(CARD) == 9300            # the bank did take it ...
    assert canteen.view(diner)["wallet_fen"] == 0   # ... and the wallet part is held meanwhile
    again = canteen.pay(diner, 1000, pid)        # the terminal repeats the same payment
    assert again == first                        # the same answer as given
    assert bank.balance(CARD) == 10_000          # ... and now true: the card is credited back
    assert canteen.view(diner)["wallet_fen"] == 300
    assert canteen.pay(diner, 1000, pid) == first and bank.balance(CARD) == 10_000   # never twice
    assert canteen.ledger_ok() == []


def test_unknown_outcome_when_the_bank_never_got_it(canteen, diner: int) -> None:  # noqa: ANN001
    bank = canteen.app.state.corebanking
    bank.fail_next("lost", status_unknown=1)
    pid = str(uuid.uuid4())
    assert canteen.pay(diner, 1000, pid)["reason"] == "bank_outcome_unknown"
    assert canteen.pay(diner, 1000, pid)["reason"] == "bank_outcome_unknown"
    assert canteen.view(diner)["wallet_fen"] == 300 and bank.balance(CARD) == 10_000
    assert canteen.ledger_ok() == []


def test_pending_payments_are_resolved_by_the_job(canteen, diner: int) -> None:  # noqa: ANN001
    bank = canteen.app.state.corebanking
    bank.fail_next("applied", status_unknown=2)
    canteen.pay(diner, 1000)
    assert canteen.post("/api/v1/payments/resolve-bank", {}, expect=200) == {"resolved": {"pending_bank": 1}}
    assert canteen.post("/api/v1/payments/resolve-bank", {}, expect=200) == {"resolved": {"declined": 1}}
    assert canteen.post("/api/v1/payments/resolve-bank", {}, expect=200) == {"resolved": {}}
    assert bank.balance(CARD) == 10_000 and canteen.view(diner)["wallet_fen"] == 300
    assert canteen.ledger_ok() == []
