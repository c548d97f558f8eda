"""Settlement endpoints: run a business day, read closed days, download the payout files.

Bank operators run settlement and read every merchant; auditors read; a merchant admin reads
only its own merchant's days and files.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.api.params import IdQuery
from backend.auth import OperatorPrincipal, require_roles
from backend.deps import get_session, request_now
from backend.errors import api_error
from backend.settlement.models import SettlementDay
from backend.settlement.payout import build_payout_files, record_fingerprint
from backend.settlement.run import check_date, settle_day

router = APIRouter(prefix="/api/v1/settlement", tags=["settlement"])
RUNNERS = require_roles("operator")
READERS = require_roles("operator", "auditor", "merchant_admin")
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    business_date: str = Field(pattern=DATE_PATTERN, description="YYYY-MM-DD, each merchant's own business day")


def day_view(day: SettlementDay) -> dict:
    return {"merchant_id": day.merchant_id, "business_date": day.business_date, "payments": day.payments,
            "gross_fen": day.gross_fen, "refunds_fen": day.refunds_fen, "wallet_fen": day.wallet_fen,
            "bank_card_fen": day.bank_card_fen, "channel_fen": day.channel_fen, "subsidy_fen": day.subsidy,
            "counter_fen": day.counter_fen, "campaign_bank_fen": day.campaign_bank_fen,
            "campaign_merchant_fen": day.campaign_merchant_fen, "campaign_setoff_fen": day.campaign_setoff_fen,
            "fees_fen": day.fees_fen, "fees_by_method": day.fees, "adjustments_fen": day.adjustments_fen,
            "adjustments": day.adjustments, "net_fen": day.net_fen, "closed_at": day.closed_at.isoformat()}


def run_and_fingerprint(session: Session, business_date: str, now) -> dict:  # noqa: ANN001
    """Close the day for every merchant whose cut-off has passed, then make and pin the files."""
    outcome = settle_day(session, business_date, now)
    files = None
    if outcome.closed or outcome.already:
        files = build_payout_files(session, business_date)
        record_fingerprint(session, files)
        session.commit()
    return {"business_date": business_date, "closed": [day_view(d) for d in outcome.closed],
            "already_closed": [d.merchant_id for d in outcome.already], "not_over": outcome.not_over,
            "csv_sha256": files.csv_sha256 if files else None, "xlsx_sha256": files.xlsx_sha256 if files else None}


@router.post("/runs")
def run(body: RunIn, request: Request, session: Session = Depends(get_session),
        _: OperatorPrincipal = Depends(RUNNERS)) -> dict:
    """Close the day (idempotent: a closed day is returned as it was, never rewritten)."""
    return run_and_fingerprint(session, check_date(body.business_date), request_now(request))


@router.get("/days")
def days(business_date: str | None = Query(None, pattern=DATE_PATTERN), merchant_id: IdQuery = None,
         limit: int = Query(100, ge=1, le=1000), session: Session = Depends(get_session),
         who: OperatorPrincipal = Depends(READERS)) -> list[dict]:
    query = select(SettlementDay).order_by(SettlementDay.business_date.desc(), SettlementDay.merchant_id).limit(limit)
    if business_date:
        query = query.where(SettlementDay.business_date == business_date)
    if who.role == "merchant_admin":
        merchant_id = who.merchant_id
    if merchant_id is not None:
        query = query.where(SettlementDay.merchant_id == merchant_id)
    return [day_view(d) for d in session.scalars(query)]


@router.get("/days/{business_date}/payout.{fmt}")
def payout_file(business_date: str, fmt: str, session: Session = Depends(get_session),
                who: OperatorPrincipal = Depends(READERS)) -> Response:
    """The bank transfer file of a closed day (a merchant admin gets its own row only)."""
    business_date = check_date(business_date)
    if fmt not in MEDIA:
        raise api_error(404, "unknown_format", "只提供 csv 或 xlsx 文件", "Only csv and xlsx files are offered")
    files = build_payout_files(session, business_date, who.merchant_id if who.role == "merchant_admin" else None)
    content = files.csv if fmt == "csv" else files.xlsx
    return Response(content, media_type=MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="payout-{business_date}.{fmt}"'})
