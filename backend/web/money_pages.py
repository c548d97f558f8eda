"""Admin pages for settlement days and their files, reconciliation differences and terminal
shifts, and reports. The same services as the API; the same roles."""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.api.reconciliation import import_statement
from backend.api.reports import XLSX, report_params
from backend.api.settlement import MEDIA, run_and_fingerprint
from backend.deps import get_session, request_now
from backend.errors import ApiError
from backend.reconciliation.channel_file import MAX_FILE_BYTES
from backend.reconciliation.models import ReconciliationItem, TerminalShift
from backend.reports.catalog import COLUMN_ZH, REPORTS, get_report
from backend.reports.export import csv_bytes, xlsx_bytes
from backend.settlement.models import SettlementDay
from backend.settlement.payout import build_payout_files
from backend.settlement.run import check_date
from backend.web.display import Names, local_time, yuan, yuan_label
from backend.web.render import ANY_ROLE, fen, page, render
from backend.web.session import PageUser, admin_roles

router = APIRouter(prefix="/admin", include_in_schema=False)
WEB_REPORT_ROWS = 500


def _settlement_page(request: Request, session: Session, who, notice: str = ""):  # noqa: ANN001, ANN201
    query = select(SettlementDay).order_by(SettlementDay.business_date.desc(), SettlementDay.merchant_id).limit(200)
    if who.role == "merchant_admin":
        query = query.where(SettlementDay.merchant_id == who.merchant_id)
    days = list(session.scalars(query))
    names = Names(session)
    dates = sorted({d.business_date for d in days}, reverse=True)
    yesterday = (request_now(request) - timedelta(days=1)).date().isoformat()
    forms = [] if who.role != "operator" else [{
        "action": "/admin/settlement/run", "title": "结算某一营业日 Settle a business day", "submit": "结算 Settle",
        "fields": [{"name": "business_date", "label": "营业日 Business day", "type": "date", "value": yesterday,
                    "required": True}]}]
    return render(request, who, "page.html", title_zh="结算", title_en="Settlement", active="/admin/settlement",
                  notice=notice, forms=forms, sections=[
                      {"title": "付款文件 Payout files",
                       "links": [(f"/admin/settlement/{d}/payout.{fmt}", f"{d} {fmt.upper()}") for d in dates[:14]
                                 for fmt in ("csv", "xlsx")]},
                      {"title": "已结算营业日 Closed business days",
                       "columns": ["营业日 Day", "商户 Merchant", "笔数 Payments", yuan_label("交易额", "Gross"),
                                   yuan_label("退款", "Refunds"), yuan_label("补贴", "Subsidy"),
                                   yuan_label("个人账户", "Wallet"), yuan_label("银行卡", "Card"),
                                   yuan_label("活动（银行出资）", "Campaigns, bank-funded"),
                                   yuan_label("活动（商户出资）", "Campaigns, merchant-funded"),
                                   yuan_label("手续费", "Fees"), yuan_label("调整", "Adjustments"),
                                   yuan_label("本店活动抵扣", "Own campaigns set off"),
                                   yuan_label("应付净额", "Net payable"), yuan_label("柜台自收（不划付）", "Counter, kept")],
                       "rows": [(d.business_date, names.merchant(d.merchant_id), d.payments, yuan(d.gross_fen),
                                 yuan(d.refunds_fen), yuan(sum(d.subsidy.values())), yuan(d.wallet_fen),
                                 yuan(d.bank_card_fen), _campaign(d.campaign_bank_fen),
                                 _campaign(d.campaign_merchant_fen), yuan(d.fees_fen), yuan(d.adjustments_fen),
                                 _campaign(d.campaign_setoff_fen), yuan(d.net_fen),
                                 yuan(d.counter_fen)) for d in days]}])


def _campaign(fen: int | None) -> str:
    """A campaign figure; a day closed before settlement knew campaigns has none."""
    return "—" if fen is None else yuan(fen)


@router.get("/settlement")
@page
def settlement(request: Request, session: Session = Depends(get_session),
        user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    return _settlement_page(request, session, user.who)


@router.post("/settlement/run")
@page
def settlement_run(request: Request, business_date: str = Form(""), csrf: str = Form(""),
                   session: Session = Depends(get_session),
        user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    who = user.who
    user.check_csrf(request, csrf)
    done = run_and_fingerprint(session, check_date(business_date[:10]), request_now(request))
    notice = (f"{done['business_date']}：本次结算 {len(done['closed'])} 个商户，此前已结 {len(done['already_closed'])} 个，"
              f"未到日切 {len(done['not_over'])} 个。Closed now {len(done['closed'])}, before "
              f"{len(done['already_closed'])}, day not over {len(done['not_over'])}.")
    return _settlement_page(request, session, who, notice)


@router.get("/settlement/{business_date}/payout.{fmt}")
@page
def payout_download(request: Request, business_date: str, fmt: str, session: Session = Depends(get_session),
        user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    who = user.who
    if fmt not in MEDIA:
        return Response(status_code=404)
    files = build_payout_files(session, check_date(business_date),
                               who.merchant_id if who.role == "merchant_admin" else None)
    return Response(files.csv if fmt == "csv" else files.xlsx, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f'attachment; filename="payout-{business_date}.{fmt}"'})


def _reconciliation_page(request: Request, session: Session, who, notice: str = "", problems=None):  # noqa: ANN001, ANN201
    items = select(ReconciliationItem).where(ReconciliationItem.kind != "matched").order_by(
        ReconciliationItem.id.desc()).limit(200)
    shifts = select(TerminalShift).order_by(TerminalShift.received_at.desc(), TerminalShift.id.desc()).limit(100)
    if who.role == "merchant_admin":
        items = items.where(ReconciliationItem.merchant_id == who.merchant_id)
        shifts = shifts.where(TerminalShift.merchant_id == who.merchant_id)
    forms = [] if who.role != "operator" else [{
        "action": "/admin/reconciliation/statement", "title": "上传渠道对账单 Upload a channel statement",
        "upload": True, "submit": "对账 Reconcile",
        "fields": [{"name": "file", "label": "对账文件 Statement (GPSTMT1)", "type": "file", "required": True}]}]
    shift_rows, names = [], Names(session)
    for s in session.scalars(shifts):
        diffs = s.result.get("differences", [])
        shift_rows.append((names.terminal(s.terminal_id), s.shift_id,
                           local_time(s.closed_at, names.zone(merchant_id=s.merchant_id)),
                           "平 balanced" if s.status == "balanced" else "有差异 differences",
                           "；".join(f"{d['kind']} {d.get('payment_id') or d.get('method') or ''} {d['message_zh']}"
                                    for d in diffs[:5]) + (" …" if len(diffs) > 5 else "")))
    return render(request, who, "page.html", title_zh="对账", title_en="Reconciliation", active="/admin/reconciliation",
                  notice=notice, problems=problems or [], problems_title="对账文件无法读取 The statement cannot be read",
                  forms=forms, sections=[
                      {"title": "渠道对账差异 Channel differences",
                       "columns": ["编号 ID", "流水 Reference", "类型 Kind", yuan_label("我方", "Ours"),
                                   yuan_label("渠道", "Theirs"), "处理 Action", "说明 Note"],
                       "rows": [(i.id, i.ref, i.kind, yuan(i.ours_fen), yuan(i.theirs_fen),
                                 "已冲正 reversed" if i.action == "reversed" else "待人工 for a person", i.note)
                                for i in session.scalars(items)]},
                      {"title": "终端班次对账 Terminal shifts",
                       "columns": ["终端 Terminal", "班次 Shift", "结束（当地时间） Closed (local time)", "结果 Result",
                                   "差异 Differences"],
                       "rows": shift_rows}])


@router.get("/reconciliation")
@page
def reconciliation(request: Request, session: Session = Depends(get_session),
        user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    return _reconciliation_page(request, session, user.who)


@router.post("/reconciliation/statement")
@page
def upload_statement(request: Request, csrf: str = Form(""), file: UploadFile | None = File(None),
                     session: Session = Depends(get_session),
        user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    who = user.who
    user.check_csrf(request, csrf)
    raw = file.file.read(MAX_FILE_BYTES + 1) if file is not None else b""
    try:
        result = import_statement(request, session, raw)
    except ApiError as exc:
        d = exc.detail
        return _reconciliation_page(request, session, who, problems=[
            {"line": d["message_en"].split("line ")[-1].split(":")[0] if "line " in d["message_en"] else "",
             "message_zh": d["message_zh"], "message_en": d["message_en"]}])
    c = result["counts"]
    return _reconciliation_page(request, session, who, notice=(
        f"{result['channel']} {result['statement_date']}：相符 {c['matched']}，我方缺 {c['missing_ours']}，渠道缺 "
        f"{c['missing_theirs']}，金额不符 {c['amount_differs']}，已冲正 {c['reversed']}。Matched {c['matched']}, missing ours "
        f"{c['missing_ours']}, missing theirs {c['missing_theirs']}, amount differs {c['amount_differs']}, "
        f"reversed {c['reversed']}."))


@router.get("/reports")
@page
def reports(request: Request, name: str = Query("sales"), month: str = Query(""),
            session: Session = Depends(get_session),
        user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    who = user.who
    month = month or request_now(request).strftime("%Y-%m")
    chosen = get_report(name)
    params = report_params(request, chosen, who, month, None)
    rows = []
    for row in chosen.rows(session, params):
        rows.append(tuple(fen(v) if h.endswith("_fen") else v for h, v in zip(chosen.header, row)))
        if len(rows) >= WEB_REPORT_ROWS:
            break
    choices = [(r.name, f"{r.title_zh} {r.title_en}") for r in REPORTS.values()
               if who.role != "merchant_admin" or r.merchant_scoped]
    choices.sort(key=lambda c: c[0] != name)
    return render(request, who, "report.html", title_zh=f"报表：{chosen.title_zh}", title_en=chosen.title_en,
                  active="/admin/reports", choices=choices, month=month, sections=[
                      {"title": f"{chosen.title_zh} · {month}", "rows": rows,
                       "columns": [f"{COLUMN_ZH.get(h, '')} {h}".strip() for h in chosen.header],
                       "links": [(f"/admin/reports/{name}.{fmt}?month={month}", f"下载 Download {fmt.upper()}")
                                 for fmt in ("csv", "xlsx")]}])


@router.get("/reports/{name}.{fmt}")
@page
def report_download(request: Request, name: str, fmt: str, month: str = Query(""),
                    session: Session = Depends(get_session),
        user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    who = user.who
    if fmt not in ("csv", "xlsx"):
        return Response(status_code=404)
    chosen = get_report(name)
    params = report_params(request, chosen, who, month, None)
    rows = chosen.rows(session, params)
    content = csv_bytes(chosen.header, rows) if fmt == "csv" else xlsx_bytes(chosen.name, chosen.header, rows,
                                                                             params.instants()[0])
    return Response(content, media_type="text/csv; charset=utf-8" if fmt == "csv" else XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}-{month}.{fmt}"'})


