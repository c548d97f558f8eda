"""The change feed terminals pull (core.wire.Change): record a change, read changes since a cursor.

The cursor is the change row's id. On PostgreSQL ids are handed out when a row is inserted but
become visible when its transaction commits, so a row with a lower id can appear after a higher
one was already pulled. Two measures keep a terminal from skipping it:
  * `record_change` only queues the change; it is inserted right before the session commits
    (a `before_commit` hook), so an id is held by an open transaction for milliseconds, not for
    the length of a long import (a query in the same transaction does not see it yet);
  * a pull stops before the first hole in the id sequence among changes younger than
    GAP_GRACE_S (a hole that old is a rolled-back insert, not one still committing).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, get_args

from sqlalchemy import Select, event, func, insert, or_, select, union_all
from sqlalchemy.orm import Session, SessionTransaction

from backend.models.changes import SyncChange
from core.clock import SystemClock
from core.wire import ChangeKind

GAP_GRACE_S = 5
# The grace is real elapsed time between an insert's commit and a pull, so both sides read the
# machine's clock, never the business clock a test pins (core.clock: the one clock of decisions).
_WALL = SystemClock()
CHANGE_KINDS = frozenset(get_args(ChangeKind))
_PENDING = "gatepay_pending_changes"
_INSERT_CHANGE = insert(SyncChange.__table__)


def record_change(session: Session, kind: str, key: Any, data: dict[str, Any], *,
                  merchant_id: int | None = None, site_id: int | None = None,
                  deleted: bool = False) -> None:
    """Queue a change for terminals; it is written when the session's transaction commits and
    dropped when the transaction (or the savepoint it was recorded in) rolls back.

    `data` must be JSON-ready (use `model.model_dump(mode="json")` for wire models)."""
    if kind not in CHANGE_KINDS:
        raise ValueError(f"unknown change kind {kind!r}; add it to core.wire.ChangeKind first")
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "before_commit", _insert_pending)
        event.listen(session, "after_soft_rollback", _drop_rolled_back)
        event.listen(session, "after_transaction_end", _forget_at_end)
    session.connection()   # the change belongs to the transaction open now (begin one if none)
    pending.append((session.get_nested_transaction(), dict(
        kind=kind, key=str(key), data=data, merchant_id=merchant_id, site_id=site_id, deleted=deleted)))


def _insert_pending(session: Session) -> None:
    pending = session.info.get(_PENDING)
    if not pending or session.in_nested_transaction():   # a savepoint release is not the commit
        return
    now = _WALL.now()
    rows = [dict(change, created_at=now) for _owner, change in pending]
    pending.clear()
    session.flush()   # anything still pending in the unit of work goes first, as before
    # Core, not ORM objects: the rows are never read back in this session, and one payment's
    # unit of work for its one change row cost more CPU than the INSERT (issue 18).
    session.execute(_INSERT_CHANGE, rows)


def _within(owner: SessionTransaction | None, savepoint: SessionTransaction) -> bool:
    while owner is not None:
        if owner is savepoint:
            return True
        owner = owner.parent
    return False


def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending and previous_transaction.nested:
        pending[:] = [(owner, c) for owner, c in pending if not _within(owner, previous_transaction)]


def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and session.info.get(_PENDING):
        session.info[_PENDING].clear()   # rolled back or closed without commit


@dataclass(frozen=True)
class ChangesPage:
    rows: list[SyncChange]
    cursor: int   # where the next pull starts: past these rows and past other merchants' rows
    more: bool    # another page is waiting now


def _safe_bound(session: Session, cursor: int, now: datetime) -> int | None:
    """The highest id every lower change of which has surely committed; None = no limit.

    Ids are handed out in time order, so a hole below a change older than the grace period is
    a rolled-back insert; only a hole above the newest old change may still be committing."""
    cutoff = now - timedelta(seconds=GAP_GRACE_S)
    old_max = session.scalar(select(func.max(SyncChange.id))
                             .where(SyncChange.id > cursor, SyncChange.created_at < cutoff))
    start = max(cursor, old_max or 0)
    recent = session.scalars(select(SyncChange.id).where(SyncChange.id > start)
                             .order_by(SyncChange.id)).all()
    expected = start + 1
    for change_id in recent:
        if change_id != expected:
            return expected - 1
        expected = change_id + 1
    return None


def _page_query(visible: list, limit: int, merchant_id: int, site_id: int) -> Select:
    """The first `limit` changes of the bank (merchant_id NULL) and of this merchant, in id order.

    Two range scans of ix_sync_changes_merchant_id_id (one per half), each stopping after `limit`
    rows, merged; one `merchant_id IS NULL OR merchant_id = m` would walk every other merchant's
    rows after the cursor too (docs/BENCHMARKS.md: the plans)."""
    in_site = or_(SyncChange.site_id.is_(None), SyncChange.site_id == site_id)
    halves = [select(SyncChange.id).where(whose, *visible, in_site).order_by(SyncChange.id).limit(limit).subquery()
              for whose in (SyncChange.merchant_id.is_(None), SyncChange.merchant_id == merchant_id)]
    ids = union_all(*(select(half.c.id) for half in halves)).subquery()
    return select(SyncChange).join(ids, SyncChange.id == ids.c.id).order_by(SyncChange.id).limit(limit)


def changes_page(session: Session, cursor: int, limit: int, *, merchant_id: int, site_id: int,
                 now: datetime | None = None) -> ChangesPage:
    """Changes a terminal of this merchant and site should see, after `cursor`, in id order."""
    now = now or _WALL.now()
    bound = _safe_bound(session, cursor, now)
    visible = [SyncChange.id > cursor]
    if bound is not None:
        visible.append(SyncChange.id <= bound)
    rows = list(session.scalars(_page_query(visible, limit + 1, merchant_id, site_id)).all())
    if len(rows) > limit:
        return ChangesPage(rows[:limit], rows[limit - 1].id if limit else cursor, True)
    # Everything up to the bound has been seen (the rest belongs to other merchants or sites).
    top = session.scalar(select(func.max(SyncChange.id)).where(*visible))
    next_cursor = max(cursor, top or cursor, rows[-1].id if rows else cursor)
    return ChangesPage(rows, next_cursor, False)


def newest_per_key(rows: list[SyncChange]) -> list[SyncChange]:
    """Only the newest row per (kind, key), in id order: what a pull sends of a page. Every
    change is the whole state of its key (an upsert, or a deletion/tombstone), so an older row a
    newer one supersedes changes nothing a terminal ends with; a deletion is dropped only when a
    newer row for its key follows. The page's cursor still moves past the dropped rows."""
    newest = {(row.kind, row.key): row.id for row in rows}
    return [row for row in rows if newest[(row.kind, row.key)] == row.id]


def changes_since(session: Session, cursor: int, limit: int, *, merchant_id: int, site_id: int,
                  now: datetime | None = None) -> list[SyncChange]:
    """The rows of `changes_page` (see there); use `changes_page` to also get the next cursor."""
    return changes_page(session, cursor, limit, merchant_id=merchant_id, site_id=site_id, now=now).rows
