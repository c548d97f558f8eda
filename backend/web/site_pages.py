"""One site on /admin: its lanes, its meal periods and prices (a canteen), its offline limits, and
for a car park a link to its tariff, members and blacklist (backend.web.parking_pages).

The API's body models check what is typed (backend.api.sites: LaneIn, MealPeriodsIn with its
overlap rule, OfflineLimitsIn) and its services save it and tell the site's terminals
(backend.services.sites). Operators and the merchant's admin add lanes and meal periods; the
offline limits are the bank's risk setting: operators only. Auditors read."""
from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session

from backend.api.params import MAX_ID
from backend.api.sites import LaneIn, MealPeriodsIn, OfflineLimitsIn
from backend.deps import get_session
from backend.errors import api_error
from backend.models.merchants import Site
from backend.services import sites as svc
from backend.web.display import Names, local_time, yuan, yuan_label
from backend.web.forms import Action, Field, Form, Link, form_data, model_errors, read_model, yuan_text
from backend.web.render import ANY_ROLE, page, render
from backend.web.session import NotAllowed, PageUser, admin_roles
from backend.web.texts import Bi
from core.wire import MAX_AMOUNT_FEN, MealPeriod, OfflineLimits

router = APIRouter(prefix="/admin", include_in_schema=False)
MANAGERS = ("operator", "merchant_admin")
DIRECTIONS = (("exit", Bi("出口", "exit")), ("entry", Bi("入口", "entry")), ("both", Bi("出入口", "entry and exit")))

NEW_LANE = Form("", Bi("新建通道", "New lane"), Bi("创建通道", "Create lane"), (
    Field("name", Bi("通道名称", "Lane name")),
    Field("direction", Bi("方向", "Direction"), "choice", options=DIRECTIONS, value="exit"),
), id="new-lane")
MEAL = Form("", Bi("添加或修改餐次（同一代码即修改）", "Add or change a meal period (same code = change it)"),
            Bi("保存餐次", "Save meal period"), (
    Field("code", Bi("代码（小写字母、数字，如 lunch）", "Code (lower-case letters and digits, e.g. lunch)"), max_len=32),
    Field("name_zh", Bi("中文名称", "Chinese name"), max_len=64),
    Field("name_en", Bi("英文名称", "English name"), max_len=64),
    Field("start", Bi("开始（时:分）", "Starts (HH:MM)"), "hhmm"),
    Field("end", Bi("结束（时:分，早于开始 = 跨午夜）", "Ends (HH:MM; before the start = past midnight)"), "hhmm"),
    Field("price_fen", yuan_label("价格（空 = 窗口输入金额）", "Price (empty = keyed in at the window)"), "yuan",
          required=False),
    Field("max_meals", Bi("每人每餐次份数（0 = 不限）", "Meals per diner per period (0 = no limit)"), "int", hi=20, value="1"),
), id="meal")
LIMITS = Form("", Bi("离线限额（银行风控，终端断网时使用）", "Offline limits (the bank's risk limits, used while a terminal is offline)"),
              Bi("保存限额", "Save limits"), (
    Field("per_payment_fen", yuan_label("单笔", "Per payment"), "yuan"),
    Field("per_customer_day_fen", yuan_label("每人每日", "Per diner per day"), "yuan", hi=10 * MAX_AMOUNT_FEN),
    Field("terminal_total_fen", yuan_label("每台终端未上传合计", "Outstanding per terminal"), "yuan", hi=100 * MAX_AMOUNT_FEN),
    Field("max_cache_age_min", Bi("缓存数据最长有效（分钟）", "Cached data good for (minutes)"), "int", hi=30 * 1440),
), id="limits")
NOT_SAVED = Bi("未保存，请按提示修改。", "Not saved: correct the fields marked below.")


def visible_site(session: Session, who, site_id: str) -> Site:  # noqa: ANN001
    """The site of a URL, or a 404 page (also for another merchant's site)."""
    site = session.get(Site, int(site_id)) if site_id.isdigit() and int(site_id[:10]) <= MAX_ID else None
    if site is None or not who.can_see(site.merchant_id):
        raise api_error(404, "not_found", "找不到该场所", "No such site")
    return site


def _site_page(request: Request, session: Session, who, site: Site, *, status: int = 200,  # noqa: ANN001
               notice: Bi | None = None, shown: dict | None = None):  # noqa: ANN202
    shown, base, names = shown or {}, f"/admin/sites/{site.id}", Names(session)
    manages, operator = who.role in MANAGERS, who.role == "operator"
    canteen = site.kind == "canteen"
    periods = svc.meal_periods_of(session, site).periods
    limits = svc.offline_limits_of(site)
    forms = []
    if manages:
        forms.append(shown.get("new-lane") or replace(NEW_LANE, action=f"{base}/lanes").show())
        if canteen:
            forms.append(shown.get("meal") or replace(MEAL, action=f"{base}/meal-periods").show())
    if operator:
        forms.append(shown.get("limits") or replace(LIMITS, action=f"{base}/offline-limits").with_values(
            per_payment_fen=yuan_text(limits.per_payment_fen), per_customer_day_fen=yuan_text(limits.per_customer_day_fen),
            terminal_total_fen=yuan_text(limits.terminal_total_fen),
            max_cache_age_min=limits.max_cache_age_s // 60).show())
    sections = [{"title": Bi("场所", "Site"), "id": "facts", "columns": [Bi("项目", "Item"), Bi("内容", "Value")], "rows": [
        (Bi("名称", "Name"), site.name), (Bi("商户", "Merchant"), Link(f"/admin/merchants/{site.merchant_id}",
                                                                     names.merchant(site.merchant_id))),
        (Bi("类型", "Kind"), Bi("食堂", "canteen") if canteen else Bi("停车场", "car park")),
        (Bi("时区", "Time zone"), site.timezone), (Bi("创建时间", "Created"), local_time(site.created_at, site.timezone)),
        *([] if canteen else [(Bi("收费", "Parking"), Link(f"{base}/parking", Bi("收费标准、会员、黑名单",
                                                                                "Tariff, members, blacklist")))]),
        (Bi("下一步", "Next"), Link("/admin/terminals#new-code", Bi("生成终端注册码", "Create an enrolment code")))]},
        {"title": Bi("通道", "Lanes"), "id": "lanes", "columns": [Bi("编号", "ID"), Bi("名称", "Name"), Bi("方向", "Direction")],
         "rows": [(lane.id, lane.name, dict(DIRECTIONS).get(lane.direction, lane.direction))
                  for lane in svc.lanes_of(session, site.id)],
         "empty": Bi("还没有通道。" + ("停车场的每个出入口都需要一个通道。" if not canteen else ""),
                     "No lanes yet." + (" Every gate of a car park needs one." if not canteen else ""))}]
    if canteen:
        sections.append({"title": Bi("餐次与价格", "Meal periods and prices"), "id": "meal-periods",
                         "columns": [Bi("代码", "Code"), Bi("名称", "Name"), Bi("时间（当地）", "Time (local)"),
                                     yuan_label("价格", "Price"), Bi("每人份数", "Per diner"), Bi("操作", "Actions")],
                         "rows": [(p.code, Bi(p.name_zh, p.name_en), f"{p.start}–{p.end}",
                                   yuan(p.price_fen) if p.price_fen is not None else Bi("窗口输入", "keyed in"),
                                   p.max_meals or Bi("不限", "no limit"),
                                   Action(f"{base}/meal-periods/remove", Bi("删除", "Remove"), {"code": p.code}, danger=True)
                                   if manages else "") for p in periods],
                         "empty": Bi("还没有餐次：终端在餐次之外不收款。", "No meal periods yet: terminals take no "
                                     "payments outside them.")})
    sections.append({"title": Bi("离线限额", "Offline limits"), "id": "offline-limits",
                     "columns": [yuan_label("单笔", "Per payment"), yuan_label("每人每日", "Per diner per day"),
                                 yuan_label("每台终端", "Per terminal"), Bi("缓存有效（分钟）", "Cache good for (minutes)")],
                     "rows": [(yuan(limits.per_payment_fen), yuan(limits.per_customer_day_fen),
                               yuan(limits.terminal_total_fen), limits.max_cache_age_s // 60)]})
    return render(request, who, "page.html", status=status, title=Bi(f"场所：{site.name}", f"Site: {site.name}"),
                  active="/admin/merchants", back=base, notice=notice, forms=forms, sections=sections)


@router.get("/sites/{site_id}")
@page
def site_page(request: Request, site_id: str, session: Session = Depends(get_session),
              user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    return _site_page(request, session, user.who, visible_site(session, user.who, site_id))


def acting_on_site(request: Request, session: Session, user: PageUser, data: dict, site_id: str, *roles: str) -> Site:
    user.check_csrf(request, data.get("csrf"))
    if user.who.role not in roles:
        raise NotAllowed
    return visible_site(session, user.who, site_id)


@router.post("/sites/{site_id}/lanes")
@page
def new_lane(request: Request, site_id: str, data: dict = Depends(form_data), session: Session = Depends(get_session),
             user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    site = acting_on_site(request, session, user, data, site_id, *MANAGERS)
    form = replace(NEW_LANE, action=f"/admin/sites/{site.id}/lanes")
    body, errors, error = read_model(form, data, LaneIn)
    if body is None:
        return _site_page(request, session, user.who, site, status=422, notice=NOT_SAVED,
                          shown={"new-lane": form.show(data, errors, error)})
    lane = svc.create_lane(session, site, name=body.name, direction=body.direction)
    session.commit()
    return _site_page(request, session, user.who, site, notice=Bi(f"通道「{lane.name}」已创建。", f"Lane {lane.name} created."))


def _save_periods(request: Request, session: Session, user: PageUser, site: Site, periods: list[dict],
                  data: dict, form: Form, done: Bi):  # noqa: ANN202
    try:
        checked = MealPeriodsIn.model_validate({"periods": periods})
    except ValidationError as exc:
        said = " ".join(str(e.get("msg")) for e in exc.errors())
        errors, error = model_errors(exc)
        if "overlap" in said:
            errors, error = {"start": Bi("与另一餐次的时间重叠，请调整开始或结束时间",
                                         "Overlaps another meal period: change the start or the end")}, None
        elif "same time" in said:
            errors, error = {"end": Bi("结束时间不能与开始时间相同", "The end must differ from the start")}, None
        elif not errors.keys() & {f.name for f in form.fields}:
            errors, error = {}, error or Bi("餐次无法保存", "The meal periods cannot be saved")
        return _site_page(request, session, user.who, site, status=422, notice=NOT_SAVED,
                          shown={"meal": form.show(data, errors, error)})
    svc.set_meal_periods(session, site, [MealPeriod(**p.model_dump()) for p in checked.periods])
    session.commit()
    return _site_page(request, session, user.who, site, notice=done)


@router.post("/sites/{site_id}/meal-periods")
@page
def save_meal_period(request: Request, site_id: str, data: dict = Depends(form_data),
                     session: Session = Depends(get_session),
                     user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    site = acting_on_site(request, session, user, data, site_id, *MANAGERS)
    form = replace(MEAL, action=f"/admin/sites/{site.id}/meal-periods")
    reading = form.read(data)
    if site.kind != "canteen" or not reading.ok:
        return _site_page(request, session, user.who, site, status=422, notice=NOT_SAVED,
                          shown={"meal": form.show(data, reading.errors, None if reading.errors else Bi(
                              "只有食堂有餐次", "Only a canteen has meal periods"))})
    new = reading.values
    kept = [p.model_dump() for p in svc.meal_periods_of(session, site).periods if p.code != new["code"]]
    periods = sorted([*kept, new], key=lambda p: p["start"])
    return _save_periods(request, session, user, site, periods, data, form, Bi(
        f"餐次「{new['name_zh']}」已保存，终端下次同步后生效。", f"Meal period {new['name_en']} saved; terminals "
        "take it at their next sync."))


@router.post("/sites/{site_id}/meal-periods/remove")
@page
def remove_meal_period(request: Request, site_id: str, data: dict = Depends(form_data),
                       session: Session = Depends(get_session),
                       user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    site = acting_on_site(request, session, user, data, site_id, *MANAGERS)
    code = (data.get("code") or "")[:32]
    periods = [p.model_dump() for p in svc.meal_periods_of(session, site).periods if p.code != code]
    form = replace(MEAL, action=f"/admin/sites/{site.id}/meal-periods")
    return _save_periods(request, session, user, site, periods, {}, form,
                         Bi(f"餐次 {code} 已删除。", f"Meal period {code} removed."))


@router.post("/sites/{site_id}/offline-limits")
@page
def save_offline_limits(request: Request, site_id: str, data: dict = Depends(form_data),
                        session: Session = Depends(get_session),
                        user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    site = acting_on_site(request, session, user, data, site_id, "operator")
    form = replace(LIMITS, action=f"/admin/sites/{site.id}/offline-limits")
    reading = form.read(data)
    errors, error = dict(reading.errors), None
    if reading.ok:
        values = {k: v for k, v in reading.values.items() if k != "max_cache_age_min"}
        values["max_cache_age_s"] = reading.values["max_cache_age_min"] * 60
        try:
            limits = OfflineLimitsIn.model_validate(values)
        except ValidationError as exc:
            errors, error = model_errors(exc, {"max_cache_age_s": "max_cache_age_min"})
            if not errors.keys() & {f.name for f in form.fields}:
                errors, error = {"per_payment_fen": Bi("单笔限额不能大于每人每日或每台终端限额",
                                                       "Per payment may not exceed per diner per day or per terminal")}, None
    if errors or error:
        return _site_page(request, session, user.who, site, status=422, notice=NOT_SAVED,
                          shown={"limits": form.show(data, errors, error)})
    svc.set_offline_limits(session, site, OfflineLimits(**limits.model_dump()))
    session.commit()
    return _site_page(request, session, user.who, site, notice=Bi("离线限额已保存，终端下次同步后生效。",
                                                                   "Offline limits saved; terminals take them at their next sync."))
