"""Subsidies on /admin: programs (create; listed with when their money lapses and whether the
program has expired), grant CSV uploads with each bad line's error (the rest is booked; the same
file twice books once), and clawback of a grant. The API's services; operators act, auditors read.
A clawback form names the grant and how much was already taken back when the page was shown, so a
second click of the same form is refused instead of taking the money back twice."""
from __future__ import annotations

import hashlib

from fastapi import APIRouter, Depends, File, Form as FormValue, Request, UploadFile
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.api.subsidies import ProgramIn
from backend.deps import get_session, request_now
from backend.errors import ApiError
from backend.models.customers import Customer
from backend.models.subsidies import Grant, GrantBatch, SubsidyProgram
from backend.services import subsidies as svc
from backend.services.customers import publish_balance
from backend.services.grant_import import import_grants
from backend.services.vault import vault_of
from backend.web.customer_pages import PATH as CUSTOMERS
from backend.web.display import local_time, yuan, yuan_label
from backend.web.forms import Field, Form, Link, api_words, form_data, model_errors
from backend.web.paging import paginate
from backend.web.render import BANK_READERS, page, render
from backend.web.session import PageUser, admin_roles
from backend.web.texts import Bi
from core.wire import MAX_AMOUNT_FEN

router = APIRouter(prefix="/admin", include_in_schema=False)
PATH = "/admin/subsidies"
MAX_UPLOAD = 5 * 1024 * 1024
KINDS = (("monthly", Bi("按月发放", "monthly grant")), ("daily", Bi("每日额度", "daily allowance")),
         ("meal", Bi("每餐额度", "meal allowance")))
EXPIRY = (("month_end", Bi("月底清零", "lapses at month end")), ("rollover", Bi("结转", "rolls over")),
          ("on_date", Bi("到期日失效", "lapses on a date")))
NEW_PROGRAM = Form(f"{PATH}/programs", Bi("新建补贴项目", "New subsidy program"), Bi("建立", "Create"), (
    Field("name", Bi("名称", "Name")), Field("funder", Bi("出资方", "Funder")),
    Field("kind", Bi("类型", "Kind"), "choice", options=KINDS),
    Field("expiry_policy", Bi("到期规则", "Expiry"), "choice", options=EXPIRY),
    Field("expires_on", Bi("失效日期（到期日失效时必填）", "Last valid day (for 'lapses on a date')"), "date",
          required=False),
    Field("per_meal_cap", yuan_label("每餐上限（可选）", "Per-meal cap (optional)"), "yuan", required=False, lo=1),
    Field("per_day_cap", yuan_label("每日上限（可选）", "Per-day cap (optional)"), "yuan", required=False, lo=1,
          hi=10 * MAX_AMOUNT_FEN)))
CLAWBACK = Form(f"{PATH}/clawback", Bi("追回补贴", "Claw back a grant"), Bi("追回", "Claw back"), (
    Field("grant", Bi("发放记录", "Grant"), "choice"),
    Field("amount", yuan_label("追回金额（空=全部）", "Amount (empty = all that is left)"), "yuan", required=False,
          lo=1, hi=100 * MAX_AMOUNT_FEN)), danger=True)
EXPIRY_WORDS = dict(EXPIRY)
KIND_WORDS = dict(KINDS)


def _expiry_state(program: SubsidyProgram, now) -> Bi:  # noqa: ANN001
    lapse = svc.lapse_at(program, None) if program.expiry_policy == "on_date" else None
    if program.status != "active":
        return Bi("已关闭", "closed")
    if lapse is not None and lapse <= now:
        return Bi(f"已过期（{program.expires_on}）", f"expired ({program.expires_on})")
    if lapse is not None:
        return Bi(f"有效至 {program.expires_on}", f"valid to {program.expires_on}")
    return Bi("有效", "active")


def _open_grants(session: Session) -> list[tuple[Grant, str]]:
    return list(session.execute(select(Grant, Customer.masked_name).join(Customer, Customer.id == Grant.customer_id)
                                .where(Grant.clawed_back_fen < Grant.amount_fen)
                                .order_by(Grant.id.desc()).limit(200)).all())


def subsidy_page(request: Request, session: Session, who, *, status: int = 200, notice: object = "",  # noqa: ANN001, ANN201
                 problems=None, posted: Form | None = None, data: dict | None = None,  # noqa: ANN001
                 errors: dict | None = None, notice_kind: str | None = None):
    now = request_now(request)
    programs = list(session.scalars(select(SubsidyProgram).order_by(SubsidyProgram.id)))
    batches = paginate(session, select(GrantBatch).order_by(GrantBatch.id.desc()), request)
    grants = _open_grants(session)
    names = {p.id: p.name for p in programs}
    forms = []
    if who.role == "operator":
        # The grant's value carries what was already clawed back when this page was shown.
        clawback = CLAWBACK.with_options("grant", [
            (f"{g.id}:{g.clawed_back_fen}", Bi(f"{g.id} · {name} · {names[g.program_id]} · 可追回 "
                                               f"{yuan(g.amount_fen - g.clawed_back_fen)} 元",
                                               f"{g.id} · {name} · {names[g.program_id]} · "
                                               f"{yuan(g.amount_fen - g.clawed_back_fen)} yuan open"))
            for g, name in grants])
        shown = [NEW_PROGRAM] + ([clawback] if grants else [])
        forms = [f.show(data, errors) if posted is not None and f.action == posted.action else f.show() for f in shown]
        if programs:
            forms.insert(1, {"action": f"{PATH}/grants", "upload": True,
                             "title": Bi("导入补贴发放CSV", "Import grants (CSV)"), "submit": Bi("上传", "Upload"),
                             "fields": [{"name": "program_id", "label": Bi("项目", "Program"),
                                         "options": [(p.id, f"{p.id} {p.name}") for p in programs]},
                                        {"name": "file", "type": "file", "required": True, "label": Bi(
                                            "CSV 文件（customer_id 或 id_number，amount_fen 或 amount_yuan）",
                                            "CSV file (customer_id or id_number, amount_fen or amount_yuan)")}]})
    return render(request, who, "page.html", status=status, title=Bi("补贴项目与发放", "Subsidy programs and grants"),
                  active=PATH, notice=notice, problems=problems or [],
                  notice_kind=notice_kind or ("error" if status >= 400 else "ok"),
                  problems_title=Bi("以下行未导入（其余已入账）", "The rows below were not imported (the rest were booked)"),
                  forms=forms, sections=[
                      {"title": Bi("补贴项目", "Programs"),
                       "columns": [Bi("编号", "ID"), Bi("名称", "Name"), Bi("出资方", "Funder"), Bi("类型", "Kind"),
                                   Bi("到期规则", "Expiry"), Bi("到期状态", "Expiry status")],
                       "rows": [(p.id, p.name, p.funder, KIND_WORDS.get(p.kind, p.kind),
                                 EXPIRY_WORDS.get(p.expiry_policy, p.expiry_policy), _expiry_state(p, now))
                                for p in programs]},
                      {"title": Bi("可追回的发放", "Grants that can be clawed back"),
                       "columns": [Bi("编号", "ID"), Bi("客户", "Customer"), Bi("项目", "Program"),
                                   yuan_label("金额", "Amount"), yuan_label("已追回", "Clawed back"), Bi("时间", "At")],
                       "rows": [(g.id, Link(f"{CUSTOMERS}/{g.customer_id}", f"{g.customer_id} {name}"), names[g.program_id],
                                 yuan(g.amount_fen), yuan(g.clawed_back_fen), local_time(g.created_at))
                                for g, name in grants[:50]]},
                      {"title": Bi("导入批次", "Grant imports"),
                       "columns": [Bi("批次", "Batch"), Bi("项目", "Program"), Bi("入账行数", "Rows booked"),
                                   yuan_label("金额", "Total"), Bi("错误行", "Bad rows"), Bi("时间", "At")],
                       "rows": [(b.batch_id, names[b.program_id], b.rows_booked, yuan(b.total_fen), len(b.errors or []),
                                 local_time(b.imported_at)) for b in batches.rows], "pager": batches}])


@router.get("/subsidies")
@page
def subsidies(request: Request, session: Session = Depends(get_session),
              user: PageUser = Depends(admin_roles(*BANK_READERS))):  # noqa: ANN201
    return subsidy_page(request, session, user.who)


@router.post("/subsidies/programs")
@page
def new_program(request: Request, data: dict = Depends(form_data), session: Session = Depends(get_session),
                user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    user.check_csrf(request, data.get("csrf"))
    reading = NEW_PROGRAM.read(data)
    again = lambda errors: subsidy_page(request, session, user.who, status=422, posted=NEW_PROGRAM,  # noqa: E731
                                        data=data, errors=errors)
    if not reading.ok:
        return again(reading.errors)
    v = reading.values
    try:     # the API's own body model: the same rules as POST /api/v1/subsidy-programs
        body = ProgramIn(name=v["name"], funder=v["funder"], kind=v["kind"], expiry_policy=v["expiry_policy"],
                         expires_on=v["expires_on"], per_meal_cap_fen=v["per_meal_cap"],
                         per_day_cap_fen=v["per_day_cap"])
    except ValidationError as exc:
        return again(model_errors(exc, {"per_meal_cap_fen": "per_meal_cap", "per_day_cap_fen": "per_day_cap"})[0])
    try:
        program = svc.create_program(session, **body.model_dump())
    except ApiError as exc:
        session.rollback()
        return again({"expires_on": api_words(exc)})
    session.commit()
    return subsidy_page(request, session, user.who, notice=Bi(f"已建立补贴项目 {program.id}（{program.name}）",
                                                               f"Program {program.id} ({program.name}) created"))


@router.post("/subsidies/clawback")
@page
def clawback(request: Request, data: dict = Depends(form_data), session: Session = Depends(get_session),
             user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    user.check_csrf(request, data.get("csrf"))
    grant_id, _, seen = (data.get("grant") or "")[:24].partition(":")
    # Locked and read fresh: a second click waits for the first, then sees what it took back.
    grant = (session.get(Grant, int(grant_id), with_for_update=True, populate_existing=True)
             if grant_id.isdigit() and len(grant_id) < 10 else None)
    form = CLAWBACK.with_options("grant", [(data.get("grant", ""), "")])
    reading = form.read(data)
    again = lambda status, errors: subsidy_page(request, session, user.who, status=status,  # noqa: E731
                                                posted=CLAWBACK, data=data, errors=errors)
    if grant is None:
        return again(422, {"grant": Bi("请选择一条发放记录", "Choose a grant")})
    if str(grant.clawed_back_fen) != seen:
        return again(409, {"grant": Bi("这条发放在页面显示后已被追回过，请核对后再操作",
                                       "This grant was clawed back since the page was shown; check it first")})
    if not reading.ok:
        return again(422, reading.errors)
    now = request_now(request)
    try:
        taken = svc.clawback(session, grant.id, reading.values["amount"], now)
        publish_balance(session, grant.customer_id, now)
    except ApiError as exc:
        session.rollback()
        return again(exc.status_code, {"amount": api_words(exc)})
    session.commit()
    return subsidy_page(request, session, user.who, notice=Bi(f"已从发放 {grant.id} 追回 {yuan(taken)} 元",
                                                               f"Clawed back {yuan(taken)} yuan of grant {grant.id}"))


@router.post("/subsidies/grants")
@page
def upload_grants(request: Request, program_id: str = FormValue(""), csrf: str = FormValue(""),
                  file: UploadFile | None = File(None), session: Session = Depends(get_session),
                  user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    who = user.who
    user.check_csrf(request, csrf)
    raw = file.file.read(MAX_UPLOAD + 1) if file is not None else b""
    program = session.get(SubsidyProgram, int(program_id)) if program_id.isdigit() and len(program_id) < 10 else None
    refuse = lambda zh, en: subsidy_page(request, session, who, notice=Bi(zh, en), notice_kind="error")  # noqa: E731
    if program is None:
        return refuse("项目不存在", "No such program")
    if len(raw) > MAX_UPLOAD:
        return refuse("文件过大（上限5MB），请分批导入。", "The file is over 5 MB; split it.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return refuse("文件须为UTF-8编码的CSV。", "The file must be CSV in UTF-8.")
    # The file's own hash is the batch id: uploading the same file twice books it once.
    batch_id = f"web-{program.id}-{hashlib.sha256(raw).hexdigest()[:40]}"
    report = import_grants(session, vault_of(request.app.state.settings), program, batch_id, text,
                           request_now(request))
    session.commit()
    if report.already_imported:
        return subsidy_page(request, session, who, problems=report.errors, notice=Bi(
            "这个文件已导入过，未重复入账。", "This file was imported before; nothing was booked again."))
    return subsidy_page(request, session, who, problems=report.errors, notice=Bi(
        f"已入账 {report.rows_booked} 行，共 {yuan(report.total_fen)} 元；{len(report.errors)} 行有误。",
        f"Booked {report.rows_booked} rows, {yuan(report.total_fen)} yuan; {len(report.errors)} bad rows."))
