"""Campaigns on /admin (issue 17, docs/MARKETING.md): the list (filters by status, kind and
funder; paged), the create form for every kind, and one campaign's page with its figures, its
status actions (activate, pause, resume, end after a confirmation), offline discounts on or off
(terminals' budget slices), coupons issued to customers or a group (customers who opted out of
marketing are passed over and counted), its coupons and the payments it discounted.

The rules are the API's: the form's values go through api.campaigns' body models (CampaignIn,
StatusIn, IssueIn, OfflineIn), its funder-by-role check, its offline switch (change_offline) and
services.campaign_admin, whose refusals come back under the field they concern. Roles as the
API: bank operators all campaigns; a merchant admin only those its merchant funds, and reaches
only customers who can pay at its merchant; auditors read."""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

# the API's body models and its funder-by-role rule: the page applies the same rules, not a copy
from backend.api.campaigns import MAX_BUDGET_FEN, CampaignIn, IssueIn, OfflineIn, StatusIn, change_offline, own_terms
from backend.auth import OperatorPrincipal
from backend.deps import get_session, request_now
from backend.errors import ApiError
from backend.models.campaigns import CAMPAIGN_STATUSES, Campaign, CampaignUse
from backend.models.customers import CustomerGroup
from backend.models.merchants import Merchant
from backend.models.payments import Payment
from backend.services import campaign_admin as svc
from backend.services import campaign_slices
from backend.web.coupon_list import KIND_WORDS, campaign_coupons
from backend.web.display import Names, local_time, yuan, yuan_label
from backend.web.forms import Action, Field, Form, Link, api_words, form_data, model_errors, yuan_text
from backend.web.paging import paginate
from backend.web.render import ANY_ROLE, page, render
from backend.web.session import PageUser, admin_roles
from backend.web.texts import Bi
from core.wire import MAX_AMOUNT_FEN

router = APIRouter(prefix="/admin", include_in_schema=False)
PATH = "/admin/campaigns"
MANAGERS = ("operator", "merchant_admin")
STATUS_WORDS = {"draft": Bi("草稿", "draft"), "active": Bi("进行中", "active"), "paused": Bi("已暂停", "paused"),
                "ended": Bi("已结束", "ended")}
MODE_WORDS = {"instant": Bi("立减（自动）", "instant"), "coupon": Bi("凭券", "with a coupon")}
SCENE_WORDS = {"canteen": Bi("食堂", "canteen"), "parking": Bi("停车", "parking")}
METHOD_WORDS = {"face": Bi("刷脸", "face"), "card": Bi("刷卡", "card"), "paycode": Bi("付款码", "pay code"),
                "plate": Bi("车牌", "plate")}
# which amount fields each kind uses (form names); the others are left out of the body
KIND_FIELDS = {"fixed": ("amount",), "random": ("min", "max"), "percent": ("percent_off", "cap"),
               "threshold": ("threshold", "amount")}
_TO_MODEL = {"amount": "amount_fen", "min": "min_fen", "max": "max_fen", "cap": "cap_fen",
             "threshold": "threshold_fen", "budget": "budget_fen", "percent_off": "percent_off"}
_TO_FORM = {model: form for form, model in _TO_MODEL.items()} | {
    "starts_at": "starts_on", "ends_at": "ends_on", "funder_kind": "funder", "funder_merchant_id": "funder",
    "customer_ids": "customer_ids", "group_id": "group", "expires_at": "expires_on", "issue_id": "customer_ids"}
_IDS = re.compile(r"[\s,，、;；]+")
_ANY = Bi("（空 = 不限）", " (empty = any)")


def _yuan_field(name: str, zh: str, en: str, hi: int = MAX_AMOUNT_FEN, required: bool = False) -> Field:
    return Field(name, yuan_label(zh, en), "yuan", required=required, lo=1, hi=hi)


NEW = Form(PATH, Bi("新建营销活动", "New campaign"), Bi("建立", "Create"), (
    Field("name", Bi("活动名称", "Name")),
    Field("kind", Bi("类型", "Kind"), "choice", options=tuple(KIND_WORDS.items()), value="fixed", hint=Bi(
        "按类型填写：固定立减填减额；随机立减填下限和上限；打折填折扣和封顶；满减填门槛和减额",
        "Fill in by kind: fixed - the reduction; random - its bounds; percentage - the percent off and the cap; "
        "threshold - the threshold and the reduction")),
    Field("mode", Bi("方式", "Mode"), "choice", options=tuple(MODE_WORDS.items()), value="instant"),
    Field("funder", Bi("出资方", "Funder"), "choice"),
    _yuan_field("amount", "减额", "Reduction"),
    _yuan_field("min", "随机下限", "Random from"), _yuan_field("max", "随机上限", "Random to"),
    Field("percent_off", Bi("减去的百分比（88折填12）", "Percent off (1-99)"), "int", required=False, hi=999_999),
    _yuan_field("cap", "打折封顶", "Percentage cap"),
    _yuan_field("threshold", "满减门槛", "Threshold"),
    _yuan_field("budget", "预算", "Budget", hi=MAX_BUDGET_FEN, required=True),
    Field("merchant_ids", Bi("适用商户编号", "Merchant ids") + _ANY, required=False, max_len=400,
          hint=Bi("用逗号或空格分隔，例如 3, 5", "Separated by commas or spaces, e.g. 3, 5")),
    Field("site_ids", Bi("适用场所编号", "Site ids") + _ANY, required=False, max_len=400),
    *(Field(f"scene_{s}", Bi(f"场景：{w.zh}", f"Scene: {w.en}"), "checkbox", required=False)
      for s, w in SCENE_WORDS.items()),
    *(Field(f"method_{m}", Bi(f"方式：{w.zh}", f"Method: {w.en}"), "checkbox", required=False)
      for m, w in METHOD_WORDS.items()),
    Field("starts_on", Bi("开始日期（含，可选）", "First day (optional)"), "date", required=False),
    Field("ends_on", Bi("结束日期（含，可选）", "Last day (optional)"), "date", required=False),
    Field("per_customer_limit", Bi("每人总次数（可选）", "Uses per customer (optional)"), "int",
          required=False, hi=999_999),
    Field("per_customer_daily_limit", Bi("每人每日次数（可选）", "Uses per customer a day (optional)"), "int",
          required=False, hi=999_999),
    Field("activate", Bi("建立后立即生效", "Activate at once"), "checkbox", required=False),
), id="new-campaign")
ISSUE = Form("coupons", Bi("发券", "Issue coupons"), Bi("发券", "Issue"), (
    Field("key", Bi("", ""), "hidden", max_len=36),
    Field("customer_ids", Bi("顾客编号（可选）", "Customer ids (optional)"), required=False, max_len=2000,
          hint=Bi("用逗号或空格分隔；也可选一个分组", "Separated by commas or spaces; or choose a group")),
    Field("group", Bi("分组（可选）", "Group (optional)"), "choice", required=False),
    Field("expires_on", Bi("有效期至（含当日）", "Valid through"), "date"),
), id="issue")
END = Form("end", Bi("结束活动", "End the campaign"), Bi("结束活动", "End"), (
    Field("confirm", Bi("我确认结束：结束后不能恢复，剩余预算退还出资方", "I confirm: an ended campaign cannot resume; "
                        "its budget left goes back to the funder"), "checkbox", required=False),
), danger=True, id="end")
OFFLINE = Form("offline", Bi("离线优惠", "Offline discounts"), Bi("保存", "Save"), (
    Field("on", Bi("终端离线时也给这个活动的优惠", "Terminals give it while offline too"), "checkbox", required=False,
          hint=Bi("每台终端预留一份预算（计入已用）；关闭后未用的部分退回预算",
                  "Each terminal holds a slice of the budget (counted as spent); turned off, the unused part "
                  "goes back to the budget")),
    Field("share", Bi("每台终端：预算的百分比（1-100）", "Per terminal: percent of the budget (1-100)"), "int",
          required=False, lo=1, hi=100),
    _yuan_field("cap", "每台终端最多", "Per terminal at most", hi=campaign_slices.MAX_SLICE_CAP_FEN),
), id="offline")
NOTICES = {"created": Bi("活动已建立", "Campaign created")}


# --- reading the create form ----------------------------------------------------------------

class _Problem(Exception):
    def __init__(self, errors: dict[str, Bi]):
        self.errors = errors


def _ids(values: dict, name: str, errors: dict) -> list:
    """A list of ids typed as "3, 5 8" (bad tokens are refused here; their range by the API's model)."""
    text = values.get(name) or ""
    tokens = [t for t in _IDS.split(text) if t]
    if any(not (t.isascii() and t.isdigit() and len(t) < 10) for t in tokens):
        errors[name] = Bi("请填写编号，用逗号或空格分隔", "Give ids separated by commas or spaces")
        return []
    return sorted({int(t) for t in tokens})


def _day_start(day: date | None, zone: str, days: int = 0) -> datetime | None:
    return None if day is None else datetime.combine(day + timedelta(days=days), time.min, ZoneInfo(zone))


def _campaign_body(values: dict, names: Names) -> dict:
    """The API's body (CampaignIn) from the form's values: only the kind's amounts, the window's
    days in the funder's time zone (a last day runs to its midnight)."""
    errors: dict[str, Bi] = {}
    funder = values["funder"]
    merchant_id = int(funder.partition(":")[2]) if funder.startswith("merchant:") else None
    zone = names.zone(merchant_id=merchant_id)
    body = {"name": values["name"], "kind": values["kind"], "mode": values["mode"],
            "funder_kind": "merchant" if merchant_id else "bank", "funder_merchant_id": merchant_id,
            "budget_fen": values["budget"],
            "merchant_ids": _ids(values, "merchant_ids", errors), "site_ids": _ids(values, "site_ids", errors),
            "scenes": [s for s in SCENE_WORDS if values[f"scene_{s}"]],
            "methods": [m for m in METHOD_WORDS if values[f"method_{m}"]],
            "starts_at": _day_start(values["starts_on"], zone), "ends_at": _day_start(values["ends_on"], zone, 1),
            "per_customer_limit": values["per_customer_limit"],
            "per_customer_daily_limit": values["per_customer_daily_limit"],
            "status": "active" if values["activate"] else "draft"}
    for name in KIND_FIELDS[values["kind"]]:
        body[_TO_MODEL[name]] = values[name]
    if errors:
        raise _Problem(errors)
    return body


def _terms_field(kind: str, values: dict, problem: str) -> str:
    """The form field a terms refusal (services.campaign_admin, core.campaigns) belongs under."""
    if "window" in problem:
        return "ends_on"
    wanted = KIND_FIELDS.get(kind, ("amount",))
    return next((name for name in wanted if values.get(name) is None), wanted[-1])


def _create(session: Session, who: OperatorPrincipal, values: dict, names: Names) -> Campaign:
    body = _campaign_body(values, names)
    try:
        model = CampaignIn.model_validate(body)
    except ValidationError as exc:
        errors, error = model_errors(exc, _TO_FORM)
        raise _Problem(errors | ({"name": error} if error else {})) from exc
    try:
        fields = own_terms(model, who)
    except ApiError as exc:
        elsewhere = who.role == "merchant_admin" and any(m != who.merchant_id for m in model.merchant_ids)
        raise _Problem({"merchant_ids" if elsewhere else "funder": api_words(exc)}) from exc
    try:
        return svc.create_campaign(session, fields, who.operator_id)
    except ApiError as exc:
        raise _Problem({_terms_field(values["kind"], values, exc.detail["message_en"]): api_words(exc)}) from exc


# --- showing --------------------------------------------------------------------------------

def _terms(c: Campaign | dict) -> Bi:
    get = c.get if isinstance(c, dict) else lambda k: getattr(c, k)
    kind = get("kind")
    if kind == "fixed":
        return Bi(f"减 {yuan(get('amount_fen'))} 元", f"{yuan(get('amount_fen'))} yuan off")
    if kind == "random":
        bounds = f"{yuan(get('min_fen'))}–{yuan(get('max_fen'))}"
        return Bi(f"随机减 {bounds} 元", f"{bounds} yuan off at random")
    if kind == "percent":
        return Bi(f"减 {get('percent_off')}%，最多 {yuan(get('cap_fen'))} 元",
                  f"{get('percent_off')}% off, at most {yuan(get('cap_fen'))} yuan")
    return Bi(f"满 {yuan(get('threshold_fen'))} 减 {yuan(get('amount_fen'))} 元",
              f"{yuan(get('amount_fen'))} yuan off from {yuan(get('threshold_fen'))}")


def _funder(c: Campaign, names: Names) -> object:
    return Bi("银行", "bank") if c.funder_kind == "bank" else f"{c.funder_merchant_id} {names.merchant(c.funder_merchant_id)}"


def _window(c: Campaign, zone: str) -> str:
    if c.starts_at is None and c.ends_at is None:
        return "—"
    return f"{local_time(c.starts_at, zone) or '…'} – {local_time(c.ends_at, zone) or '…'}"


def _zone(c: Campaign, names: Names) -> str:
    return names.zone(merchant_id=c.funder_merchant_id)


def _funder_options(session: Session, who: OperatorPrincipal) -> list[tuple[str, object]]:
    query = select(Merchant).where(Merchant.status == "approved").order_by(Merchant.id)
    if who.role == "merchant_admin":
        query = select(Merchant).where(Merchant.id == who.merchant_id)
    merchants = [(f"merchant:{m.id}", Bi(f"商户 {m.id} {m.name}", f"merchant {m.id} {m.name}"))
                 for m in session.scalars(query)]
    return merchants if who.role == "merchant_admin" else [("bank", Bi("银行", "bank"))] + merchants


def _filters(request: Request) -> dict[str, str]:
    """The list's filters from the query string; anything not in a list is no filter."""
    q = request.query_params
    wanted = {"status": CAMPAIGN_STATUSES, "kind": tuple(KIND_WORDS), "funder": ("bank", "merchant")}
    return {name: q.get(name, "") for name, allowed in wanted.items() if q.get(name, "") in allowed}


def list_page(request: Request, session: Session, who: OperatorPrincipal, *, status: int = 200,
              data: dict | None = None, errors: dict | None = None):  # noqa: ANN201
    chosen = _filters(request)
    query = select(Campaign).order_by(Campaign.id.desc())
    if who.role == "merchant_admin":
        query = query.where(Campaign.funder_merchant_id == who.merchant_id)
    for name in ("status", "kind"):
        if name in chosen:
            query = query.where(getattr(Campaign, name) == chosen[name])
    if "funder" in chosen:
        query = query.where(Campaign.funder_kind == chosen["funder"])
    paged = paginate(session, query, request)
    names = Names(session)
    rows = [(Link(f"{PATH}/{c.id}", str(c.id)), Link(f"{PATH}/{c.id}", c.name), STATUS_WORDS[c.status],
             KIND_WORDS[c.kind], _terms(c), MODE_WORDS[c.mode], _funder(c, names), _window(c, _zone(c, names)),
             yuan(c.budget_fen), yuan(c.spent_fen), yuan(c.budget_fen - c.spent_fen)) for c in paged.rows]
    forms = []
    if who.role in MANAGERS:
        form = NEW.with_options("funder", _funder_options(session, who))
        forms = [form.show(data, errors)]
    filters = {"status": [("", Bi("全部", "all"))] + list(STATUS_WORDS.items()),
               "kind": [("", Bi("全部", "all"))] + list(KIND_WORDS.items()),
               "funder": [("", Bi("全部", "all")), ("bank", Bi("银行", "bank")), ("merchant", Bi("商户", "merchant"))]}
    return render(request, who, "campaigns.html", status=status, title=Bi("营销活动", "Campaigns"), active=PATH,
                  forms=forms, filters=filters, chosen=chosen, sections=[{
                      "id": "campaigns", "title": Bi("营销活动", "Campaigns"), "rows": rows, "pager": paged,
                      "columns": [Bi("编号", "ID"), Bi("名称", "Name"), Bi("状态", "Status"), Bi("类型", "Kind"),
                                  Bi("优惠", "Offer"), Bi("方式", "Mode"), Bi("出资方", "Funder"),
                                  Bi("时间", "Window"), yuan_label("预算", "Budget"), yuan_label("已用", "Spent"),
                                  yuan_label("剩余", "Left")],
                      "empty": Bi("没有营销活动", "No campaigns")}])


def _visible(session: Session, who: OperatorPrincipal, text: str) -> Campaign:
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        return svc.get_campaign(session, 0, who.can_see)          # answers "no such campaign"
    return svc.get_campaign(session, int(text), who.can_see)


def _customer_cells(session: Session, who: OperatorPrincipal):  # noqa: ANN202
    """Bank readers: a link to each holder's record. A merchant admin: the ids of holders who can
    pay at its merchant only (the others stay hidden, as the API answers them as unknown)."""
    def cells(ids: set[int]) -> dict[int, object]:
        if who.role == "merchant_admin":
            return {cid: str(cid) for cid in svc.payable_at(session, ids, who.merchant_id)} if ids else {}
        return {cid: Link(f"/admin/customers/{cid}", str(cid)) for cid in ids}
    return cells


def _slices(session: Session, c: Campaign) -> str:
    """What the terminals hold of the budget for offline discounts (services.campaign_slices)."""
    open_ = [piece for piece in campaign_slices.slices_of(session, c.id) if piece.status == "open"]
    if not open_:
        return "—"
    granted = sum(piece.granted_fen for piece in open_)
    return f"{yuan(granted)} / {yuan(granted - sum(piece.used_fen for piece in open_))}"


def _actions(c: Campaign, base: str) -> list[Action]:
    moves = {"draft": [("active", Bi("启用", "Activate"))], "active": [("paused", Bi("暂停", "Pause"))],
             "paused": [("active", Bi("恢复", "Resume"))]}
    return [Action(f"{base}/status", label, {"status": target}) for target, label in moves.get(c.status, [])]


def campaign_page(request: Request, session: Session, who: OperatorPrincipal, campaign: Campaign, *,
                  status: int = 200, notice: object = "", posted: Form | None = None, data: dict | None = None,
                  errors: dict | None = None):  # noqa: ANN201
    now, names = request_now(request), Names(session)
    view, zone, base = svc.campaign_view(session, campaign), _zone(campaign, names), f"{PATH}/{campaign.id}"
    forms = []
    if who.role in MANAGERS:
        shown = []
        if campaign.mode == "coupon" and campaign.status in ("draft", "active"):
            groups = [(str(g.id), f"{g.id} {g.name}") for g in session.scalars(select(CustomerGroup)
                                                                                .order_by(CustomerGroup.id))]
            shown.append(ISSUE.with_options("group", [("", Bi("（不选）", "(none)"))] + groups)
                         .with_values(key=str(uuid.uuid4())))
        if campaign.mode == "instant" and campaign.status != "ended":
            sizing = campaign_slices.offline_sizing(session, campaign.id)
            shown.append(OFFLINE.with_values(on=sizing is not None, share=sizing.share_pct if sizing else None,
                                             cap=yuan_text(sizing.cap_fen) if sizing else None))
        if campaign.status != "ended":
            shown.append(END)
        forms = [(f.show(data, errors) if posted is not None and f.id == posted.id else f.show()) | {
            "action": f"{base}/{f.action}"} for f in shown]
    coupons = view["coupons"]
    uses = paginate(session, select(CampaignUse, Payment.payment_uuid).join(Payment, Payment.id == CampaignUse.payment_id)
                    .where(CampaignUse.campaign_id == campaign.id).order_by(CampaignUse.id.desc()),
                    request, param="uses_page")
    where = [(Bi("适用商户", "Merchants"), ", ".join(f"{m} {names.merchant(m)}" for m in campaign.merchant_ids) or "—"),
             (Bi("适用场所", "Sites"), ", ".join(f"{s} {names.site(s)}" for s in campaign.site_ids) or "—"),
             (Bi("场景", "Scenes"), [SCENE_WORDS.get(s, s) for s in campaign.scenes] or "—"),
             (Bi("支付方式", "Methods"), [METHOD_WORDS.get(m, m) for m in campaign.methods] or "—"),
             (Bi("时间", "Window"), _window(campaign, zone)),
             (Bi("每人总次数", "Uses per customer"), campaign.per_customer_limit or "—"),
             (Bi("每人每日次数", "Uses per customer a day"), campaign.per_customer_daily_limit or "—"),
             (yuan_label("终端离线额度（已计入已用）：已预留 / 未用", "Terminals' offline slices (counted as spent): "
                                                            "reserved / unused"), _slices(session, campaign))]
    figures = [(STATUS_WORDS[campaign.status], KIND_WORDS[campaign.kind], _terms(campaign), MODE_WORDS[campaign.mode],
                _funder(campaign, names), yuan(view["budget_fen"]), yuan(view["spent_fen"]),
                yuan(view["budget_left_fen"]), view["uses"], yuan(view["discount_cost_fen"]),
                f"{coupons['issued'] + coupons['restored']} / {coupons['used']} / {coupons['expired']}",
                _actions(campaign, base) if who.role in MANAGERS else "")]
    title = Bi(f"营销活动 {campaign.id}：{campaign.name}", f"Campaign {campaign.id}: {campaign.name}")
    return render(request, who, "campaign.html", status=status, title=title,
                  active=PATH, back=base, notice=notice, forms=forms, sections=[
                      {"id": "figures", "title": Bi("概况", "Figures"), "rows": figures,
                       "columns": [Bi("状态", "Status"), Bi("类型", "Kind"), Bi("优惠", "Offer"), Bi("方式", "Mode"),
                                   Bi("出资方", "Funder"), yuan_label("预算", "Budget"), yuan_label("已用", "Spent"),
                                   yuan_label("剩余", "Left"), Bi("使用次数", "Uses"),
                                   yuan_label("优惠成本", "Discount cost"),
                                   Bi("券：可用/已用/过期", "Coupons: open/used/expired"), Bi("操作", "Actions")]},
                      {"id": "where", "title": Bi("适用范围与限制", "Where, when and limits"), "rows": where,
                       "columns": [Bi("项目", "Item"), Bi("设置", "Setting")]},
                      {"id": "uses", "title": Bi("优惠过的支付", "Discounted payments"), "pager": uses,
                       "columns": [Bi("支付编号", "Payment"), Bi("营业日", "Business day"), yuan_label("原价", "Price"),
                                   yuan_label("优惠", "Discount"), yuan_label("已退回活动", "Returned"),
                                   Bi("状态", "Status"), Bi("时间", "At")],
                       "rows": [(Link(f"/admin/payments/{p}", p), u.business_date, yuan(u.price_fen),
                                 yuan(u.discount_fen), yuan(u.returned_fen),
                                 Bi("已退款", "refunded") if u.status == "returned" else Bi("有效", "applied"),
                                 local_time(u.created_at, zone)) for u, p in uses.rows],
                       "empty": Bi("还没有支付用到这个活动", "No payment used it yet")},
                      campaign_coupons(session, request, campaign, now, zone, _customer_cells(session, who))])


# --- routes ---------------------------------------------------------------------------------

@router.get("/campaigns")
@page
def campaigns(request: Request, session: Session = Depends(get_session),
              user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    return list_page(request, session, user.who)


@router.post("/campaigns")
@page
def create(request: Request, data: dict = Depends(form_data), session: Session = Depends(get_session),
           user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    user.check_csrf(request, data.get("csrf"))
    form = NEW.with_options("funder", _funder_options(session, user.who))
    reading = form.read(data)
    try:
        if not reading.ok:
            raise _Problem(dict(reading.errors))
        campaign = _create(session, user.who, reading.values, Names(session))
    except _Problem as problem:
        session.rollback()
        return list_page(request, session, user.who, status=422, data=data, errors=problem.errors)
    session.commit()
    return RedirectResponse(f"{PATH}/{campaign.id}?{urlencode({'done': 'created'})}", status_code=303)


@router.get("/campaigns/{campaign_id}")
@page
def campaign(request: Request, campaign_id: str, session: Session = Depends(get_session),
             user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    found = _visible(session, user.who, campaign_id)
    return campaign_page(request, session, user.who, found, notice=NOTICES.get(request.query_params.get("done", "")))


def _locked(session: Session, who: OperatorPrincipal, text: str) -> Campaign:
    """The campaign read fresh under a row lock: two clicks of one button act one after the other."""
    found = _visible(session, who, text)
    return session.get(Campaign, found.id, with_for_update=True, populate_existing=True)


@router.post("/campaigns/{campaign_id}/status")
@page
def set_status(request: Request, campaign_id: str, data: dict = Depends(form_data),
               session: Session = Depends(get_session), user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    user.check_csrf(request, data.get("csrf"))
    found = _locked(session, user.who, campaign_id)
    try:
        body = StatusIn.model_validate({"status": (data.get("status") or "")[:16]})
    except ValidationError:
        return campaign_page(request, session, user.who, found, status=422,
                             notice=Bi("未知的活动状态", "Unknown campaign status"))
    if body.status == "ended":
        return _end(request, session, user.who, found, data)
    return _move(request, session, user.who, found, body.status)


@router.post("/campaigns/{campaign_id}/end")
@page
def end(request: Request, campaign_id: str, data: dict = Depends(form_data),
        session: Session = Depends(get_session), user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    user.check_csrf(request, data.get("csrf"))
    return _end(request, session, user.who, _locked(session, user.who, campaign_id), data)


def _end(request: Request, session: Session, who: OperatorPrincipal, found: Campaign, data: dict):  # noqa: ANN202
    if not END.read(data).values["confirm"]:
        return campaign_page(request, session, who, found, status=422, posted=END, data=data, errors={
            "confirm": Bi("请勾选确认后再结束活动", "Tick the confirmation to end the campaign")})
    return _move(request, session, who, found, "ended")


def _move(request: Request, session: Session, who: OperatorPrincipal, found: Campaign, target: str):  # noqa: ANN202
    words = STATUS_WORDS[target]
    if found.status == target:       # a second click of the same button
        session.rollback()
        return campaign_page(request, session, who, found, notice=Bi(f"活动已是{words.zh}状态", f"Already {words.en}"))
    try:
        svc.set_status(session, found, target)
    except ApiError as exc:
        session.rollback()
        return campaign_page(request, session, who, found, status=exc.status_code, notice=api_words(exc))
    session.commit()
    return campaign_page(request, session, who, found, notice=Bi(f"活动现为{words.zh}", f"The campaign is now {words.en}"))


_ISSUE_FIELDS = {"bad_coupon_recipients": "customer_ids", "customer_not_found": "customer_ids",
                 "coupon_expiry_past": "expires_on"}


@router.post("/campaigns/{campaign_id}/coupons")
@page
def issue(request: Request, campaign_id: str, data: dict = Depends(form_data),
          session: Session = Depends(get_session), user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    """Issue one coupon to each customer listed and each active member of the group. The form
    carries its issue id (made when it is shown): a double click issues nobody twice."""
    user.check_csrf(request, data.get("csrf"))
    who, found = user.who, _visible(session, user.who, campaign_id)
    groups = [(str(g), "") for g in session.scalars(select(CustomerGroup.id))]
    form = ISSUE.with_options("group", [("", "")] + groups)
    reading = form.read(data)
    values, errors = reading.values, dict(reading.errors)
    again = lambda status, errs=None, notice="": campaign_page(  # noqa: E731
        request, session, who, found, status=status, posted=ISSUE, data=data, errors=errs, notice=notice)
    ids = _ids(values, "customer_ids", errors) if reading.ok else []
    if errors:
        return again(422, errors)
    try:
        uuid.UUID(values["key"])
    except ValueError:
        return again(422, {"customer_ids": Bi("页面已过期，请重新填写", "The form expired; fill it in again")})
    zone = _zone(found, Names(session))
    try:
        body = IssueIn.model_validate({"issue_id": f"web-{uuid.UUID(values['key']).hex}", "customer_ids": ids,
                                       "group_id": int(values["group"]) if values["group"] else None,
                                       "expires_at": _day_start(values["expires_on"], zone, 1)})
    except ValidationError as exc:
        return again(422, model_errors(exc, _TO_FORM)[0])
    scope = who.merchant_id if who.role == "merchant_admin" else None
    try:
        issued = svc.issue_coupons(session, found, body.issue_id, body.customer_ids, body.group_id, body.expires_at,
                                   request_now(request), merchant_scope=scope)
    except ApiError as exc:
        session.rollback()
        field = _ISSUE_FIELDS.get(exc.detail["code"])
        return again(exc.status_code, {field: api_words(exc)}) if field else again(exc.status_code,
                                                                                    notice=api_words(exc))
    session.commit()
    count = len(issued.coupon_ids)
    notice = Bi(f"已发券 {count} 张（同一表单重复提交不会重复发放）",
                f"{count} coupons issued (the same form twice issues once)")
    if issued.opted_out:
        notice = Bi(f"{notice.zh}；{issued.opted_out} 位顾客已退出营销，未发券",
                    f"{notice.en}; {issued.opted_out} customers opted out of marketing and got none")
    return campaign_page(request, session, who, found, notice=notice)


@router.post("/campaigns/{campaign_id}/offline")
@page
def offline(request: Request, campaign_id: str, data: dict = Depends(form_data),
            session: Session = Depends(get_session), user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    """Offline discounts on (with the slice's size) or off, through the API's change_offline."""
    user.check_csrf(request, data.get("csrf"))
    who, found = user.who, _visible(session, user.who, campaign_id)
    reading = OFFLINE.read(data)
    values, errors = reading.values, dict(reading.errors)
    body = None
    if reading.ok and values["on"]:
        errors |= {name: Bi("请填写这一项", "This field is required") for name in ("share", "cap") if values[name] is None}
        if not errors:
            try:
                body = OfflineIn.model_validate({"share_pct": values["share"], "cap_fen": values["cap"]})
            except ValidationError as exc:
                errors = model_errors(exc, {"share_pct": "share", "cap_fen": "cap"})[0]
    if errors:
        return campaign_page(request, session, who, found, status=422, posted=OFFLINE, data=data, errors=errors)
    try:
        done = change_offline(session, found.id, body, who, request_now(request))
    except ApiError as exc:
        session.rollback()
        return campaign_page(request, session, who, found, status=exc.status_code, posted=OFFLINE, data=data,
                             notice=api_words(exc))
    session.refresh(found)
    if body is None:
        notice = Bi(f"离线优惠已关闭，{yuan(done['returned_fen'])} 元退回预算",
                    f"Offline discounts off; {yuan(done['returned_fen'])} yuan back in the budget")
    else:
        notice = Bi(f"离线优惠已开启：每台终端预算的 {body.share_pct}%，最多 {yuan(body.cap_fen)} 元",
                    f"Offline discounts on: {body.share_pct}% of the budget per terminal, "
                    f"at most {yuan(body.cap_fen)} yuan")
    return campaign_page(request, session, who, found, notice=notice)

