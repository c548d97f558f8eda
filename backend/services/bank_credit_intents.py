"""Bank credit intents: a refund's credit to a bank card is on record, committed, before the bank
is asked - the same outbox as backend/services/bank_intents.py, for money going back to the card.

The credit runs inside the refund's transaction (the payment row is locked, so two refunds cannot
together give back more than was paid). If that transaction never commits - the process is
killed between the bank's answer and the commit - the bank has credited the card and the backend
had no refund: the ledger still owed the diner, the merchant was never debited, and a caller who
saw no answer could refund again under a new id. So, per refund with a card part:

1. `arm` (in the refund's transaction) finds no committed intent for the refund id and raises
   RecordCreditFirst; commit_once rolls the refund back, the intent is committed as `asked` with
   the whole refund request, and the refund runs again, finds it, locks it and asks the bank.
2. The refund's transaction marks it `booked` (or `declined`), committed with the refund.
3. `settle_orphans` (the resolve_bank job) takes intents still `asked` after the grace period.
   The bank credited it -> the refund is booked now, from the stored request (the bank answers
   the same reference once, so asking again moves no money); the bank never saw it ->
   `not_taken` (a retry of the refund id asks again); the bank cannot tell -> the next run.

Meanwhile an `asked` intent holds its amount: another refund of the same payment may not give it
back a second time (`reserved_fen`).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.corebanking import CoreBanking
from backend.errors import ApiError, api_error
from backend.logging import log
from backend.models.bank_intents import BankCreditIntent
from backend.services.bank_intents import RecordIntentFirst
from backend.services.vault import Vault
from core.reasons import message


def ref_of(refund_uuid: str) -> str:
    """The bank's reference for a refund's card credit (as before intents: old refunds match)."""
    return f"refund:{refund_uuid}"


class RecordCreditFirst(RecordIntentFirst):
    """Raised inside a refund's transaction: its card credit has no committed intent yet. commit_once
    rolls back, calls `commit` (through bank_intents.record) and runs the refund again."""

    def __init__(self, row: dict, at: datetime, rearm: bool = False):
        super().__init__(row["ref"], row["customer_id"], row["card_sealed"], row["amount_fen"], at, rearm)
        self.row = row

    def commit(self, session: Session) -> None:
        try:
            intent = session.scalar(select(BankCreditIntent).where(BankCreditIntent.ref == self.ref)
                                    .with_for_update().execution_options(populate_existing=True))
            if intent is None:
                session.add(BankCreditIntent(**self.row, status="asked", asked_at=self.at))
            elif intent.status == "not_taken" or (intent.status == "asked" and self.rearm):
                for name, value in self.row.items():
                    setattr(intent, name, value)
                intent.status, intent.asked_at, intent.settled_at = "asked", self.at, None
            session.commit()
        except IntegrityError:          # a racing copy of the same refund recorded it first
            session.rollback()


def reserved_fen(session: Session, payment_uuid: str, refund_uuid: str) -> int:
    """What other refunds of this payment may already have credited to the card without being
    booked (in flight, or cut off by a crash): not refundable again until they are settled."""
    return session.scalar(select(func.coalesce(func.sum(BankCreditIntent.refund_amount_fen), 0))
                          .where(BankCreditIntent.payment_uuid == payment_uuid, BankCreditIntent.status == "asked",
                                 BankCreditIntent.refund_uuid != refund_uuid)) or 0


def arm(session: Session, bank: CoreBanking, row: dict, now: datetime) -> BankCreditIntent:
    """In the refund's transaction, before bank.credit: the committed intent, row-locked (so the
    job cannot settle it meanwhile). Raises RecordCreditFirst if there is none to ask under yet."""
    intent = session.scalar(select(BankCreditIntent).where(BankCreditIntent.ref == row["ref"]).with_for_update()
                            .execution_options(populate_existing=True))
    first = RecordCreditFirst(row, now)
    if intent is None or intent.status == "not_taken":
        raise first
    if intent.status == "asked" and intent.amount_fen != row["amount_fen"]:
        # An earlier try asked for another amount (the payment's lines moved since). The bank
        # answers a reference once, so only if it never saw that one may this amount be asked.
        if bank.status(row["ref"]).outcome == "not_found":
            first.rearm = True
            raise first
    if intent.status != "asked" or intent.amount_fen != row["amount_fen"]:
        raise api_error(503, "bank_credit_unsettled", *message("bank_credit_unsettled"))
    return intent


def mark(intent: BankCreditIntent, status: str, now: datetime) -> None:
    """The outcome, in the refund's transaction (committed with the refund or not at all)."""
    intent.status, intent.settled_at = status, now


def decline_own(session: Session, refund_uuid: str, now: datetime) -> None:
    """A refund declined after its intent was recorded: the bank was never asked under it."""
    session.execute(update(BankCreditIntent).where(BankCreditIntent.ref == ref_of(refund_uuid),
                                                   BankCreditIntent.status == "asked")
                    .values(status="declined", settled_at=now))


# --- the resolution job --------------------------------------------------------------------------

def settle_orphans(session: Session, bank: CoreBanking, vault: Vault, now: datetime,
                   grace_s: float) -> dict[str, int]:
    """Settle every credit intent no committed refund marked within the grace period; commits
    after each. Returns counts by the status each ended in (`credits_asked`: the bank cannot tell)."""
    cutoff = now - timedelta(seconds=grace_s)
    ids = session.scalars(select(BankCreditIntent.id).where(BankCreditIntent.status == "asked",
                                                            BankCreditIntent.asked_at <= cutoff)
                          .order_by(BankCreditIntent.id)).all()
    counts: dict[str, int] = {}
    for intent_id in ids:
        try:
            status = _settle_orphan(session, bank, vault, intent_id, now)
            session.commit()
        except ApiError as exc:          # the bank went away mid-way: the next run tries again
            session.rollback()
            log.warning("bank_credit_not_settled", intent_id=intent_id, code=exc.detail.get("code"))
            status = "asked"
        if status is not None:
            counts[f"credits_{status}"] = counts.get(f"credits_{status}", 0) + 1
    return counts


def _settle_orphan(session: Session, bank: CoreBanking, vault: Vault, intent_id: int, now: datetime) -> str | None:
    from backend.services.refunds import refund   # refunds imports this module
    from core.wire import RefundRequest

    # skip_locked: a retry of this very refund holds the row; it marks it itself.
    intent = session.scalar(select(BankCreditIntent).where(BankCreditIntent.id == intent_id)
                            .with_for_update(skip_locked=True).execution_options(populate_existing=True))
    if intent is None or intent.status != "asked":
        return None
    seen = bank.status(intent.ref)
    if seen.outcome == "unknown":
        return "asked"
    if seen.outcome != "ok":
        mark(intent, "not_taken", now)
        return "not_taken"
    # The card has the money: book the refund it was for, as its caller asked it.
    req = RefundRequest(refund_id=intent.refund_uuid, payment_id=intent.payment_uuid,
                        amount_fen=intent.refund_amount_fen, reason=intent.reason, occurred_at=intent.asked_at)
    done = refund(session, bank, vault, req, now, merchant_id=None, terminal_id=intent.terminal_id,
                  operator_id=intent.operator_id)
    if done.result.status == "refunded" and done.duplicate:    # booked meanwhile (not through this intent)
        mark(intent, "booked", now)
    if done.result.status == "refunded" and intent.status == "booked":
        log.info("bank_credit_booked_after_crash", ref=intent.ref, amount_fen=intent.amount_fen)
        return "booked"
    mark(intent, "stranded", now)
    log.error("bank_credit_stranded", ref=intent.ref, amount_fen=intent.amount_fen, refund_status=done.result.status)
    return "stranded"
