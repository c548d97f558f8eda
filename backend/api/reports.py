"""Report endpoints: JSON for screens, CSV (streamed row by row) and xlsx for spreadsheets.

Bank operators and auditors read every report; a merchant admin reads the merchant-scoped ones,
limited to its own merchant (the subsidy reports per program and per beneficiary are for
funders and regulators, not for merchants).
"""
from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from backend.api.params import IdQuery
from backend.auth import OperatorPrincipal, require_roles
from backend.deps import get_session, request_now
from backend.errors import api_error
from backend.reports.catalog import REPORTS, Params, Report, check_month, get_report
from backend.reports.export import csv_lines, xlsx_bytes

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
READERS = require_roles("operator", "auditor", "merchant_admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_JSON_ROWS = 5000


def report_params(request: Request, report: Report, who: OperatorPrincipal, month: str,
                  merchant_id: int | None) -> Params:
    if who.role == "merchant_admin":
        if not report.merchant_scoped:
            raise api_error(403, "forbidden_role", "商户管理员无权查看此报表", "A merchant admin may not read this report")
        merchant_id = who.merchant_id
    return Params(month=check_month(month), timezone=request.app.state.settings.timezone, merchant_id=merchant_id,
                  now=request_now(request))


def _streamed(session, report: Report, params: Params) -> Iterator[bytes]:  # noqa: ANN001
    """CSV lines as they come from the database cursor; the session closes when the stream ends."""
    try:
        for line in csv_lines(report.header, report.rows(session, params)):
            yield line.encode("utf-8")
    finally:
        session.close()


@router.get("")
def catalog(_: OperatorPrincipal = Depends(READERS)) -> list[dict]:
    return [{"name": r.name, "title_zh": r.title_zh, "title_en": r.title_en, "columns": list(r.header),
             "merchant_scoped": r.merchant_scoped} for r in REPORTS.values()]


@router.get("/{name}")
def report(name: str, request: Request, month: str = Query(..., pattern=r"^\d{4}-\d{2}$"),
           format: str = Query("json", pattern="^(json|csv|xlsx)$"), merchant_id: IdQuery = None,  # noqa: A002
           who: OperatorPrincipal = Depends(READERS), session: Session = Depends(get_session)):  # noqa: ANN201
    chosen = get_report(name)
    params = report_params(request, chosen, who, month, merchant_id)
    filename = f"{name}-{month}.{format}"
    if format == "csv":
        # The stream outlives this request's session: end its transaction (SQLite: its lock) and
        # read with a session of the stream's own.
        session.rollback()
        return StreamingResponse(_streamed(request.app.state.sessions(), chosen, params),
                                 media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    rows = chosen.rows(session, params)
    if format == "xlsx":
        return Response(xlsx_bytes(chosen.name, chosen.header, rows, params.instants()[0]), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    out = []
    for row in rows:
        out.append(dict(zip(chosen.header, row)))
        if len(out) >= MAX_JSON_ROWS:
            break
    return {"report": chosen.name, "title_zh": chosen.title_zh, "title_en": chosen.title_en, "month": month,
            "columns": list(chosen.header), "rows": out, "truncated": len(out) >= MAX_JSON_ROWS}
