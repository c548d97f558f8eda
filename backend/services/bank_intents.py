"""Bank intents: a bank card debit is on record, committed, before the bank is asked.

The debit itself runs inside the payment's transaction (the customer's accounts are locked and the
decision must hold until it is booked). If that transaction then never commits - the process is
killed, the power goes, the commit fails - the bank has the money and the backend had no record.
So, per debit:

1. `arm` (in the payment's transaction) finds no committed intent for the payment id and raises
   RecordIntentFirst. commit_once (backend/api/payments.py) rolls the payment back, `record`s the
   intent as `asked` in a transaction of its own, commits it, and runs the payment again. The
   second run finds the intent, locks its row and asks the bank. (Rolling back first is what lets
   this work on SQLite, whose one writer is the payment's own transaction; on PostgreSQL it also
   keeps a booking to one pooled connection.)
2. The payment's transaction marks the intent booked / declined / pending_bank, and commits the
   mark with the payment: both are there, or neither is.
3. `settle_orphans` (the resolve_bank job) takes intents still `asked` after a grace period: no
   committed payment booked their debit, by step 2. It asks the bank: taken -> `returning`
   (committed), credited back under reverse:<payment id> (the bank applies a reference once), then
   `returned`; not found -> `not_taken`; unknown -> left for the next run.

A later request with the same payment id (a retry, or the terminal's offline push) whose debit
was returned is declined ("bank_debit_returned") rather than debited again: the bank would only
repeat its first answer to the reference, and no money would move.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.corebanking import CoreBanking
from backend.logging import log
from backend.models.bank_intents import BankIntent
from backend.services.vault import Vault

GRACE_S = 60.0          # an intent younger than this may still belong to a payment in flight
RETURNED = ("returning", "returned")
_CARD_CONTEXT = "customers.bank_card"    # the intent keeps the card sealed as the customer row has it
_I = BankIntent.__table__.c
_STATUS_OF = select(_I.status).where(_I.ref == bindparam("ref"))


class RecordIntentFirst(Exception):
    """Raised inside a payment's transaction: its bank debit has no committed intent yet. The
    caller rolls the transaction back, calls `record`, and runs the payment again."""

    def __init__(self, ref: str, customer_id: int, card_sealed: bytes, amount_fen: int, at: datetime,
                 rearm: bool = False):
        super().__init__(f"record the bank intent of {ref} first")
        self.ref, self.customer_id, self.card_sealed, self.amount_fen, self.at = ref, customer_id, card_sealed, amount_fen, at
        self.rearm = rearm      # the bank said it never took this reference: an `asked` row may change

    def commit(self, session: Session) -> None:
        _record_debit(session, self)


def record(session: Session, first: RecordIntentFirst) -> None:
    """Commit the intent as `asked` in a transaction of its own (the caller's was rolled back):
    a debit's here, a refund's card credit in bank_credit_intents (RecordCreditFirst)."""
    first.commit(session)


def _record_debit(session: Session, first: RecordIntentFirst) -> None:
    """An intent the bank never took (`not_taken`) is armed again. An `asked` one is left as it is
    (an earlier try may have been answered under it), unless the bank just said it never took it.
    A racing copy of the same payment that recorded it first is fine (the next run finds it)."""
    try:
        intent = session.scalar(select(BankIntent).where(BankIntent.ref == first.ref).with_for_update()
                                .execution_options(populate_existing=True))
        if intent is None:
            session.add(BankIntent(ref=first.ref, customer_id=first.customer_id, card_sealed=first.card_sealed,
                                   amount_fen=first.amount_fen, status="asked", asked_at=first.at))
        elif intent.status == "not_taken" or (intent.status == "asked" and first.rearm):
            intent.status, intent.amount_fen, intent.card_sealed = "asked", first.amount_fen, first.card_sealed
            intent.asked_at, intent.settled_at = first.at, None
        session.commit()
    except IntegrityError:
        session.rollback()


def returned_debit(session: Session, ref: str) -> str | None:
    """The decline reason for a payment id whose bank debit was (being) given back, else None."""
    row = session.execute(_STATUS_OF, {"ref": ref}).first()
    return "bank_debit_returned" if row is not None and row.status in RETURNED else None


def arm(session: Session, bank: CoreBanking, ref: str, customer, amount_fen: int,  # noqa: ANN001
        now: datetime) -> tuple[BankIntent | None, str | None]:
    """In the payment's transaction, before bank.debit: the committed intent, row-locked (so the
    job cannot return it meanwhile), or a decline reason. Raises RecordIntentFirst if there is none
    to ask under yet."""
    intent = session.scalar(select(BankIntent).where(BankIntent.ref == ref).with_for_update()
                            .execution_options(populate_existing=True))
    first = RecordIntentFirst(ref, customer.id, customer.bank_card_sealed, amount_fen, now)
    if intent is None or intent.status == "not_taken":
        raise first
    if intent.status in RETURNED:
        return None, "bank_debit_returned"
    if intent.status == "asked" and intent.amount_fen != amount_fen:
        # An earlier try asked for another amount (the balances moved since). The bank answers a
        # reference once, so only if it never took that one may this amount be asked under it.
        seen = bank.status(ref)
        if seen.outcome == "not_found":
            first.rearm = True
            raise first
        return None, "bank_debit_returning" if seen.outcome == "ok" else "bank_outcome_unknown"
    return intent, None


def mark(intent: BankIntent, status: str, now: datetime) -> None:
    """The bank's answer, in the payment's transaction (committed with the payment or not at all)."""
    intent.status, intent.settled_at = status, now


def settle_pending(session: Session, ref: str, taken: bool, now: datetime) -> None:
    """A pending_bank payment was resolved and reversed: its intent says how."""
    session.execute(update(BankIntent).where(BankIntent.ref == ref, BankIntent.status == "pending_bank")
                    .values(status="returned" if taken else "not_taken", settled_at=now))


# --- the resolution job --------------------------------------------------------------------------

def settle_orphans(session: Session, bank: CoreBanking, vault: Vault, now: datetime,
                   grace_s: float = GRACE_S) -> dict[str, int]:
    """Settle every intent no committed payment marked within the grace period. Commits after each
    one (a credit back must be on record as under way before it is sent). Returns counts by the
    status each ended in (`intents_asked`: the bank cannot tell yet)."""
    cutoff = now - timedelta(seconds=grace_s)
    ids = session.scalars(select(BankIntent.id).where(BankIntent.status.in_(("asked", "returning")),
                                                      BankIntent.asked_at <= cutoff).order_by(BankIntent.id)).all()
    counts: dict[str, int] = {}
    for intent_id in ids:
        status = _settle_orphan(session, bank, vault, intent_id, now)
        session.commit()
        if status is not None:
            counts[f"intents_{status}"] = counts.get(f"intents_{status}", 0) + 1
    from backend.services import bank_credit_intents    # it builds on this module

    counts.update(bank_credit_intents.settle_orphans(session, bank, vault, now, grace_s))   # refunds' credits
    return counts


def _settle_orphan(session: Session, bank: CoreBanking, vault: Vault, intent_id: int, now: datetime) -> str | None:
    # skip_locked: a payment retrying this very id holds the row; it marks it itself.
    intent = session.scalar(select(BankIntent).where(BankIntent.id == intent_id)
                            .with_for_update(skip_locked=True).execution_options(populate_existing=True))
    if intent is None or intent.status not in ("asked", "returning"):
        return None
    seen = bank.status(intent.ref)
    if seen.outcome == "unknown":
        return intent.status
    if seen.outcome != "ok":
        if intent.status == "returning":      # the bank took it earlier and now says it did not
            log.error("bank_intent_contradiction", ref=intent.ref, outcome=seen.outcome)
            return intent.status
        mark(intent, "not_taken", now)
        return intent.status
    if intent.status == "asked":
        intent.status = "returning"
        session.commit()                      # a retry of this payment id is declined from here on
    ref = f"reverse:{intent.ref}"
    back = bank.credit(ref, vault.open_text(intent.card_sealed, _CARD_CONTEXT), seen.amount_fen)
    if back.outcome == "unknown":
        back = bank.status(ref)
    if back.outcome != "ok":
        log.error("bank_intent_not_returned", ref=intent.ref, outcome=back.outcome)
        return intent.status                  # tried again on the next run; the reference keeps it single
    mark(intent, "returned", now)
    log.info("bank_intent_returned", ref=intent.ref, amount_fen=seen.amount_fen)
    return intent.status
