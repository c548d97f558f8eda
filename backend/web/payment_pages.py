"""Payments on /admin: search and filter (date range, merchant, terminal, method, status, amount)
page by page, the same list as CSV or xlsx (every cell through the exporters' safe_cell), and one
payment's page: its money lines, its ledger lines, its sync history (online or pushed from the
offline queue, when it happened, when it was booked, the balance change terminals pull), its
refunds, and a full or partial refund with a reason through the API's own refund path. The
refund form carries its refund id, made when the form is shown: a double click refunds once.
Roles as the API: operators all, merchant admins their own merchant, auditors read."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.api.payments import book_refund
from backend.api.reports import XLSX
from backend.auth import ensure_visible
from backend.deps import get_session, request_now
from backend.errors import ApiError, api_error
from backend.models.changes import SyncChange
from backend.models.ledger import Account, Entry, Posting
from backend.models.payments import Payment, PaymentLine, Refund
from backend.reports.export import csv_bytes, xlsx_bytes
from backend.web.customer_pages import program_names
from backend.web.display import Names, local_time, yuan, yuan_label
from backend.web.forms import Field, Form, Link, api_words, form_data
from backend.web.paging import paginate
from backend.web.payment_filter import FILTER, METHODS, STATUSES, read_filter
from backend.web.render import ANY_ROLE, page, render
from backend.web.session import PageUser, admin_roles
from backend.web.texts import Bi
from core.wire import RefundRequest

router = APIRouter(prefix="/admin", include_in_schema=False)
PATH = "/admin/payments"
REFUNDERS = ("operator", "merchant_admin")
MAX_EXPORT_ROWS = 100_000
COLUMNS = [Bi("时间", "Time"), Bi("营业日", "Business day"), Bi("商户", "Merchant"), Bi("终端", "Terminal"),
           Bi("方式", "Method"), Bi("状态", "Status"), yuan_label("金额", "Amount"), yuan_label("已退", "Refunded"),
           Bi("离线", "Offline"), Bi("支付编号", "Payment id")]
EXPORT_HEADER = ["time", "business_date", "merchant", "terminal", "method", "status", "amount_yuan",
                 "refunded_yuan", "offline", "payment_id"]
YES, NO = Bi("是", "yes"), Bi("否", "no")
SOURCES = {"subsidy": Bi("补贴", "subsidy"), "wallet": Bi("个人账户", "wallet"), "bank_card": Bi("银行卡", "bank card")}
REFUND = Form("refund", Bi("退款", "Refund"), Bi("退款", "Refund"), (
    Field("refund_id", Bi("", ""), "hidden", max_len=36),
    Field("amount", yuan_label("退款金额", "Amount"), "yuan", lo=1),
    Field("reason", Bi("原因", "Reason"), max_len=200)), danger=True)


def _cells(p: Payment, names: Names) -> list:
    return [local_time(p.occurred_at, names.zone(merchant_id=p.merchant_id, site_id=p.site_id), seconds=True),
            p.business_date, names.merchant(p.merchant_id), names.terminal(p.terminal_id),
            METHODS.get(p.method, p.method), STATUSES.get(p.status, p.status), yuan(p.amount_fen),
            yuan(p.refunded_fen), YES if p.offline else NO, p.payment_uuid]


def _export_row(p: Payment, names: Names) -> list:
    cells = _cells(p, names)
    return [c.en if isinstance(c, Bi) else c for c in cells]


@router.get("/payments")
@page
def payments(request: Request, session: Session = Depends(get_session),
             user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    chosen = read_filter(session, request.query_params, user.who)
    ok = chosen.reading.ok
    names = Names(session)
    paged = paginate(session, chosen.query(), request) if ok else None
    rows = [] if paged is None else [_cells(p, names)[:-1] + [Link(f"{PATH}/{p.payment_uuid}", p.payment_uuid)]
                                     for p in paged.rows]
    links = [(f"{PATH}.{fmt}?{chosen.query_string()}", Bi(f"导出 {fmt.upper()}", f"Export {fmt.upper()}"))
             for fmt in ("csv", "xlsx")] if ok else []
    return render(request, user.who, "page.html", status=200 if ok else 422, title=Bi("支付", "Payments"),
                  active=PATH, notice="" if ok else Bi("请改正下面标出的查找条件", "Correct the search fields marked below"),
                  forms=[chosen.form.show(chosen.typed, chosen.reading.errors)], sections=[
                      {"title": Bi("支付（按发生时间，新的在前）", "Payments (newest first)"), "columns": COLUMNS,
                       "rows": rows, "links": links, "pager": paged}])


@router.post("/payments/search")
@page
def search(request: Request, data: dict = Depends(form_data),
           user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    """The filter form's values into the list's address (checked there, errors under the fields)."""
    chosen = {f.name: data.get(f.name, "")[:40] for f in FILTER.fields}
    return RedirectResponse(f"{PATH}?{urlencode({k: v for k, v in chosen.items() if v})}", status_code=303)


@router.get("/payments.{fmt}")
@page
def export(request: Request, fmt: str, session: Session = Depends(get_session),
           user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    if fmt not in ("csv", "xlsx"):
        return Response(status_code=404)
    chosen = read_filter(session, request.query_params, user.who)
    if not chosen.reading.ok:
        raise api_error(422, "bad_filter", "查找条件有误，请在支付页改正后再导出",
                        "The search has a wrong field; correct it on the payments page, then export")
    names = Names(session)
    rows = (_export_row(p, names) for p in session.scalars(chosen.query().limit(MAX_EXPORT_ROWS)))
    content = (csv_bytes(EXPORT_HEADER, rows) if fmt == "csv"
               else xlsx_bytes("payments", EXPORT_HEADER, rows, request_now(request)))
    return Response(content, media_type="text/csv; charset=utf-8" if fmt == "csv" else XLSX,
                    headers={"Content-Disposition": f'attachment; filename="payments.{fmt}"'})


# --- one payment ------------------------------------------------------------------------------

def _visible_payment(session: Session, who, payment_uuid: str) -> Payment:  # noqa: ANN001
    payment = session.scalar(select(Payment).where(Payment.payment_uuid == payment_uuid[:36]))
    if payment is None:
        raise api_error(404, "payment_not_found", "找不到这笔支付，请核对支付编号", "No such payment; check the payment id")
    ensure_visible(who, payment.merchant_id, "支付", "payment")
    return payment


def _ledger_rows(session: Session, posting_ids: list[int], zone: str) -> list[tuple]:
    found = session.execute(select(Posting, Entry, Account).join(Entry, Entry.posting_id == Posting.id)
                            .join(Account, Account.id == Entry.account_id)
                            .where(Posting.id.in_(posting_ids)).order_by(Posting.id, Entry.id)).all()
    return [(posting.ref, posting.kind, local_time(posting.created_at, zone, seconds=True), account.code,
             yuan(entry.amount_fen) if entry.side == "D" else "", yuan(entry.amount_fen) if entry.side == "C" else "")
            for posting, entry, account in found]


def _sync_rows(session: Session, payment: Payment, refunds: list[Refund], zone: str) -> list[tuple]:
    when = lambda t: local_time(t, zone, seconds=True)  # noqa: E731
    push = Bi("推送", "Push")
    how = (Bi(f"离线队列推送，终端序号 {payment.terminal_seq}", f"Pushed from the offline queue, seq {payment.terminal_seq}")
           if payment.offline else Bi("在线授权", "Authorised online"))
    rows = [(push, how, when(payment.occurred_at), when(payment.created_at))]
    rows += [(push if r.terminal_id else Bi("操作员", "Operator"),
              Bi(f"退款 {yuan(r.amount_fen)} 元：{r.reason}", f"Refund {yuan(r.amount_fen)} yuan: {r.reason}"),
              when(r.created_at), when(r.created_at)) for r in refunds]
    if payment.customer_id is not None:
        for at in [payment.created_at, *(r.created_at for r in refunds if r.status == "refunded")]:
            change = _balance_change_at(session, payment.customer_id, at)
            if change is not None:
                wallet = yuan(change.data.get("wallet_fen"))
                rows.append((Bi("拉取", "Pull"), Bi(f"余额变更 #{change.id}，个人账户 {wallet} 元",
                                                    f"Balance change #{change.id}, wallet {wallet} yuan"),
                             "", when(change.created_at)))
    return rows


def _balance_change_at(session: Session, customer_id: int, at) -> SyncChange | None:  # noqa: ANN001
    """The balance change terminals pull that a booking at `at` published (in the same
    transaction: the change nearest in time, within a second or two)."""
    near = session.scalars(select(SyncChange).where(
        SyncChange.kind == "balance", SyncChange.key == str(customer_id),
        SyncChange.created_at.between(at - timedelta(seconds=2), at + timedelta(seconds=2)))).all()
    return min(near, key=lambda c: abs((c.created_at - at).total_seconds()), default=None)


def payment_page(request: Request, session: Session, who, payment_uuid: str, *, status: int = 200,  # noqa: ANN001, ANN201
                 notice: object = "", data: dict | None = None, errors: dict | None = None):
    payment = _visible_payment(session, who, payment_uuid)
    names = Names(session)
    zone = names.zone(merchant_id=payment.merchant_id, site_id=payment.site_id)
    lines = list(session.scalars(select(PaymentLine).where(PaymentLine.payment_id == payment.id)
                                 .order_by(PaymentLine.position)))
    refunds = list(session.scalars(select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.id)))
    postings = [p for p in [payment.posting_id, *(r.posting_id for r in refunds)] if p is not None]
    left = payment.amount_fen - payment.refunded_fen
    programs = program_names(session) if any(ln.program_id for ln in lines) else {}
    forms = []
    if who.role in REFUNDERS and payment.status == "approved" and left > 0:
        form = replace(REFUND, action=f"{PATH}/{payment.payment_uuid}/refund",
                       title=Bi(f"退款（最多可退 {yuan(left)} 元）", f"Refund (at most {yuan(left)} yuan)"))
        forms.append(form.with_values(refund_id=str(uuid.uuid4()), amount=yuan(left)).show(data, errors))
    return render(request, who, "page.html", status=status, title=Bi(f"支付 {payment.payment_uuid}", "Payment"),
                  active=PATH, notice=notice, forms=forms, sections=[
                      {"title": Bi("支付", "Payment"), "columns": COLUMNS[:-1] + [Bi("原因", "Reason")],
                       "rows": [_cells(payment, names)[:-1] + [payment.reason or ""]]},
                      {"title": Bi("资金来源", "Where the money came from"),
                       "columns": [Bi("来源", "Source"), Bi("补贴项目", "Program"), yuan_label("金额", "Amount"),
                                   yuan_label("已退", "Refunded")],
                       "rows": [(SOURCES.get(ln.source, ln.source), programs.get(ln.program_id, ln.program_id or ""),
                                 yuan(ln.amount_fen), yuan(ln.refunded_fen)) for ln in lines]},
                      {"title": Bi("账务分录", "Ledger lines"),
                       "columns": [Bi("凭证", "Posting"), Bi("类型", "Kind"), Bi("记账时间", "Booked"),
                                   Bi("账户", "Account"), yuan_label("借", "Debit"), yuan_label("贷", "Credit")],
                       "rows": _ledger_rows(session, postings, zone)},
                      {"title": Bi("同步记录", "Sync history"),
                       "columns": [Bi("方向", "Direction"), Bi("内容", "What"), Bi("发生", "Happened"),
                                   Bi("入账", "Booked")],
                       "rows": _sync_rows(session, payment, refunds, zone)},
                      {"title": Bi("退款", "Refunds"),
                       "columns": [Bi("时间", "Time"), yuan_label("金额", "Amount"), Bi("结果", "Result"),
                                   Bi("原因", "Reason"), Bi("退款编号", "Refund id")],
                       "rows": [(local_time(r.created_at, zone, seconds=True), yuan(r.amount_fen), r.status,
                                 r.reason, r.refund_uuid) for r in refunds]}])


@router.get("/payments/{payment_uuid}")
@page
def payment(request: Request, payment_uuid: str, session: Session = Depends(get_session),
            user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    return payment_page(request, session, user.who, payment_uuid)


@router.post("/payments/{payment_uuid}/refund")
@page
def refund(request: Request, payment_uuid: str, data: dict = Depends(form_data),
           session: Session = Depends(get_session), user: PageUser = Depends(admin_roles(*REFUNDERS))):  # noqa: ANN201
    user.check_csrf(request, data.get("csrf"))
    who = user.who
    paid = _visible_payment(session, who, payment_uuid)
    reading = REFUND.read(data)
    again = lambda status, **kw: payment_page(request, session, who, paid.payment_uuid,  # noqa: E731
                                              status=status, data=data, **kw)
    try:
        key = uuid.UUID(reading.values.get("refund_id") or "")
    except ValueError:
        return again(422, notice=Bi("页面已过期，请刷新后重新填写", "The form expired; reload the page and fill it in again"))
    if not reading.ok:
        return again(422, errors=reading.errors)
    req = RefundRequest(refund_id=key, payment_id=uuid.UUID(paid.payment_uuid), amount_fen=reading.values["amount"],
                        reason=reading.values["reason"], occurred_at=request_now(request))
    try:
        done = book_refund(request, session, req, merchant_id=None if who.role == "operator" else who.merchant_id,
                           operator_id=who.operator_id)
    except ApiError as exc:
        session.rollback()
        return again(exc.status_code, notice=api_words(exc))
    result = done.result
    if result.status != "refunded":
        return again(409, errors={"amount": Bi(result.message_zh, result.message_en)})
    if done.duplicate:
        return payment_page(request, session, who, paid.payment_uuid, notice=Bi(
            "这张退款表单已提交过，未重复退款", "This refund form was sent before; nothing was refunded again"))
    return payment_page(request, session, who, paid.payment_uuid, notice=Bi(
        f"已退款 {yuan(result.amount_fen)} 元", f"Refunded {yuan(result.amount_fen)} yuan"))
