"""Terminal sync: push the offline queue (per-item results, one bad item never fails the batch)
and pull changes since a cursor (scoped to the terminal's merchant and site)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from backend.api.payments import book_payment, book_refund
from backend.api.sync_commit import group_commit
from backend.auth import TerminalPrincipal, current_terminal
from backend.deps import get_session, request_now
from backend.errors import ApiError, api_error
from backend.logging import log
from backend.models.payments import TerminalEvent
from backend.models.terminals import Terminal
from backend.services.changes import changes_page, newest_per_key
from backend.services.face_desk import confirm_digests, with_digits_key
from backend.services.signings import templates_for_terminal
from backend.services.vault import vault_of
from core.wire import (MAX_PULL_LIMIT, MAX_PUSH_ITEMS, MAX_SEQ, Change, PullResponse, PushItem, PushItemResult,
                       PushResponse)

router = APIRouter(prefix="/api/v1/terminal/sync", tags=["sync"])


def _seq_of(raw: Any) -> int:
    seq = raw.get("seq") if isinstance(raw, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq <= MAX_SEQ else 0


# The database or the network failing under an item is not the item's fault: the whole push
# answers 5xx and the terminal sends it again. Anything else an item makes go wrong is that item's.
TRANSIENT = (OperationalError, InterfaceError)


def _rejected(seq: int, reason: str) -> PushItemResult:
    return PushItemResult(seq=seq, status="rejected", reason=reason[:200])


def _push_one(request: Request, session: Session, terminal: TerminalPrincipal, raw: Any) -> PushItemResult:
    """One item's answer. A poisoned item (one that makes the booking fail in a way nobody
    foresaw) is answered rejected, so it never holds back the items queued behind it."""
    try:
        return _book_one(request, session, terminal, raw)
    except (ApiError, *TRANSIENT):
        raise   # a 5xx of ours (the bank is unavailable) or the database's: the terminal retries
    except Exception as exc:  # noqa: BLE001 - see the docstring
        session.rollback()
        seq = _seq_of(raw)
        log.error("push_item_failed", terminal_id=terminal.terminal_id, seq=seq, error=type(exc).__name__)
        return _rejected(seq, f"unprocessable: {type(exc).__name__}")


def _book_one(request: Request, session: Session, terminal: TerminalPrincipal, raw: Any) -> PushItemResult:
    try:
        item = PushItem.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        return _rejected(_seq_of(raw), f"malformed: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
    try:
        if item.kind == "payment":
            if item.payment.terminal_seq not in (None, item.seq):
                return _rejected(item.seq, "malformed: payment.terminal_seq differs from the item's seq")
            # A pushed payment was approved offline: it is judged as of when it happened.
            offline = item.payment if item.payment.offline else item.payment.model_copy(update={"offline": True})
            booked = book_payment(request, session, terminal, offline)
            status = "duplicate" if booked.duplicate else ("booked" if booked.result.status == "approved" else "declined")
            return PushItemResult(seq=item.seq, status=status, reason=booked.result.reason, payment=booked.result)
        if item.kind == "refund":
            done = book_refund(request, session, item.refund, merchant_id=terminal.merchant_id,
                               terminal_id=terminal.terminal_id)
            status = "duplicate" if done.duplicate else ("booked" if done.result.status == "refunded" else "declined")
            return PushItemResult(seq=item.seq, status=status, reason=done.result.reason, refund=done.result)
        return _event(session, terminal, item)
    except ApiError as exc:
        session.rollback()
        if exc.status_code >= 500:
            raise   # e.g. the bank is unavailable: the terminal retries the batch, booked items come back duplicate
        return _rejected(item.seq, exc.code)


def _event(session: Session, terminal: TerminalPrincipal, item: PushItem) -> PushItemResult:
    try:
        session.add(TerminalEvent(terminal_id=terminal.terminal_id, seq=item.seq, data=item.event))
        session.commit()
        return PushItemResult(seq=item.seq, status="booked")
    except IntegrityError:
        session.rollback()
        return PushItemResult(seq=item.seq, status="duplicate")


@router.post("/push", response_model=PushResponse)
def push(request: Request, payload: Any = Body(..., description="core.wire.PushRequest"),
         session: Session = Depends(get_session),
         terminal: TerminalPrincipal = Depends(current_terminal)) -> PushResponse:
    """Book the terminal's offline queue item by item: booked, duplicate, declined (e.g. not
    enough money for a payment the terminal approved offline) or rejected (malformed)."""
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_PUSH_ITEMS or set(payload) != {"items"}:
        raise api_error(422, "invalid_request", f"推送内容须为 {{\"items\": [...]}}，1到{MAX_PUSH_ITEMS}条",
                        f"A push body is {{\"items\": [...]}} with 1 to {MAX_PUSH_ITEMS} items")
    with group_commit(session):
        results = [_push_one(request, session, terminal, raw) for raw in items]
    session.execute(update(Terminal).where(Terminal.id == terminal.terminal_id)
                    .values(last_push_at=request_now(request)))
    session.commit()   # synchronous: every item's commit before it is on disk before the answer goes
    return PushResponse(results=results)


@router.get("/pull", response_model=PullResponse)
def pull(request: Request, cursor: int = Query(0, ge=0, le=2**62), limit: int = Query(500, ge=1, le=MAX_PULL_LIMIT),
         session: Session = Depends(get_session),
         terminal: TerminalPrincipal = Depends(current_terminal)) -> PullResponse:
    """Changes since `cursor` that this terminal's merchant and site should see."""
    now = request_now(request)
    page = changes_page(session, cursor, limit, merchant_id=terminal.merchant_id, site_id=terminal.site_id)
    rows = newest_per_key(page.rows)   # e.g. one balance per diner, not one per payment; the cursor passes all
    faces = [int(row.key) for row in rows if row.kind == "face_signing" and not row.deleted]
    vault = vault_of(request.app.state.settings)
    templates = templates_for_terminal(session, vault, faces)
    digests = confirm_digests(session, vault, faces)
    try:
        session.commit()       # digests made now are kept (two pulls making the same one: either wins)
    except IntegrityError:
        session.rollback()
    changes = []
    for row in rows:
        data = dict(row.data or {})
        if row.kind == "face_signing" and not row.deleted:
            data["templates"] = templates.get(int(row.key), [])
            data["confirm_digits"] = digests.get(int(row.key))
        elif row.kind == "face_confirm" and not row.deleted:
            data = with_digits_key(data, vault)   # the key is never stored in the change feed
        changes.append(Change(id=row.id, kind=row.kind, key=row.key, deleted=row.deleted, data=data))
    # End the read transaction here: otherwise the connection stays checked out until the
    # session dependency's exit, which waits for a free worker thread; under many concurrent
    # pulls every thread then waits for a connection and the pool times out (500s).
    session.commit()
    return PullResponse(cursor=page.cursor, more=page.more, server_time=now, changes=changes)
