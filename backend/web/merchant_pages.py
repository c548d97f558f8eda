"""Merchants on /admin: the list, apply -> approve -> suspend (-> reinstate), and one merchant's
page with its settlement account (shown masked), fee parameters and sites.

The API's body models check what is typed (backend.api.merchants, backend.api.sites) and the
API's services do the work (backend.services.merchants, sites). Operators act on merchants; a
merchant admin sees only its own merchant and may add sites to it; auditors read."""
from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.api.merchants import (FeeTable, MerchantApplication, SettlementAccount, SuspendRequest, record_application,
                                   visible_merchant)
from backend.api.params import MAX_ID
from backend.api.sites import SiteIn
from backend.deps import get_session, request_now
from backend.errors import ApiError, api_error
from backend.models.merchants import FEE_METHODS, Merchant
from backend.services import merchants as svc
from backend.services import sites as site_svc
from backend.web.display import Names, local_time, mask_account, yuan, yuan_label
from backend.web.forms import Action, Field, Form, Link, api_words, form_data, model_errors, read_model
from backend.web.paging import paginate
from backend.web.render import ANY_ROLE, page, render
from backend.web.session import NotAllowed, PageUser, admin_roles
from backend.web.texts import Bi

router = APIRouter(prefix="/admin", include_in_schema=False)
PATH = "/admin/merchants"
KIND_WORDS = {"canteen": Bi("食堂", "canteen"), "parking": Bi("停车场", "parking")}
STATUS_WORDS = {"applied": Bi("待审核", "applied"), "approved": Bi("已通过", "approved"),
                "suspended": Bi("已暂停", "suspended")}
METHOD_WORDS = {"face": Bi("刷脸", "face"), "card": Bi("刷卡", "card"), "paycode": Bi("付款码", "pay code"),
                "plate": Bi("车牌", "plate"), "bank_transfer": Bi("银行转账", "bank transfer"),
                "wechat": Bi("微信", "WeChat"), "alipay": Bi("支付宝", "Alipay")}

APPLY = Form(PATH, Bi("商户入驻申请", "Merchant application"), Bi("提交申请", "Apply"), (
    Field("name", Bi("商户名称", "Merchant name"), max_len=200),
    Field("kind", Bi("类型", "Kind"), "choice", options=tuple(KIND_WORDS.items()), value="canteen"),
    Field("timezone", Bi("时区", "Time zone"), max_len=64, value="Asia/Shanghai"),
    Field("business_day_cutoff", Bi("日切时间", "Business day ends at"), "hhmm", value="00:00"),
    Field("account_no", Bi("结算账号（可稍后填）", "Settlement account (may come later)"), required=False, max_len=40),
    Field("bank_name", Bi("开户行", "Bank of the account"), required=False),
), id="apply")
ACCOUNT = Form("", Bi("结算账户", "Settlement account"), Bi("保存账户", "Save account"), (
    Field("account_no", Bi("结算账号（8到40位数字）", "Account number (8 to 40 digits)"), max_len=40),
    Field("bank_name", Bi("开户行", "Bank of the account")),
), id="account")
FEE = Form("", Bi("费率（按支付方式）", "Fee for one payment method"), Bi("保存费率", "Save fee"), (
    Field("method", Bi("支付方式", "Method"), "choice", options=tuple((m, METHOD_WORDS[m]) for m in FEE_METHODS)),
    Field("rate_bp", Bi("费率（万分之，60 = 0.6%）", "Rate (basis points, 60 = 0.6%)"), "int", hi=10_000),
    Field("min_fen", yuan_label("最低", "Minimum"), "yuan", value="0.00"),
    Field("max_fen", yuan_label("最高（空 = 不封顶）", "Maximum (empty = none)"), "yuan", required=False),
    Field("fee_free", Bi("免手续费", "Fee-free"), "checkbox", required=False),
), id="fee")
SUSPEND = Form("", Bi("暂停商户", "Suspend the merchant"), Bi("暂停", "Suspend"), (
    Field("reason", Bi("原因（商户可见）", "Reason (the merchant sees it)"), max_len=200),), danger=True, id="suspend")
NEW_SITE = Form("", Bi("新建场所", "New site"), Bi("创建场所", "Create site"), (
    Field("name", Bi("场所名称", "Site name"), max_len=200),
    Field("timezone", Bi("时区（空 = 同商户）", "Time zone (empty = the merchant's)"), required=False, max_len=64),
), id="new-site")


def _transitions(m: Merchant) -> list[Action]:
    base = f"{PATH}/{m.id}"
    if m.status == "applied":
        return [Action(f"{base}/approve", Bi("审核通过", "Approve"))]
    if m.status == "suspended":
        return [Action(f"{base}/reinstate", Bi("恢复", "Reinstate"))]
    return []


def _list_page(request: Request, session: Session, who, *, status: int = 200, notice: Bi | None = None,  # noqa: ANN001
               apply: dict | None = None):  # noqa: ANN202
    query = select(Merchant).order_by(Merchant.id)
    if who.role == "merchant_admin":
        query = query.where(Merchant.id == who.merchant_id)
    paged = paginate(session, query, request)
    operator = who.role == "operator"
    rows = [(m.id, Link(f"{PATH}/{m.id}", m.name), KIND_WORDS[m.kind], STATUS_WORDS[m.status], m.timezone,
             m.business_day_cutoff, f"{m.settlement_bank_name or ''} {mask_account(m.settlement_account_no)}".strip(),
             local_time(m.created_at, m.timezone), _transitions(m) if operator else "") for m in paged.rows]
    return render(request, who, "page.html", status=status, title=Bi("商户", "Merchants"), active=PATH,
                  notice=notice, forms=[apply or APPLY.show()] if operator else [], sections=[{
                      "title": Bi("商户", "Merchants"), "pager": paged, "rows": rows,
                      "columns": [Bi("编号", "ID"), Bi("名称", "Name"), Bi("类型", "Kind"), Bi("状态", "Status"),
                                  Bi("时区", "Time zone"), Bi("日切", "Cut-off"), Bi("结算账户", "Account"),
                                  Bi("申请时间", "Applied"), Bi("操作", "Actions")],
                      "empty": Bi("还没有商户：用上面的表单登记第一个商户。", "No merchants yet: record the first one above.")}])


@router.get("/merchants")
@page
def merchants(request: Request, session: Session = Depends(get_session),
              user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    return _list_page(request, session, user.who)


@router.post("/merchants")
@page
def apply(request: Request, data: dict = Depends(form_data), session: Session = Depends(get_session),
          user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    user.check_csrf(request, data.get("csrf"))
    reading = APPLY.read(data)
    errors, error = dict(reading.errors), None
    if reading.ok:
        v = reading.values
        if bool(v["account_no"]) != bool(v["bank_name"]):
            errors["account_no" if not v["account_no"] else "bank_name"] = Bi(
                "账号和开户行须一起填写（或都留空）", "Give the account and its bank together (or neither)")
        else:
            body = {"name": v["name"], "kind": v["kind"], "timezone": v["timezone"],
                    "business_day_cutoff": v["business_day_cutoff"]}
            if v["account_no"]:
                body["settlement_account"] = {"account_no": v["account_no"], "bank_name": v["bank_name"]}
            try:
                checked = MerchantApplication.model_validate(body)
            except ValidationError as exc:
                errors, error = model_errors(exc, {"settlement_account": "account_no"})
    if errors or error:
        return _list_page(request, session, user.who, status=422, apply=APPLY.show(data, errors, error),
                          notice=Bi("申请未保存，请按提示修改。", "Not saved: correct the fields marked below."))
    merchant = record_application(session, checked)
    session.commit()
    return _list_page(request, session, user.who, notice=Bi(f"已登记商户「{merchant.name}」（待审核）。",
                                                            f"Merchant {merchant.name} recorded (applied)."))


def _merchant_id(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text[:10]) <= MAX_ID:
        raise api_error(404, "not_found", "找不到该商户", "No such merchant")
    return int(text)


def _detail_page(request: Request, session: Session, who, merchant: Merchant, *, status: int = 200,  # noqa: ANN001
                 notice: Bi | None = None, shown: dict | None = None):  # noqa: ANN202
    shown, base = shown or {}, f"{PATH}/{merchant.id}"
    operator = who.role == "operator"
    fees = svc.fees_of(session, merchant.id)
    sites = site_svc.sites_of(session, merchant.id)
    forms = []
    if operator:
        forms.append(shown.get("account") or _at(ACCOUNT, base + "/account").show())
        forms.append(shown.get("fee") or _at(FEE, base + "/fees").show())
        if merchant.status == "approved":
            forms.append(shown.get("suspend") or _at(SUSPEND, base + "/suspend").show())
    if who.role in ("operator", "merchant_admin"):
        forms.append(shown.get("new-site") or _at(NEW_SITE, base + "/sites").show())
    names = Names(session)
    facts = [(Bi("名称", "Name"), merchant.name), (Bi("类型", "Kind"), KIND_WORDS[merchant.kind]),
             (Bi("状态", "Status"), STATUS_WORDS[merchant.status]), (Bi("状态原因", "Reason"), merchant.status_reason or ""),
             (Bi("时区", "Time zone"), merchant.timezone), (Bi("日切", "Cut-off"), merchant.business_day_cutoff),
             (Bi("结算账户", "Settlement account"),
              f"{merchant.settlement_bank_name or ''} {mask_account(merchant.settlement_account_no)}".strip()
              or Bi("未登记（审核通过前须登记）", "none yet (needed before approval)")),
             (Bi("审核通过", "Approved"), local_time(merchant.approved_at, merchant.timezone)),
             (Bi("操作", "Actions"), _transitions(merchant) if operator else "")]
    return render(request, who, "page.html", status=status, title=Bi(f"商户：{merchant.name}", f"Merchant: {merchant.name}"),
                  active=PATH, back=base, notice=notice, forms=forms, sections=[
                      {"title": Bi("商户资料", "Merchant"), "columns": [Bi("项目", "Item"), Bi("内容", "Value")],
                       "rows": facts, "id": "facts"},
                      {"title": Bi("费率", "Fee parameters"), "id": "fees",
                       "columns": [Bi("支付方式", "Method"), Bi("费率（万分之）", "Rate (bp)"), yuan_label("最低", "Minimum"),
                                   yuan_label("最高", "Maximum"), Bi("免费", "Fee-free")],
                       "rows": [(METHOD_WORDS.get(f.method, f.method), f.rate_bp, yuan(f.min_fen), yuan(f.max_fen),
                                 Bi("是", "yes") if f.fee_free else Bi("否", "no")) for f in fees],
                       "empty": Bi("未设费率：各支付方式不收手续费。", "No fees set: no method costs a fee.")},
                      {"title": Bi("场所", "Sites"), "id": "sites",
                       "columns": [Bi("名称", "Name"), Bi("类型", "Kind"), Bi("时区", "Time zone"), Bi("通道", "Lanes"),
                                   Bi("创建时间", "Created")],
                       "rows": [(Link(f"/admin/sites/{s.id}", s.name), s.kind, s.timezone,
                                 ", ".join(lane.name for lane in site_svc.lanes_of(session, s.id)),
                                 local_time(s.created_at, names.zone(site_id=s.id))) for s in sites],
                       "empty": Bi("还没有场所：用上面的表单创建。", "No sites yet: create one above.")}])


def _at(form: Form, action: str) -> Form:
    return replace(form, action=action)


@router.get("/merchants/{merchant_id}")
@page
def merchant(request: Request, merchant_id: str, session: Session = Depends(get_session),
             user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    return _detail_page(request, session, user.who, visible_merchant(session, user.who, _merchant_id(merchant_id)))


def _acting(request: Request, session: Session, user: PageUser, data: dict, merchant_id: str,
            *roles: str) -> Merchant:
    """The merchant a form acts on, after the CSRF check and the role check."""
    user.check_csrf(request, data.get("csrf"))
    if user.who.role not in roles:
        raise NotAllowed
    return visible_merchant(session, user.who, _merchant_id(merchant_id), for_update=True)


@router.post("/merchants/{merchant_id}/{action}")
@page
def merchant_action(request: Request, merchant_id: str, action: str, data: dict = Depends(form_data),
                    session: Session = Depends(get_session),
                    user: PageUser = Depends(admin_roles("operator", "merchant_admin"))):  # noqa: ANN201
    """approve | reinstate | suspend | account | fees (operators); sites (operators and the merchant's admin)."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise api_error(404, "not_found", "没有这个操作", "No such action")
    m = _acting(request, session, user, data, merchant_id, *(("operator", "merchant_admin") if action == "sites"
                                                            else ("operator",)))
    again = lambda key, shown: _detail_page(request, session, user.who, m, status=422, shown={key: shown},  # noqa: E731
                                            notice=Bi("未保存，请按提示修改。", "Not saved: correct the fields marked below."))
    try:
        return handler(request, session, user.who, m, data, again)
    except ApiError as exc:
        session.rollback()
        m = visible_merchant(session, user.who, m.id)
        return _detail_page(request, session, user.who, m, status=exc.status_code, notice=api_words(exc))


def _approve(request, session, who, m, data, again):  # noqa: ANN001, ANN202
    svc.approve(session, m, now=request_now(request))
    session.commit()
    return _detail_page(request, session, who, m, notice=Bi("商户已审核通过。", "The merchant is approved."))


def _reinstate(request, session, who, m, data, again):  # noqa: ANN001, ANN202
    svc.reinstate(session, m)
    session.commit()
    return _detail_page(request, session, who, m, notice=Bi("商户已恢复。", "The merchant is reinstated."))


def _suspend(request, session, who, m, data, again):  # noqa: ANN001, ANN202
    form = _at(SUSPEND, f"{PATH}/{m.id}/suspend")
    reading = form.read(data)
    if not reading.ok:
        return again("suspend", form.show(data, reading.errors))
    svc.suspend(session, m, SuspendRequest(reason=reading.values["reason"]).reason, now=request_now(request))
    session.commit()
    return _detail_page(request, session, who, m, notice=Bi("商户已暂停：其终端不再收款。",
                                                            "The merchant is suspended: its terminals take no payments."))


def _account(request, session, who, m, data, again):  # noqa: ANN001, ANN202
    form = _at(ACCOUNT, f"{PATH}/{m.id}/account")
    account, errors, error = read_model(form, data, SettlementAccount)
    if account is None:
        return again("account", form.show(data, errors, error))
    svc.set_settlement_account(session, m, account.account_no, account.bank_name)
    session.commit()
    return _detail_page(request, session, who, m, notice=Bi(
        f"结算账户已保存：{mask_account(account.account_no)}。", f"Settlement account saved: {mask_account(account.account_no)}."))


def _fees(request, session, who, m, data, again):  # noqa: ANN001, ANN202
    form = _at(FEE, f"{PATH}/{m.id}/fees")
    reading = form.read(data)
    errors, error = dict(reading.errors), None
    if reading.ok:
        v = dict(reading.values)
        if v["max_fen"] is None:
            v.pop("max_fen")
        rules = [{"method": f.method, "rate_bp": f.rate_bp, "min_fen": f.min_fen, "max_fen": f.max_fen,
                  "fee_free": f.fee_free} for f in svc.fees_of(session, m.id) if f.method != v["method"]]
        try:
            table = FeeTable.model_validate({"fees": [*rules, v]})
        except ValidationError as exc:
            errors, error = model_errors(exc)
            if error is None and not errors.keys() & {f.name for f in form.fields}:
                error, errors = Bi("最低不能高于最高", "The minimum must not exceed the maximum"), {}
    if errors or error:
        return again("fee", form.show(data, errors, error))
    svc.set_fees(session, m, [svc.FeeRule(**f.model_dump()) for f in table.fees])
    session.commit()
    return _detail_page(request, session, who, m, notice=Bi(f"{METHOD_WORDS[v['method']].zh}费率已保存。",
                                                            f"Fee for {METHOD_WORDS[v['method']].en} saved."))


def _new_site(request, session, who, m, data, again):  # noqa: ANN001, ANN202
    form = _at(NEW_SITE, f"{PATH}/{m.id}/sites")
    kind = "canteen" if m.kind == "canteen" else "car_park"
    body, errors, error = read_model(form, data, SiteIn, lambda values: {**values, "kind": kind})
    if body is None:
        return again("new-site", form.show(data, errors, error))
    site = site_svc.create_site(session, m, name=body.name, kind=body.kind, timezone=body.timezone)
    session.commit()
    return _detail_page(request, session, who, m, notice=Bi(
        f"场所「{site.name}」已创建。下一步：在场所页添加{'餐次' if site.kind == 'canteen' else '通道'}。",
        f"Site {site.name} created. Next: add its {'meal periods' if site.kind == 'canteen' else 'lanes'} on the site's page."))


ACTIONS = {"approve": _approve, "reinstate": _reinstate, "suspend": _suspend, "account": _account,
           "fees": _fees, "sites": _new_site}
