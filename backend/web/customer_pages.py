"""Customers on /admin: search by phone or ID number (keyed hash, in a POST body; masked results),
create, and one customer's page with wallet deposit and withdrawal (booked on the ledger, once
per form shown: the form carries its idempotency key, and two clicks racing book once), card signing by typing or swiping the
number (hashed here with the terminals' card key; the number is never stored nor shown again),
plate signing, and suspend / resume / revoke. The API's services and roles: operators act,
auditors read, merchant admins see no customers."""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import replace

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.deps import get_session, request_now
from backend.errors import ApiError
from backend.models.customers import Customer
from backend.models.signings import Signing
from backend.models.subsidies import SubsidyProgram
from backend.services import customers as svc
from backend.services import signings as signing_svc
from backend.services.commit import commit_once
from backend.services.vault import vault_of
from backend.web.coupon_list import customer_coupons
from backend.web.display import mask_plate, yuan, yuan_label
from backend.web.forms import Field, Form, Link, api_words, form_data
from backend.web.marketing_pages import opt_out_section
from backend.web.paging import paginate
from backend.web.render import BANK_READERS, page, render
from backend.web.session import PageUser, admin_roles
from backend.web.texts import Bi
from core.crypto import keyed_hash
from core.wire import MAX_AMOUNT_FEN

router = APIRouter(prefix="/admin", include_in_schema=False)
PATH = "/admin/customers"
_CARD_NUMBER = re.compile(r"[0-9A-Za-z]{4,64}")     # what the card readers hash: ASCII letters and digits
KINDS = {"face": Bi("刷脸", "face"), "card": Bi("刷卡", "card"), "plate": Bi("车牌", "plate")}
ACTIONS = (("suspend", Bi("暂停", "Suspend")), ("resume", Bi("恢复", "Resume")), ("revoke", Bi("解约", "Revoke")))
COLUMNS = [Bi("编号", "ID"), Bi("姓名", "Name"), Bi("手机", "Phone"), Bi("身份证", "ID number"),
           Bi("银行卡", "Bank card"), yuan_label("个人账户", "Wallet"), Bi("状态", "Status")]

SEARCH = Form(f"{PATH}/search", Bi("查找客户（按手机号或身份证号）", "Find a customer (by phone or ID number)"),
              Bi("查找", "Search"), (Field("phone", Bi("手机号", "Phone"), required=False, max_len=20),
                                     Field("id_number", Bi("身份证号", "ID number"), required=False, max_len=18)))
NEW = Form(PATH, Bi("新建客户", "New customer"), Bi("建立", "Create"), (
    Field("name", Bi("姓名", "Name"), max_len=64),
    Field("phone", Bi("手机号（可选）", "Phone (optional)"), required=False, max_len=20),
    Field("id_number", Bi("身份证号（可选）", "ID number (optional)"), required=False, max_len=18)))
_KEY = Field("key", Bi("", ""), "hidden", max_len=36)
_AMOUNT = Field("amount", yuan_label("金额", "Amount"), "yuan", lo=1, hi=100 * MAX_AMOUNT_FEN)   # the API's DepositIn
_LIMITS = (Field("per_payment", yuan_label("单笔限额", "Per payment"), "yuan", lo=1, hi=MAX_AMOUNT_FEN),
           Field("per_day", yuan_label("日限额", "Per day"), "yuan", lo=1, hi=100 * MAX_AMOUNT_FEN))
DEPOSIT = Form("deposit", Bi("存入个人账户", "Deposit into the wallet"), Bi("存入", "Deposit"), (_KEY, _AMOUNT))
WITHDRAW = Form("withdraw", Bi("从个人账户取出", "Withdraw from the wallet"), Bi("取出", "Withdraw"), (_KEY, _AMOUNT))
# The limits come first: a swipe reader types the number and then Enter, which sends the form.
CARD = Form("signings/card", Bi("刷卡签约（输入卡号或在读卡器上刷卡）", "Sign a card (type the number or swipe it)"),
            Bi("签约", "Sign"), (*_LIMITS, Field("card_number", Bi("卡号", "Card number"), max_len=80, hint=Bi(
                "先填限额，再输入或刷卡；只保存卡号的密钥散列", "Limits first, then type or swipe; only a keyed hash is kept"))))
PLATE = Form("signings/plate", Bi("车牌签约", "Sign a plate"), Bi("签约", "Sign"), (
    Field("plate", Bi("车牌号", "Plate"), max_len=16),
    Field("plate_colour", Bi("号牌颜色", "Plate colour"), "choice",
          options=(("blue", Bi("蓝", "blue")), ("yellow", Bi("黄", "yellow")), ("green", Bi("绿", "green")))),
    *_LIMITS))
STATUS = Form("signings/status", Bi("暂停、恢复或解约", "Suspend, resume or revoke a signing"), Bi("执行", "Apply"), (
    Field("signing_id", Bi("签约", "Signing"), "choice"), Field("action", Bi("操作", "Action"), "choice", options=ACTIONS),
    Field("reason", Bi("原因", "Reason"), max_len=200)), danger=True)


def program_names(session: Session) -> dict[int, str]:
    """Subsidy program names by id, for showing names instead of ids."""
    return dict(session.execute(select(SubsidyProgram.id, SubsidyProgram.name)).all())


def _masked_rows(session: Session, request: Request, people: list[Customer]) -> list[list]:
    vault, now = vault_of(request.app.state.settings), request_now(request)
    rows = []
    for c in people:
        view = svc.customer_view(session, vault, c, now)
        rows.append([Link(f"{PATH}/{c.id}", str(c.id)), view["masked_name"], view["phone"] or "",
                     view["id_number"] or "", view["bank_card"] or "", yuan(view["wallet_fen"]), c.status])
    return rows


def _list_page(request: Request, session: Session, who, *, status: int = 200, notice: object = "",  # noqa: ANN001
               found: list[Customer] | None = None, posted: Form | None = None, data: dict | None = None,
               errors: dict | None = None):  # noqa: ANN202
    paged = paginate(session, select(Customer).order_by(Customer.id.desc()), request)
    shown = [SEARCH] + ([NEW] if who.role == "operator" else [])
    forms = [f.show(data, errors) if f is posted else f.show() for f in shown]
    sections = []
    if found is not None:
        sections.append({"title": Bi(f"查找结果（{len(found)} 位，已脱敏）", f"Found ({len(found)}, masked)"),
                         "columns": COLUMNS, "rows": _masked_rows(session, request, found),
                         "empty": Bi("没有找到这位客户", "No customer found")})
    sections.append({"title": Bi("客户（个人信息已脱敏）", "Customers (personal data masked)"), "columns": COLUMNS,
                     "rows": _masked_rows(session, request, paged.rows), "pager": paged})
    return render(request, who, "page.html", status=status, title=Bi("客户与签约", "Customers and signings"),
                  active=PATH, notice=notice, forms=forms, sections=sections)


@router.get("/customers")
@page
def customers(request: Request, session: Session = Depends(get_session),
              user: PageUser = Depends(admin_roles(*BANK_READERS))):  # noqa: ANN201
    return _list_page(request, session, user.who)


@router.post("/customers/search")
@page
def search(request: Request, data: dict = Depends(form_data), session: Session = Depends(get_session),
           user: PageUser = Depends(admin_roles(*BANK_READERS))):  # noqa: ANN201
    """In a POST body: a phone or ID number in a URL lands in every proxy's access log."""
    user.check_csrf(request, data.get("csrf"))
    reading = SEARCH.read(data)
    again = lambda errors: _list_page(request, session, user.who, status=422, posted=SEARCH,  # noqa: E731
                                      data=data, errors=errors)
    if not reading.ok:
        return again(reading.errors)
    phone, id_number = reading.values["phone"], reading.values["id_number"]
    if not phone and not id_number:
        return again({"phone": Bi("请填写手机号或身份证号", "Type a phone number or an ID number")})
    try:
        found = svc.find_customers(session, vault_of(request.app.state.settings), id_number=id_number, phone=phone)
    except ApiError as exc:
        return again({"id_number" if exc.detail["code"] == "bad_id_number" else "phone": api_words(exc)})
    return _list_page(request, session, user.who, found=found, posted=SEARCH, data=data)


@router.post("/customers")
@page
def create(request: Request, data: dict = Depends(form_data), session: Session = Depends(get_session),
           user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    user.check_csrf(request, data.get("csrf"))
    reading = NEW.read(data)
    if reading.ok:
        try:
            customer = svc.create_customer(session, vault_of(request.app.state.settings), **reading.values)
        except ApiError as exc:
            session.rollback()
            field = {"bad_phone": "phone", "bad_id_number": "id_number", "customer_exists": "id_number"}
            reading.errors[field.get(exc.detail["code"], "name")] = api_words(exc)
        else:
            session.commit()
            return customer_page(request, session, user.who, customer.id, notice=Bi(
                f"已建立客户 {customer.id}（{customer.masked_name}）", f"Customer {customer.id} created"))
    return _list_page(request, session, user.who, status=422, posted=NEW, data=data, errors=reading.errors)


# --- one customer -----------------------------------------------------------------------------

def known_customer(session: Session, text: str) -> int:
    """The id of an existing customer from a URL part; a page saying so in words for anything else."""
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        raise svc.not_found("客户", "Customer", text[:20])
    return svc.get_customer(session, int(text)).id


def customer_page(request: Request, session: Session, who, customer_id: int, *, status: int = 200,  # noqa: ANN001, ANN201
                  notice: object = "", posted: Form | None = None, data: dict | None = None,
                  errors: dict | None = None):
    customer = svc.get_customer(session, customer_id)
    view = svc.customer_view(session, vault_of(request.app.state.settings), customer, request_now(request))
    signings = list(session.scalars(select(Signing).where(Signing.customer_id == customer_id).order_by(Signing.id)))
    programs = program_names(session)
    forms = []
    if who.role == "operator":
        live = [(str(s.id), Bi(f"{s.id} {KINDS[s.kind].zh} {s.status}", f"{s.id} {KINDS[s.kind].en} {s.status}"))
                for s in signings if s.status != "revoked"]
        for form in (DEPOSIT, WITHDRAW, CARD, PLATE) + ((STATUS.with_options("signing_id", live),) if live else ()):
            here = replace(form, action=f"{PATH}/{customer_id}/{form.action}").with_values(key=str(uuid.uuid4()))
            forms.append(here.show(data, errors) if form.action == getattr(posted, "action", None)
                         else here.show())
    return render(request, who, "page.html", status=status, title=Bi(f"客户 {customer_id}：{view['masked_name']}",
                                                                      f"Customer {customer_id}"),
                  active=PATH, notice=notice, forms=forms, sections=[
                      {"title": Bi("客户（已脱敏）", "Customer (masked)"), "columns": COLUMNS,
                       "rows": _masked_rows(session, request, [customer])},
                      {"title": Bi("补贴余额", "Subsidy balances"),
                       "columns": [Bi("项目", "Program"), yuan_label("余额", "Balance")],
                       "rows": [(programs.get(s["program_id"], s["program_id"]), yuan(s["balance_fen"]))
                                for s in view["subsidies"]]},
                      opt_out_section(session, customer_id, who),
                      {"id": "signings", "title": Bi("签约", "Signings"),
                       "columns": [Bi("编号", "ID"), Bi("方式", "Kind"), Bi("状态", "Status"),
                                   yuan_label("单笔限额", "Per payment"), yuan_label("日限额", "Per day"),
                                   Bi("车牌", "Plate"), Bi("原因", "Reason")],
                       "rows": [(s.id, KINDS.get(s.kind, s.kind), s.status, yuan(s.per_payment_limit_fen),
                                 yuan(s.per_day_limit_fen), mask_plate(s.plate), s.status_reason or "")
                                for s in signings]},
                      customer_coupons(session, request, customer_id, request_now(request))])


@router.get("/customers/{customer_id}")
@page
def customer(request: Request, customer_id: str, session: Session = Depends(get_session),
             user: PageUser = Depends(admin_roles(*BANK_READERS))):  # noqa: ANN201
    return customer_page(request, session, user.who, known_customer(session, customer_id))


def _act(request: Request, session: Session, user: PageUser, customer_id: str, data: dict, form: Form,
         do, check=None):  # noqa: ANN001, ANN202
    """Read `form`; `check(values)` may add field errors; `do(values)` calls the service and
    returns the notice. A refusal puts the form back with what was typed (a card number never)."""
    user.check_csrf(request, data.get("csrf"))
    cid = known_customer(session, customer_id)
    reading = form.read(data)
    if reading.ok and check is not None:
        reading.errors.update(check(reading.values))
    shown = {k: v for k, v in data.items() if k != "card_number"}
    again = lambda status, **kw: customer_page(request, session, user.who, cid, status=status,  # noqa: E731
                                               posted=form, data=shown, **kw)
    if not reading.ok:
        return again(422, errors=reading.errors)
    try:
        notice = do(cid, reading.values)
    except ApiError as exc:
        session.rollback()
        return again(exc.status_code, notice=api_words(exc))
    session.commit()
    return customer_page(request, session, user.who, cid, notice=notice)


def _key_problem(values: dict) -> dict:
    try:
        uuid.UUID(values["key"])
        return {}
    except ValueError:
        return {"amount": Bi("页面已过期，请重新填写", "The form expired; fill it in again")}


@router.post("/customers/{customer_id}/deposit")
@page
def deposit(request: Request, customer_id: str, data: dict = Depends(form_data),
            session: Session = Depends(get_session), user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    return _move_money(request, session, user, customer_id, data, DEPOSIT, svc.deposit, "已存入", "Deposited")


@router.post("/customers/{customer_id}/withdraw")
@page
def withdraw(request: Request, customer_id: str, data: dict = Depends(form_data),
             session: Session = Depends(get_session), user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    return _move_money(request, session, user, customer_id, data, WITHDRAW, svc.withdraw, "已取出", "Withdrew")


def _move_money(request: Request, session: Session, user: PageUser, customer_id: str, data: dict, form: Form,
                move: Callable, done_zh: str, done_en: str):  # noqa: ANN202
    """A deposit or a withdrawal (`move`) booked once per form (its key), said in words."""
    def do(cid: int, values: dict) -> Bi:
        _, new = commit_once(session, lambda: move(session, svc.get_customer(session, cid), values["key"],
                                                   values["amount"], request_now(request)))
        amount = yuan(values["amount"])
        return _booked(new, Bi(f"{done_zh} {amount} 元", f"{done_en} {amount} yuan"))
    return _act(request, session, user, customer_id, data, form, do, _key_problem)


def _booked(new: bool, done: Bi) -> Bi:
    return done if new else Bi("这张表单已提交过，未重复入账", "This form was sent before; nothing was booked again")


def _limits_problem(values: dict) -> dict:
    if values["per_day"] < values["per_payment"]:
        return {"per_day": Bi("日限额不能小于单笔限额", "The daily limit must be at least the per-payment one")}
    return {}


def _signed(signing: Signing) -> Bi:
    return Bi(f"签约成功：签约编号 {signing.id}，终端下次同步后生效",
              f"Signed: signing {signing.id}; terminals take it at their next sync")


@router.post("/customers/{customer_id}/signings/card")
@page
def sign_card(request: Request, customer_id: str, data: dict = Depends(form_data),
              session: Session = Depends(get_session), user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    def number_of(values: dict) -> str:
        return re.sub(r"[\s-]", "", values["card_number"])   # people type spaces; a swipe reader sends Enter

    def check(values: dict) -> dict:
        if not _CARD_NUMBER.fullmatch(number_of(values)):
            return {"card_number": Bi("卡号应为4到64位字母或数字", "A card number has 4 to 64 letters or digits")}
        return _limits_problem(values)

    def do(cid: int, values: dict) -> Bi:
        card_hash = keyed_hash(request.app.state.settings.keys["card"], number_of(values), "card")
        return _signed(signing_svc.sign_card(session, cid, card_hash=card_hash, merchant_ids=[],
                                             per_payment_limit_fen=values["per_payment"],
                                             per_day_limit_fen=values["per_day"], now=request_now(request)))
    return _act(request, session, user, customer_id, data, CARD, do, check)


@router.post("/customers/{customer_id}/signings/plate")
@page
def sign_plate(request: Request, customer_id: str, data: dict = Depends(form_data),
               session: Session = Depends(get_session), user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    def do(cid: int, values: dict) -> Bi:
        return _signed(signing_svc.sign_plate(session, cid, plate=values["plate"], plate_colour=values["plate_colour"],
                                              per_payment_limit_fen=values["per_payment"],
                                              per_day_limit_fen=values["per_day"], merchant_ids=[],
                                              now=request_now(request)))
    return _act(request, session, user, customer_id, data, PLATE, do, _limits_problem)


@router.post("/customers/{customer_id}/signings/status")
@page
def signing_status(request: Request, customer_id: str, data: dict = Depends(form_data),
                   session: Session = Depends(get_session), user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    cid = known_customer(session, customer_id)
    mine = [(str(s), "") for s in session.scalars(select(Signing.id).where(Signing.customer_id == cid))]

    def do(_: int, values: dict) -> Bi:
        signing = signing_svc.change_status(session, int(values["signing_id"]), values["action"], values["reason"],
                                            request_now(request))
        return Bi(f"签约 {signing.id} 现为 {signing.status}", f"Signing {signing.id} is now {signing.status}")
    return _act(request, session, user, customer_id, data, STATUS.with_options("signing_id", mine), do)
