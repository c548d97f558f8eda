"""The backend killed (SIGKILL) after the bank took a card debit and before the payment committed.

A real terminal pays online for a diner whose wallet is short, so the rest goes to the linked bank
card. The bank core (a simulator living in this test process, tests/reliability/bank_core.py)
applies the debit and holds its answer; the terminal's authorisation times out, it declines
offline and queues a compensating refund; the backend is killed. After the restart the refund is
rejected (there is no payment to refund), and the backend's resolution job gives the bank debit
back, once, from the intent committed before the bank was asked. The same payment id sent again
is declined in plain words, not "paid" by the bank's cached answer.

Also: copies of one bank card payment racing, and several bank card payments of one diner at once,
each run through the intent's extra round (roll back, record, run again) without a deadlock on
SQLite's one writer or PostgreSQL's row locks: one debit each, booked once."""
from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from backend.models.bank_intents import BankIntent
from backend.models.payments import Payment
from core.wire import Credential, PaymentRequest, PaymentResult
from tests.reliability.bank_core import HeldBank, backend_command, serve_bank
from tests.backend.helpers import wait_for
from tests.reliability.helpers import drain
from tests.sync.rig import Canteen

CARD = "6222021234567890123"



@pytest.fixture
def bank_site(db_url: str, tmp_path):  # noqa: ANN001, ANN201
    """A bank core in this process, and a canteen whose backend process banks with it."""
    bank = HeldBank()
    stop_bank = serve_bank(bank, tmp_path, grace_s=1.0)
    site = Canteen(tmp_path, db_url=db_url, backend_command=backend_command())
    yield bank, site
    site.close()
    stop_bank()


def _card_diner(bank: HeldBank, site: Canteen, wallet_fen: int) -> int:
    diner = site.diner(wallet_fen=wallet_fen, name="钱小卡")
    bank.open_account(CARD, 10_000)
    site.put(f"/api/v1/customers/{diner}/bank-card", {"card_number": CARD})
    return diner


def _request(diner: int, amount_fen: int, payment_id: str | None = None) -> PaymentRequest:
    return PaymentRequest(payment_id=payment_id or uuid.uuid4(), amount_fen=amount_fen,
                          credential=Credential(kind="face", customer_id=diner),
                          occurred_at=datetime.now(timezone.utc), meal_period="lunch")


def _intents(site: Canteen) -> dict[str, str]:
    with site.app.state.sessions() as session:
        return dict(session.execute(select(BankIntent.ref, BankIntent.status)).all())


def test_a_bank_debit_cut_off_by_a_backend_kill_is_given_back_once(bank_site, tmp_path) -> None:  # noqa: ANN001
    bank, site = bank_site
    diner = _card_diner(bank, site, wallet_fen=300)
    term = site.terminal(tmp_path / "t", timeout_s=1.5)
    try:
        bank.hold_next_debit()
        outcome = term.pay(diner, 1000)                  # online: 300 from the wallet, 700 from the card
        assert bank.held.is_set(), "the bank was never asked"
        site.backend.kill()                              # the bank took 700; the commit never came
        bank.release()
        assert outcome.status == "declined"             # offline, the wallet alone is short
        assert bank.balance(CARD) == 9300
        refunds = term.store.outbox.items(kind="refund")
        assert [r.ref_payment_id for r in refunds] == [outcome.payment_id]   # the terminal's compensation

        site.backend.start()
        drain(term)                                      # the refund: nothing to refund
        assert term.store.outbox.items(kind="refund")[0].reason == "payment_not_found"
        assert wait_for(lambda: bank.balance(CARD) == 10_000), "the bank debit was never given back"
        with site.app.state.sessions() as session:
            intent = session.scalar(select(BankIntent).where(BankIntent.ref == outcome.payment_id))
            assert (intent.status, intent.amount_fen) == ("returned", 700)

        again = term.client.authorise(_request(diner, 1000, outcome.payment_id), 5.0)
        assert (again.status, again.reason) == ("declined", "bank_debit_returned")
        assert again.message_zh == "银行扣款已退回，本笔未收费，请重新支付"
        time.sleep(1.0)                                  # a few more job runs: given back once only
        assert bank.balance(CARD) == 10_000 and site.wallet(diner) == 300
        assert site.ledger_problems() == []
    finally:
        term.close()


def _race(term, requests: list[PaymentRequest]) -> list[PaymentResult | Exception]:  # noqa: ANN001
    barrier = threading.Barrier(len(requests))
    results: list[PaymentResult | Exception] = [RuntimeError("no answer")] * len(requests)

    def one(i: int) -> None:
        barrier.wait()
        try:
            results[i] = term.client.authorise(requests[i], 60.0)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_racing_bank_card_payments_each_take_one_debit_booked_once(bank_site, tmp_path) -> None:  # noqa: ANN001
    bank, site = bank_site
    diner = _card_diner(bank, site, wallet_fen=0)
    term = site.terminal(tmp_path / "t")
    try:
        same = _request(diner, 700)
        copies = _race(term, [same] * 8)                 # one payment id, sent eight times at once
        assert {(r.status, r.booked_at) for r in copies} == {("approved", copies[0].booked_at)}, copies
        several = _race(term, [_request(diner, 100 * n) for n in range(1, 7)])   # six payments at once
        assert [r.status for r in several] == ["approved"] * 6, several
        assert bank.balance(CARD) == 10_000 - 700 - 2100
        assert set(_intents(site).values()) == {"booked"} and len(_intents(site)) == 7
        with site.app.state.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Payment)) == 7
        assert site.ledger_problems() == []
    finally:
        term.close()
