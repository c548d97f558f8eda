"""The admin web page, /admin: login, merchants and fees, terminals and enrolment codes,
customers and signings (masked), subsidy programs and grant imports. Settlement, reconciliation
and reports pages are in backend.web.money_pages. Same roles as the API; a merchant admin sees
only its own merchant."""
from __future__ import annotations

import hashlib

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.deps import get_session, request_now
from backend.models.customers import Customer
from backend.models.merchants import Merchant, MerchantFee, Site
from backend.models.signings import Signing
from backend.models.subsidies import GrantBatch, SubsidyProgram
from backend.models.terminals import EnrolmentCode, Terminal
from backend.services.grant_import import import_grants
from backend.services.terminals import create_enrolment_code
from backend.services.vault import vault_of
from backend.web import login_throttle, money_pages, signing_desk, texts
from backend.web.render import ANY_ROLE, BANK_READERS, HERE, fen, page, render
from backend.web.session import (ADMIN_SESSION_S, TOKEN_COOKIE, NotAllowed, PageUser, admin_roles, check_csrf,
                                 new_session, operator_for_session, operator_for_token, revoke_session,
                                 set_cookie, to_login)

org_pages = APIRouter(prefix="/admin", include_in_schema=False)
router = APIRouter(include_in_schema=False)     # what app._routers() includes: both page routers
MAX_UPLOAD = 5 * 1024 * 1024


@org_pages.get("/static/admin.css")
def stylesheet() -> FileResponse:
    return FileResponse(HERE / "static" / "admin.css", media_type="text/css")


@org_pages.get("")
def home() -> RedirectResponse:
    return RedirectResponse("/admin/settlement", status_code=303)


@org_pages.get("/login")
def login_form(request: Request):  # noqa: ANN201
    return render(request, None, "login.html", title_zh="登录", title_en="Log in")


@org_pages.post("/login")
def login(request: Request, token: str = Form(""), csrf: str = Form(""), session: Session = Depends(get_session)):  # noqa: ANN201
    try:
        check_csrf(request, csrf)
    except Exception:  # noqa: BLE001 - any mismatch: show the form again with words
        return render(request, None, "login.html", status=400, title_zh="登录", title_en="Log in",
                      notice="页面已过期，请重新输入令牌。The page expired; enter the token again.")
    try:
        attempt = login_throttle.begin(session, login_throttle.client_of(request), request_now(request))
    except login_throttle.TooManyFailures as exc:
        minutes = -(-exc.retry_after_s // 60)
        response = render(request, None, "login.html", status=429, title_zh="登录", title_en="Log in",
                          notice=f"登录失败次数过多，请 {minutes} 分钟后再试。"
                                 f"Too many failed logins; try again in {minutes} min.")
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    who = operator_for_token(request, session, token.strip())
    if who is None:
        return render(request, None, "login.html", status=401, title_zh="登录", title_en="Log in",
                      notice="令牌无效或已停用，请向管理员申请新令牌。The token is not valid or was deactivated.")
    login_throttle.succeeded(session, attempt)
    response = RedirectResponse("/admin/settlement", status_code=303)
    set_cookie(response, request, TOKEN_COOKIE, new_session(request, session, who), max_age=ADMIN_SESSION_S)
    return response


@org_pages.post("/logout")
def logout(request: Request, csrf: str = Form(""), session: Session = Depends(get_session)):  # noqa: ANN201
    """End the session on the server (every copy of the cookie), then forget the cookie."""
    cookie = request.cookies.get(TOKEN_COOKIE)
    who = operator_for_session(request, session, cookie)
    if who is not None:
        try:
            check_csrf(request, csrf)
        except NotAllowed:
            return render(request, who, "page.html", status=403, title_zh="退出", title_en="Log out",
                          notice="页面已过期，请刷新后再退出。The page expired; reload it and log out again.")
        revoke_session(request, session, cookie)
    response = to_login()
    response.delete_cookie(TOKEN_COOKIE, path="/admin")
    return response


@org_pages.get("/merchants")
@page
def merchants(request: Request, session: Session = Depends(get_session),
        user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    who = user.who
    query = select(Merchant).order_by(Merchant.id)
    if who.role == "merchant_admin":
        query = query.where(Merchant.id == who.merchant_id)
    shown = list(session.scalars(query))
    fees = session.scalars(select(MerchantFee).where(MerchantFee.merchant_id.in_([m.id for m in shown]))
                           .order_by(MerchantFee.merchant_id, MerchantFee.method))
    return render(request, who, "page.html", title_zh="商户与费率", title_en="Merchants and fees", active="/admin/merchants",
                  sections=[
                      {"title": "商户 Merchants", "columns": ["编号 ID", "名称 Name", "类型 Kind", "状态 Status",
                                                            "时区 Time zone", "日切 Cut-off", "结算账户 Account"],
                       "rows": [(m.id, m.name, m.kind, m.status, m.timezone, m.business_day_cutoff,
                                 f"{m.settlement_bank_name or ''} {_mask_account(m.settlement_account_no)}") for m in shown]},
                      {"title": "费率 Fee parameters", "columns": ["商户 Merchant", "方式 Method", "费率 bp",
                                                                  "最低 Min", "最高 Max", "免费 Fee-free"],
                       "rows": [(f.merchant_id, f.method, f.rate_bp, fen(f.min_fen), fen(f.max_fen),
                                 "是 yes" if f.fee_free else "否 no") for f in fees]}])


def _mask_account(number: str | None) -> str:
    if not number:
        return ""
    return number[:4] + "*" * max(len(number) - 8, 0) + number[-4:] if len(number) > 8 else "****"


@org_pages.get("/terminals")
@page
def terminals(request: Request, session: Session = Depends(get_session),
        user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    return _terminals_page(request, session, user.who)


def _terminals_page(request: Request, session: Session, who, notice: str = ""):  # noqa: ANN001, ANN201
    mine = (lambda q, col: q.where(col == who.merchant_id)) if who.role == "merchant_admin" else (lambda q, col: q)
    shown = session.scalars(mine(select(Terminal), Terminal.merchant_id).order_by(Terminal.id))
    codes = session.scalars(mine(select(EnrolmentCode), EnrolmentCode.merchant_id)
                            .order_by(EnrolmentCode.id.desc()).limit(50))
    sites = list(session.scalars(mine(select(Site), Site.merchant_id).order_by(Site.id)))
    forms = []
    if who.role in ("operator", "merchant_admin") and sites:
        forms.append({"action": "/admin/terminals/enrolment-codes", "title": "新建注册码 New enrolment code",
                      "submit": "生成 Create", "fields": [
                          {"name": "site_id", "label": "场所 Site", "options": [(s.id, f"{s.id} {s.name}") for s in sites]},
                          {"name": "name", "label": "终端名称 Terminal name", "required": True}]})
    return render(request, who, "page.html", title_zh="终端与注册码", title_en="Terminals and enrolment codes",
                  active="/admin/terminals", notice=notice, forms=forms, sections=[
                      {"title": "终端 Terminals", "columns": ["编号 ID", "名称 Name", "商户 Merchant", "场所 Site",
                                                            "场景 Scene", "状态 Status", "最后在线 Last seen"],
                       "rows": [(t.id, t.name, t.merchant_id, t.site_id, t.scene, t.status,
                                 t.last_seen_at.isoformat(timespec="seconds") if t.last_seen_at else "") for t in shown]},
                      {"title": "注册码（只显示一次，不保存明文）Enrolment codes (shown once; only a hash is kept)",
                       "columns": ["编号 ID", "商户 Merchant", "场所 Site", "终端名称 Name", "有效期至 Expires",
                                   "已使用 Used"],
                       "rows": [(c.id, c.merchant_id, c.site_id, c.terminal_name, c.expires_at.isoformat(timespec="minutes"),
                                 f"终端 {c.terminal_id}" if c.used_at else "未用 unused") for c in codes]}])


@org_pages.post("/terminals/enrolment-codes")
@page
def new_enrolment_code(request: Request, site_id: str = Form(""), name: str = Form(""),
                       csrf: str = Form(""), session: Session = Depends(get_session),
        user: PageUser = Depends(admin_roles("operator", "merchant_admin"))):  # noqa: ANN201
    who = user.who
    user.check_csrf(request, csrf)
    site = session.get(Site, int(site_id)) if site_id.isdigit() and len(site_id) < 10 else None
    if site is None or not who.can_see(site.merchant_id) or not name.strip() or len(name) > 100:
        return _terminals_page(request, session, who, notice="请选择您的场所并填写终端名称。Pick one of your sites and name the terminal.")
    new = create_enrolment_code(session, request.app.state.settings.keys["hash"], site=site, lane_id=None,
                                name=name.strip(), created_by=who.operator_id, now=request_now(request))
    session.commit()
    return _terminals_page(request, session, who,
                           notice=f"注册码（只显示这一次）Enrolment code (shown only now): {new.code}")


@org_pages.get("/customers")
@page
def customers(request: Request, session: Session = Depends(get_session),
        user: PageUser = Depends(admin_roles(*BANK_READERS))):  # noqa: ANN201
    who = user.who
    people = list(session.scalars(select(Customer).order_by(Customer.id.desc()).limit(200)))
    signings = session.scalars(select(Signing).where(Signing.customer_id.in_([c.id for c in people]))
                               .order_by(Signing.customer_id, Signing.id))
    return render(request, who, "page.html", title_zh="客户与签约", title_en="Customers and signings",
                  active="/admin/customers", sections=[
                      {"title": "客户（个人信息已脱敏）Customers (personal data masked)",
                       "columns": ["编号 ID", "姓名 Name", "银行卡 Bank card", "状态 Status"],
                       "rows": [(c.id, c.masked_name, c.bank_card_masked or "", c.status) for c in people]},
                      {"title": "签约 Signings", "columns": ["编号 ID", "客户 Customer", "方式 Kind", "状态 Status",
                                                           "单笔限额 Per payment", "日限额 Per day", "车牌 Plate"],
                       "rows": [(s.id, s.customer_id, s.kind, s.status, fen(s.per_payment_limit_fen),
                                 fen(s.per_day_limit_fen), _mask_plate(s.plate)) for s in signings]}])


def _mask_plate(plate: str | None) -> str:
    return "" if not plate else plate[:2] + "*" * max(len(plate) - 4, 0) + plate[-2:]


def _subsidy_page(request: Request, session: Session, who, notice: str = "", problems=None):  # noqa: ANN001, ANN201
    programs = list(session.scalars(select(SubsidyProgram).order_by(SubsidyProgram.id)))
    batches = session.scalars(select(GrantBatch).order_by(GrantBatch.id.desc()).limit(50))
    forms = []
    if who.role == "operator" and programs:
        forms.append({"action": "/admin/subsidies/grants", "title": "导入补贴发放CSV Import grants (CSV)", "upload": True,
                      "submit": "上传 Upload", "fields": [
                          {"name": "program_id", "label": "项目 Program", "options": [(p.id, f"{p.id} {p.name}") for p in programs]},
                          {"name": "file", "label": "CSV 文件 file (customer_id|id_number, amount_fen|amount_yuan)",
                           "type": "file", "required": True}]})
    return render(request, who, "page.html", title_zh="补贴项目与发放", title_en="Subsidy programs and grants",
                  active="/admin/subsidies", notice=notice, problems=problems or [],
                  problems_title="以下行未导入（其余已入账）The rows below were not imported (the rest were booked)",
                  forms=forms, sections=[
                      {"title": "补贴项目 Programs", "columns": ["编号 ID", "名称 Name", "出资方 Funder", "类型 Kind",
                                                              "到期 Expiry", "状态 Status"],
                       "rows": [(p.id, p.name, p.funder, p.kind, p.expiry_policy, p.status) for p in programs]},
                      {"title": "导入批次 Grant imports", "columns": ["批次 Batch", "项目 Program", "入账行数 Rows booked",
                                                                  "金额 Total", "错误行 Bad rows", "时间 At"],
                       "rows": [(b.batch_id, b.program_id, b.rows_booked, fen(b.total_fen), len(b.errors or []),
                                 b.imported_at.isoformat(timespec="seconds")) for b in batches]}])


@org_pages.get("/subsidies")
@page
def subsidies(request: Request, session: Session = Depends(get_session),
        user: PageUser = Depends(admin_roles(*BANK_READERS))):  # noqa: ANN201
    return _subsidy_page(request, session, user.who)


@org_pages.post("/subsidies/grants")
@page
def upload_grants(request: Request, program_id: str = Form(""), csrf: str = Form(""), file: UploadFile | None = File(None),
                  session: Session = Depends(get_session),
        user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    who = user.who
    user.check_csrf(request, csrf)
    raw = file.file.read(MAX_UPLOAD + 1) if file is not None else b""
    program = session.get(SubsidyProgram, int(program_id)) if program_id.isdigit() and len(program_id) < 10 else None
    if program is None:
        return _subsidy_page(request, session, who, notice="项目不存在 No such program")
    if len(raw) > MAX_UPLOAD:
        return _subsidy_page(request, session, who, notice="文件过大（上限5MB），请分批导入。The file is over 5 MB; split it.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _subsidy_page(request, session, who, notice="文件须为UTF-8编码的CSV。The file must be CSV in UTF-8.")
    # The file's own hash is the batch id: uploading the same file twice books it once.
    batch_id = f"web-{program.id}-{hashlib.sha256(raw).hexdigest()[:40]}"
    report = import_grants(session, vault_of(request.app.state.settings), program, batch_id, text,
                           request_now(request))
    session.commit()
    if report.already_imported:
        return _subsidy_page(request, session, who, problems=report.errors,
                             notice="这个文件已导入过，未重复入账。This file was imported before; nothing was booked again.")
    return _subsidy_page(request, session, who, problems=report.errors,
                         notice=f"已入账 {report.rows_booked} 行，共 {fen(report.total_fen)}；{len(report.errors)} 行有误。"
                                f" Booked {report.rows_booked} rows, {fen(report.total_fen)}; {len(report.errors)} bad rows.")


router.include_router(org_pages)
router.include_router(money_pages.router)
router.include_router(signing_desk.router)
router.include_router(texts.router)
