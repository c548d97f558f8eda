"""Terminal sync: push the offline queue (per-item results, one bad item never fails the batch)
and pull changes since a cursor (scoped to the terminal's merchant and site)."""
from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from backend.api.payments import book_payment, book_refund, json_response, own_funds_booking
from backend.api.sync_commit import group_commit
from backend.auth import TerminalPrincipal, current_terminal
from backend.deps import get_session, request_now
from backend.errors import ApiError, api_error
from backend.logging import log
from backend.models.payments import TerminalEvent
from backend.models.terminals import Terminal
from backend.services.changes import changes_page, newest_per_key
from backend.services.channel_booking import wallet_code_kind
from backend.services.face_desk import confirm_digests, with_digits_key
from backend.services.payments import Booked
from backend.services.signings import templates_for_terminal
from backend.services.vault import vault_of
from core.wire import (MAX_PULL_LIMIT, MAX_PUSH_ITEMS, MAX_SEQ, Change, PaymentRequest, PullResponse, PushItem,
                       PushItemResult, PushResponse)

router = APIRouter(prefix="/api/v1/terminal/sync", tags=["sync"])


def _seq_of(raw: Any) -> int:
    seq = raw.get("seq") if isinstance(raw, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq <= MAX_SEQ else 0


# The database or the network failing under an item is not the item's fault: the whole push
# answers 5xx and the terminal sends it again. Anything else an item makes go wrong is that item's.
TRANSIENT = (OperationalError, InterfaceError)
# Payments booked in one transaction of a push (PostgreSQL): at most this many, or this long.
TOGETHER_ITEMS = 20
TOGETHER_S = 0.2


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
            return _payment_result(item, book_payment(request, session, terminal, _as_offline(item.payment)))
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


def _as_offline(payment: PaymentRequest) -> PaymentRequest:
    """A pushed payment was approved offline: it is judged as of when it happened."""
    return payment if payment.offline else payment.model_copy(update={"offline": True})


def _payment_result(item: PushItem, booked: Booked) -> PushItemResult:
    status = "duplicate" if booked.duplicate else ("booked" if booked.result.status == "approved" else "declined")
    return PushItemResult(seq=item.seq, status=status, reason=booked.result.reason, payment=booked.result)


def _own_funds_payment(request: Request, raw: Any) -> PushItem | None:
    """The item if it is a well-formed payment from the payer's own accounts (what a canteen
    terminal queues offline), else None: those are the items a shared transaction may book."""
    if not (isinstance(raw, dict) and raw.get("kind") == "payment"):
        return None
    try:
        item = PushItem.model_validate(raw)
    except ValidationError:
        return None
    if item.payment.terminal_seq not in (None, item.seq) or wallet_code_kind(item.payment, request.app.state.channels):
        return None
    return item


def _push_all(request: Request, session: Session, terminal: TerminalPrincipal, items: list) -> list[PushItemResult]:
    """Every item's answer, in order. On PostgreSQL a run of own-funds payments is booked several
    to a transaction (see _book_together); everything else, and SQLite, one item at a time."""
    if session.get_bind().dialect.name != "postgresql":
        return [_push_one(request, session, terminal, raw) for raw in items]
    results: list[PushItemResult] = []
    run: list[tuple[Any, PushItem]] = []
    for raw in items:
        item = _own_funds_payment(request, raw)
        if item is not None:
            run.append((raw, item))
            continue
        results += _book_together(request, session, terminal, run)
        run = []
        results.append(_push_one(request, session, terminal, raw))
    return results + _book_together(request, session, terminal, run)


def _book_together(request: Request, session: Session, terminal: TerminalPrincipal,
                   run: list[tuple[Any, PushItem]]) -> list[PushItemResult]:
    """Book consecutive payments in shared transactions: per item this spares a pool checkout
    (and its ping), BEGIN, COMMIT and a change-feed insert. A transaction takes at most
    TOGETHER_ITEMS items or TOGETHER_S seconds, since it holds each payer's account lock until
    it commits (an online payment of the same diner waits that long). If anything goes wrong in
    one (a decline the terminal must hear as 'rejected', a lost race, a bank intent to record, a
    deadlock with another terminal's push), it is rolled back whole and its items are booked one
    by one as before: the payment id keeps each booked once either way."""
    results: list[PushItemResult] = []
    done = 0
    while done < len(run):
        part: list[PushItemResult] = []
        started = time.monotonic()
        try:
            for _raw, item in run[done:]:
                booking = own_funds_booking(request, session, terminal, _as_offline(item.payment))
                part.append(_payment_result(item, booking()))
                if len(part) == TOGETHER_ITEMS or time.monotonic() - started >= TOGETHER_S:
                    break
            session.commit()
        except Exception:  # noqa: BLE001 - any failure: the same items once more, alone
            session.rollback()
            part = [_push_one(request, session, terminal, raw) for raw, _item in run[done:done + len(part) + 1]]
        results += part
        done += len(part)
    return results


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
         terminal: TerminalPrincipal = Depends(current_terminal)) -> Response:
    """Book the terminal's offline queue item by item: booked, duplicate, declined (e.g. not
    enough money for a payment the terminal approved offline) or rejected (malformed)."""
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_PUSH_ITEMS or set(payload) != {"items"}:
        raise api_error(422, "invalid_request", f"推送内容须为 {{\"items\": [...]}}，1到{MAX_PUSH_ITEMS}条",
                        f"A push body is {{\"items\": [...]}} with 1 to {MAX_PUSH_ITEMS} items")
    with group_commit(session):
        results = _push_all(request, session, terminal, items)
    session.execute(update(Terminal).where(Terminal.id == terminal.terminal_id)
                    .values(last_push_at=request_now(request)))
    session.commit()   # synchronous: every item's commit before it is on disk before the answer goes
    return json_response(PushResponse(results=results))


@router.get("/pull", response_model=PullResponse)
def pull(request: Request, cursor: int = Query(0, ge=0, le=2**62), limit: int = Query(500, ge=1, le=MAX_PULL_LIMIT),
         session: Session = Depends(get_session),
         terminal: TerminalPrincipal = Depends(current_terminal)) -> Response:
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
    return json_response(PullResponse(cursor=page.cursor, more=page.more, server_time=now, changes=changes))
