"""Operator endpoints for subsidy programs: create, import grants from CSV, claw back, expire,
and the ledger check."""
from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.api.merchants import known_zone
from backend.api.params import IdField, IdPath, Text
from backend.auth import OperatorPrincipal, require_roles
from backend.deps import get_session, request_now
from backend.errors import api_error
from backend.models.subsidies import Grant
from backend.services import subsidies as svc
from backend.services.customers import publish_balance
from backend.services.grant_import import import_grants
from backend.services.ledger import check_ledger
from backend.services.vault import vault_of
from core.wire import MAX_AMOUNT_FEN

router = APIRouter(prefix="/api/v1", tags=["subsidies"])
BANK_STAFF = require_roles("operator")
READERS = require_roles("operator", "auditor")
MAX_CSV_BYTES = 5 * 1024 * 1024


class ProgramIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text(100)
    funder: Text(100) = Field(description="who pays for it")
    kind: str = Field(pattern="^(monthly|daily|meal)$", description="monthly grant | daily allowance | meal allowance")
    merchant_ids: list[IdField] = Field(default=[], max_length=200, description="where it may be spent; empty = any")
    meal_periods: list[Text(32)] = Field(default=[], max_length=10, description="meal period codes; empty = any")
    per_meal_cap_fen: int | None = Field(None, gt=0, le=MAX_AMOUNT_FEN)
    per_day_cap_fen: int | None = Field(None, gt=0, le=10 * MAX_AMOUNT_FEN)
    expiry_policy: str = Field("month_end", pattern="^(month_end|rollover|on_date)$",
                               description="daily and meal allowances always lapse at day end")
    expires_on: date | None = Field(None, description="last valid day for expiry_policy on_date")
    timezone: str = Field("Asia/Shanghai", max_length=64)
    _known_zone = field_validator("timezone")(lambda cls, v: known_zone(v))   # "Mars/Base" was a 500 at expiry


class ClawbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_fen: int | None = Field(None, gt=0, le=100 * MAX_AMOUNT_FEN, description="None = all that is left")


@router.post("/subsidy-programs", status_code=201)
def create_program(body: ProgramIn, session: Session = Depends(get_session),
                   _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    program = svc.create_program(session, **body.model_dump())
    session.commit()
    return {"id": program.id, **body.model_dump(mode="json")}


@router.post("/subsidy-programs/{program_id}/grant-batches")
async def import_batch(program_id: IdPath, request: Request,
                       batch_id: str = Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                                             description="the idempotency key of this import"),
                       session: Session = Depends(get_session),
                       _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    """Body: the CSV file itself (text/csv, UTF-8). Bad rows are reported by line; good rows are booked."""
    raw = await request.body()
    if len(raw) > MAX_CSV_BYTES:
        raise api_error(413, "csv_too_large", "文件过大（上限5MB），请分批导入", "The file is over 5 MB; split it")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise api_error(422, "csv_not_utf8", "文件须为UTF-8编码的CSV", "The file must be CSV in UTF-8") from None
    return await run_in_threadpool(_import, request, session, program_id, batch_id, text)


def _import(request: Request, session: Session, program_id: int, batch_id: str, text: str) -> dict:
    program = svc.get_program(session, program_id)
    report = import_grants(session, vault_of(request.app.state.settings), program, batch_id, text,
                           request_now(request))
    session.commit()
    return {"batch_id": report.batch_id, "program_id": report.program_id, "rows_booked": report.rows_booked,
            "total_fen": report.total_fen, "errors": report.errors, "already_imported": report.already_imported}


@router.post("/subsidy-grants/{grant_id}/clawback")
def clawback(grant_id: IdPath, body: ClawbackIn, request: Request, session: Session = Depends(get_session),
             _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    now = request_now(request)
    taken = svc.clawback(session, grant_id, body.amount_fen, now)
    publish_balance(session, session.get(Grant, grant_id).customer_id, now)
    session.commit()
    return {"grant_id": grant_id, "clawed_back_fen": taken}


@router.post("/subsidies/expire")
def expire(request: Request, session: Session = Depends(get_session),
           _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    """Run the expiry job now (the same as `gatepay backend expire-subsidies`)."""
    now = request_now(request)
    done = svc.expire_and_publish(session, now)
    session.commit()
    return {"expired": [e.__dict__ for e in done], "total_fen": sum(e.amount_fen for e in done)}


@router.get("/ledger/check")
def ledger_check(session: Session = Depends(get_session), _: OperatorPrincipal = Depends(READERS)) -> dict:
    problems = check_ledger(session)
    return {"ok": not problems, "problems": problems}
