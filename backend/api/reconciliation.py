"""Reconciliation endpoints: upload a channel statement, read differences and terminal shifts,
and the signed shift close a terminal sends."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.api.params import IdQuery
from backend.api.payments import json_body_doc, strict_body
from backend.auth import OperatorPrincipal, TerminalPrincipal, current_terminal, require_roles
from backend.corebanking import corebanking_of
from backend.services.vault import vault_of
from backend.deps import get_session, request_now
from backend.errors import api_error
from backend.reconciliation.channel import reconcile
from backend.reconciliation.channel_file import MAX_FILE_BYTES, StatementError
from backend.reconciliation.statements import parse_any
from backend.reconciliation.models import ChannelReconciliation, ReconciliationItem, TerminalShift
from backend.reconciliation.terminal import close_shift
from core.wire import ShiftCloseRequest, ShiftCloseResult

router = APIRouter(prefix="/api/v1", tags=["reconciliation"])
BANK_STAFF = require_roles("operator")
READERS = require_roles("operator", "auditor", "merchant_admin")


def run_view(run: ChannelReconciliation, items: list[ReconciliationItem]) -> dict:
    return {"id": run.id, "channel": run.channel, "statement_date": run.statement_date, "counts": run.counts,
            "items": [item_view(i) for i in items]}


def item_view(item: ReconciliationItem) -> dict:
    return {"id": item.id, "reconciliation_id": item.reconciliation_id, "merchant_id": item.merchant_id,
            "ref": item.ref, "kind": item.kind, "ours_fen": item.ours_fen, "theirs_fen": item.theirs_fen,
            "action": item.action, "note": item.note}


def import_statement(request: Request, session: Session, raw: bytes, statement_date: str | None = None) -> dict:
    try:
        statement = parse_any(raw, statement_date)
    except StatementError as exc:
        raise api_error(422, "bad_statement", f"对账文件无法读取：{exc.zh}", f"The statement cannot be read: {exc.en}") from None
    run = reconcile(session, statement, raw, corebanking_of(request.app.state) if statement.channel == "bank_card"
                    else None, request_now(request), vault_of(request.app.state.settings))
    session.commit()
    items = list(session.scalars(select(ReconciliationItem).where(ReconciliationItem.reconciliation_id == run.id)
                                 .order_by(ReconciliationItem.id)))
    return run_view(run, items)


@router.post("/reconciliation/channel-statements", openapi_extra={"requestBody": {
    "required": True, "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}}}})
async def upload_statement(request: Request, session: Session = Depends(get_session),
                           statement_date: str | None = Query(None, pattern=r"^\d{4}-\d{2}-\d{2}$",
                                                              description="the bill's day, for a WeChat Pay bill"),
                           _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    """Body: the statement file: GPSTMT1, WeChat Pay's trade bill or Alipay's detail bill (zip or
    CSV); docs/SETTLEMENT.md and docs/CHANNELS.md. The same file again returns the first result."""
    raw = await request.body()
    if len(raw) > MAX_FILE_BYTES:
        raise api_error(413, "statement_too_large", "对账文件过大", "The statement file is too large")
    return await run_in_threadpool(import_statement, request, session, raw, statement_date)


@router.get("/reconciliation/differences")
def differences(kind: str | None = Query(None, pattern="^(missing_ours|missing_theirs|amount_differs)$"),
                action: str | None = Query(None, pattern="^(reversed|for_person)$"),
                limit: int = Query(200, ge=1, le=1000), session: Session = Depends(get_session),
                who: OperatorPrincipal = Depends(READERS)) -> list[dict]:
    query = select(ReconciliationItem).order_by(ReconciliationItem.id.desc()).limit(limit)
    if kind:
        query = query.where(ReconciliationItem.kind == kind)
    if action:
        query = query.where(ReconciliationItem.action == action)
    if who.role == "merchant_admin":
        query = query.where(ReconciliationItem.merchant_id == who.merchant_id)
    return [item_view(i) for i in session.scalars(query)]


def shift_view(row: TerminalShift) -> dict:
    return {"terminal_id": row.terminal_id, "merchant_id": row.merchant_id, "shift_id": row.shift_id,
            "opened_at": row.opened_at.isoformat(), "closed_at": row.closed_at.isoformat(), "status": row.status,
            "result": row.result}


@router.get("/reconciliation/shifts")
def shifts(terminal_id: IdQuery = None, limit: int = Query(100, ge=1, le=1000),
           session: Session = Depends(get_session), who: OperatorPrincipal = Depends(READERS)) -> list[dict]:
    query = select(TerminalShift).order_by(TerminalShift.received_at.desc(), TerminalShift.id.desc()).limit(limit)
    if terminal_id is not None:
        query = query.where(TerminalShift.terminal_id == terminal_id)
    if who.role == "merchant_admin":
        query = query.where(TerminalShift.merchant_id == who.merchant_id)
    return [shift_view(r) for r in session.scalars(query)]


@router.post("/terminal/shift-close", response_model=ShiftCloseResult,
             openapi_extra=json_body_doc(ShiftCloseRequest))
def shift_close(request: Request, body: ShiftCloseRequest = Depends(strict_body(ShiftCloseRequest)),
                who: TerminalPrincipal = Depends(current_terminal),
                session: Session = Depends(get_session)) -> ShiftCloseResult:
    """Signed. Compare the terminal's shift with the ledger; the answer lists every difference."""
    result = close_shift(session, who, body, request_now(request))
    session.commit()
    return result
