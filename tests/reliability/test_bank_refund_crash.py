"""The backend killed (SIGKILL) after the bank credited a refund to a linked card and before the
refund committed - the crash window bank intents closed for debits, here for credits.

A diner paid by card; bank staff refund it. The bank core (in this test process,
tests/reliability/bank_core.py) applies the credit and holds its answer; the backend is killed.
The card has the money back, the backend has no refund. After the restart the resolution job
books the refund from the intent committed before the bank was asked: the payment shows it
refunded, the ledger balances, the same refund id answers "refunded" without a second credit, and
a new refund id for the same payment finds nothing left to refund."""
from __future__ import annotations

import threading
import uuid

import httpx
from sqlalchemy import select

from backend.models.bank_intents import BankCreditIntent
from backend.models.payments import Payment, Refund
from tests.backend.helpers import wait_for
from tests.reliability.test_bank_debit_crash import CARD, _card_diner, bank_site  # noqa: F401 - the fixture

__all__ = ["bank_site"]


def _refunded(site, payment_id: str) -> int:  # noqa: ANN001
    with site.app.state.sessions() as session:
        return session.scalar(select(Payment.refunded_fen).where(Payment.payment_uuid == payment_id))


def _credit_status(site, refund_id: str) -> str | None:  # noqa: ANN001
    with site.app.state.sessions() as session:
        return session.scalar(select(BankCreditIntent.status).where(BankCreditIntent.refund_uuid == refund_id))


def test_a_card_refund_cut_off_by_a_backend_kill_is_booked_once(bank_site, tmp_path) -> None:  # noqa: ANN001
    bank, site = bank_site
    diner = _card_diner(bank, site, wallet_fen=0)
    term = site.terminal(tmp_path / "t", timeout_s=5.0)
    try:
        paid = term.pay(diner, 700)                            # online, all from the card
        assert paid.status == "approved" and bank.balance(CARD) == 9300
        refund_id = str(uuid.uuid4())
        body = {"refund_id": refund_id, "amount_fen": 700, "reason": "饭菜有问题，全额退款"}
        url = f"{site.url}/api/v1/payments/{paid.payment_id}/refunds"
        answers: list[object] = []

        def refund_by_staff() -> None:
            try:
                answers.append(httpx.post(url, json=body, headers=site.staff, timeout=30).status_code)
            except httpx.HTTPError as exc:
                answers.append(exc)

        bank.hold_next_credit()
        staff = threading.Thread(target=refund_by_staff)
        staff.start()
        assert bank.held.wait(30), "the bank was never asked"
        site.backend.kill()                                    # the card has 700 back; the commit never came
        bank.release()
        staff.join(30)
        assert len(answers) == 1 and isinstance(answers[0], httpx.HTTPError)   # staff saw no answer
        assert bank.balance(CARD) == 10_000
        assert _refunded(site, paid.payment_id) == 0           # nothing booked yet

        site.backend.start()
        assert wait_for(lambda: _refunded(site, paid.payment_id) == 700), "the credited refund was never booked"
        with site.app.state.sessions() as session:
            intent = session.scalar(select(BankCreditIntent).where(BankCreditIntent.refund_uuid == refund_id))
            assert (intent.status, intent.amount_fen) == ("booked", 700)
            row = session.scalar(select(Refund).where(Refund.refund_uuid == refund_id))
            assert (row.status, row.amount_fen) == ("refunded", 700)

        again = site.http.post(f"/api/v1/payments/{paid.payment_id}/refunds", json=body, headers=site.staff)
        assert again.status_code == 200 and again.json()["status"] == "refunded"      # staff retry: same answer
        other = site.http.post(f"/api/v1/payments/{paid.payment_id}/refunds", headers=site.staff,
                               json={**body, "refund_id": str(uuid.uuid4())})
        assert other.json()["reason"] == "refund_exceeds_payment"                      # a new id: nothing left
        assert bank.balance(CARD) == 10_000 and site.wallet(diner) == 0               # credited once
        assert site.ledger_problems() == []
    finally:
        term.close()


def test_a_refund_whose_credit_the_bank_never_made_is_not_booked_and_can_be_retried(bank_site, tmp_path) -> None:  # noqa: ANN001
    bank, site = bank_site
    diner = _card_diner(bank, site, wallet_fen=0)
    term = site.terminal(tmp_path / "t", timeout_s=5.0)
    try:
        paid = term.pay(diner, 500)
        bank.freeze(CARD)                                      # the bank refuses the credit
        body = {"refund_id": str(uuid.uuid4()), "amount_fen": 500, "reason": "退款"}
        refused = site.http.post(f"/api/v1/payments/{paid.payment_id}/refunds", json=body, headers=site.staff)
        assert refused.status_code == 503 and refused.json()["detail"]["code"] == "bank_unavailable"
        assert wait_for(lambda: _credit_status(site, body["refund_id"]) == "not_taken")   # the job asked the bank
        assert _refunded(site, paid.payment_id) == 0 and bank.balance(CARD) == 9500
    finally:
        term.close()
