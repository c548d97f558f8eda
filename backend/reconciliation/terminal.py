"""Terminal shift reconciliation: what a terminal says it took, against what the ledger booked.

Backend side: the terminal's approved payments that happened between the shift's open and close
(booked, so on the ledger). Each difference is itemised: a payment the terminal still holds in
its outbox -> the answer asks it to push (`push_payment_ids`); anything else is flagged for a
person. Closing the same shift again compares again (after a push the shift balances).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth import TerminalPrincipal
from backend.models.payments import Payment
from backend.reconciliation.models import TerminalShift
from core.reasons import message
from core.wire import ShiftCloseRequest, ShiftCloseResult, ShiftDifference, ShiftMethodLine


def _difference(kind: str, **kw) -> ShiftDifference:  # noqa: ANN003
    zh, en = message(kind)
    return ShiftDifference(kind=kind, message_zh=zh, message_en=en, **kw)


def compare_shift(session: Session, who: TerminalPrincipal, req: ShiftCloseRequest) -> ShiftCloseResult:
    booked = {p.payment_uuid: p for p in session.scalars(
        select(Payment).where(Payment.terminal_id == who.terminal_id, Payment.status == "approved",
                              Payment.occurred_at >= req.opened_at, Payment.occurred_at <= req.closed_at))}
    queued = {str(q) for q in req.queued_payment_ids}
    differences: list[ShiftDifference] = []
    push: list = []
    for taken in req.payments:
        mine = booked.get(str(taken.payment_id))
        if mine is None and str(taken.payment_id) in queued:
            push.append(taken.payment_id)
            differences.append(_difference("push_needed", payment_id=taken.payment_id, method=taken.method,
                                           terminal_fen=taken.amount_fen))
        elif mine is None:
            differences.append(_difference("not_booked", payment_id=taken.payment_id, method=taken.method,
                                           terminal_fen=taken.amount_fen))
        elif mine.amount_fen != taken.amount_fen:
            differences.append(_difference("amount_differs", payment_id=taken.payment_id, method=taken.method,
                                           terminal_fen=taken.amount_fen, backend_fen=mine.amount_fen))
    listed = {str(t.payment_id) for t in req.payments}
    for uuid, mine in sorted(booked.items()):
        if uuid not in listed:
            differences.append(_difference("unknown_to_terminal", payment_id=mine.payment_uuid, method=mine.method,
                                           backend_fen=mine.amount_fen))
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for mine in booked.values():
        sums[mine.method][0] += 1
        sums[mine.method][1] += mine.amount_fen
    theirs = {t.method: t for t in req.totals}
    lines = []
    for method in sorted(set(sums) | set(theirs)):
        t = theirs.get(method)
        line = ShiftMethodLine(method=method, terminal_count=t.count if t else 0, terminal_fen=t.amount_fen if t else 0,
                               backend_count=sums[method][0], backend_fen=sums[method][1])
        lines.append(line)
        if (line.terminal_count, line.terminal_fen) != (line.backend_count, line.backend_fen):
            differences.append(_difference("totals_differ", method=method, terminal_fen=line.terminal_fen,
                                           backend_fen=line.backend_fen))
    return ShiftCloseResult(shift_id=req.shift_id, status="differences" if differences else "balanced",
                            lines=lines, differences=differences, push_payment_ids=push)


def close_shift(session: Session, who: TerminalPrincipal, req: ShiftCloseRequest, now: datetime) -> ShiftCloseResult:
    """Compare and keep the latest comparison of this shift (flushed; the caller commits)."""
    result = compare_shift(session, who, req)
    row = session.scalar(select(TerminalShift).where(TerminalShift.terminal_id == who.terminal_id,
                                                     TerminalShift.shift_id == req.shift_id).with_for_update())
    if row is None:
        row = TerminalShift(terminal_id=who.terminal_id, merchant_id=who.merchant_id, shift_id=req.shift_id)
        session.add(row)
    row.opened_at, row.closed_at, row.status = req.opened_at, req.closed_at, result.status
    row.result, row.received_at = result.model_dump(mode="json"), now
    session.flush()
    return result
