"""Commit a booking once: the retry rules every money endpoint shares (payments, refunds, renewals)."""
from __future__ import annotations

import threading
from typing import Callable, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.services.bank_intents import RecordIntentFirst
from backend.services.bank_intents import record as record_intent

T = TypeVar("T")

# SQLite has one writer. Bookings in this process queue on this lock instead of on SQLite's
# busy handler, whose growing sleeps (up to 100 ms a try) would turn a short queue into a long tail.
_SQLITE_WRITER = threading.Lock()
_RUNS = 4     # an intent to record (twice if the amount moved), a race lost, then the run that books


def commit_once(session: Session, attempt: Callable[[], T]) -> T:
    """Run a booking and commit it. If an identical request won a race to the unique payment or
    refund id, roll back and run again: the second run finds the winner and returns its answer.
    If the booking is about to ask the bank for a debit not yet on record, roll back, commit the
    bank intent on its own and run again (backend/services/bank_intents.py): on SQLite the
    booking's transaction is the one writer, so the intent cannot be written beside it."""
    if session.get_bind().dialect.name == "sqlite":
        with _SQLITE_WRITER:
            return _commit_once(session, attempt)
    return _commit_once(session, attempt)


def _commit_once(session: Session, attempt: Callable[[], T]) -> T:
    for runs_left in range(_RUNS - 1, -1, -1):
        try:
            outcome = attempt()
            session.commit()
            return outcome
        except IntegrityError:
            session.rollback()
            if not runs_left:
                raise
        except RecordIntentFirst as first:
            session.rollback()
            if not runs_left:
                raise
            record_intent(session, first)
    raise AssertionError("unreachable")
