"""Group commit for a push: the items of one batch are committed one by one (each is its own
booking, as online), but on PostgreSQL without waiting for each commit's WAL flush
(synchronous_commit off, per transaction). The push then ends with one ordinary, synchronous
commit (the terminal's last_push_at), and PostgreSQL flushes the WAL in order: when it returns,
every item committed before it is on disk too. So the answer the terminal acts on (it marks its
queued items done) is only sent for bookings that are durable; a crash before that answer loses
at most bookings nobody was told of, and the terminal pushes them again (the payment id makes
the second booking a duplicate, never a double). SQLite: nothing changes (one file, one writer).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, text
from sqlalchemy.orm import Session, SessionTransaction


def _no_flush_wait(session: Session, _transaction: SessionTransaction, connection) -> None:  # noqa: ANN001
    connection.execute(text("SET LOCAL synchronous_commit = off"))


@contextmanager
def group_commit(session: Session) -> Iterator[None]:
    """Transactions begun inside this block commit without waiting for the disk; the caller's
    next commit after the block must be an ordinary one that writes (it flushes them all)."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    if session.in_transaction():
        _no_flush_wait(session, None, session.connection())   # the transaction already open
    event.listen(session, "after_begin", _no_flush_wait)
    try:
        yield
    finally:
        event.remove(session, "after_begin", _no_flush_wait)
        if session.in_transaction():   # one an item left open: its commit must be the flushing one
            session.connection().execute(text("SET LOCAL synchronous_commit = on"))
