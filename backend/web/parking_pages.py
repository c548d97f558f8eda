"""A car park's tariff, member passes and blacklist on /admin (/admin/sites/{id}/parking).

The tariff form edits the default tariff's day rates, free minutes and daily cap, the fee for a
car with no entry record and the monthly pass price; whatever else the rules hold (night rates,
tariffs by vehicle type or plate colour, other passes) is kept as it is. Plates are checked and
written the way the API writes them (core.plates.normalise_plate); holders' names are stored
sealed and shown masked. Values go through the API's body models (backend.api.parking) and its
services (backend.services.parking_rules), which tell the lanes. Operators and the merchant's
admin act; auditors read."""
from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.api.parking import BlacklistIn, MemberIn, RulesIn
from backend.deps import get_session, request_now
from backend.errors import api_error
from backend.models.merchants import Site
from backend.models.parking import ParkingBlacklist, ParkingMember, ParkingRules
from backend.services import parking_rules as svc
from backend.web.display import local_time, yuan, yuan_label
from backend.web.forms import Action, Field, Form, Reading, form_data, model_errors, yuan_text
from backend.web.paging import paginate
from backend.web.render import ANY_ROLE, page, render
from backend.web.session import PageUser, admin_roles
from backend.web.site_pages import MANAGERS, NOT_SAVED, acting_on_site, visible_site
from backend.web.texts import Bi
from core.crypto import FieldCipher
from core.plates import PlateError, normalise_plate
from core.tariff import SiteTariffs, Tariff

router = APIRouter(prefix="/admin", include_in_schema=False)
PLANS = (("monthly", Bi("月卡", "monthly")), ("quarterly", Bi("季卡", "quarterly")), ("yearly", Bi("年卡", "yearly")))
MEMBER_STATUS = (("active", Bi("有效", "active")), ("suspended", Bi("暂停", "suspended")))
FEE_CAP = 1_000_000

TARIFF = Form("", Bi("收费标准", "Tariff"), Bi("保存收费标准", "Save tariff"), (
    Field("free_minutes", Bi("免费时长（分钟）", "Free stay (minutes)"), "int", hi=1440, value="15"),
    Field("first_period_minutes", Bi("首段时长（分钟）", "First period (minutes)"), "int", hi=1440, value="60"),
    Field("first_period_fen", yuan_label("首段价格", "First period price"), "yuan", hi=FEE_CAP, value="5.00"),
    Field("unit_minutes", Bi("之后每段（分钟）", "Each later period (minutes)"), "int", lo=1, hi=1440, value="60"),
    Field("unit_fen", yuan_label("之后每段价格", "Later period price"), "yuan", hi=FEE_CAP, value="2.00"),
    Field("daily_cap_fen", yuan_label("每日封顶（空 = 不封顶）", "Daily cap (empty = none)"), "yuan", hi=FEE_CAP,
          required=False),
    Field("no_entry_fee_fen", yuan_label("无入场记录收费", "Fee with no entry record"), "yuan", hi=FEE_CAP, value="20.00"),
    Field("monthly_fen", yuan_label("月卡价格（空 = 不售）", "Monthly pass price (empty = not sold)"), "yuan", hi=FEE_CAP,
          required=False),
), id="tariff")
MEMBER = Form("", Bi("登记或修改会员（月卡等）", "Record or change a member pass"), Bi("保存会员", "Save member"), (
    Field("plate", Bi("车牌", "Plate"), max_len=24),
    Field("plan", Bi("套餐", "Plan"), "choice", options=PLANS, value="monthly"),
    Field("valid_from", Bi("开始日期", "Valid from"), "date"),
    Field("valid_to", Bi("结束日期", "Valid to"), "date"),
    Field("status", Bi("状态", "Status"), "choice", options=MEMBER_STATUS, value="active"),
    Field("holder_name", Bi("车主姓名（加密保存，脱敏显示）", "Holder's name (sealed, shown masked)"), required=False, max_len=40),
), id="member")
BLACKLIST = Form("", Bi("加入黑名单", "Add to the blacklist"), Bi("加入黑名单", "Blacklist"), (
    Field("plate", Bi("车牌", "Plate"), max_len=24),
    Field("reason", Bi("原因", "Reason"), max_len=200),
), danger=True, id="blacklist")


def _car_park(session: Session, who, site_id: str) -> Site:  # noqa: ANN001
    site = visible_site(session, who, site_id)
    if site.kind != "car_park":
        raise api_error(404, "site_not_found", "该场所不是停车场", "This site is not a car park")
    return site


def _tariffs(rules: ParkingRules | None, site: Site) -> SiteTariffs:
    return SiteTariffs.model_validate(rules.tariffs) if rules else SiteTariffs(default=Tariff(timezone=site.timezone))


def _tariff_form(rules: ParkingRules | None, site: Site, base: str) -> Form:
    form = replace(TARIFF, action=f"{base}/tariff")
    if rules is None:
        return form
    t = _tariffs(rules, site).default
    monthly = next((p for p in rules.plans if p.get("code") == "monthly"), None)
    return form.with_values(free_minutes=t.free_minutes, first_period_minutes=t.day.first_period_minutes,
                            first_period_fen=yuan_text(t.day.first_period_fen), unit_minutes=t.day.unit_minutes,
                            unit_fen=yuan_text(t.day.unit_fen), daily_cap_fen=yuan_text(t.daily_cap_fen),
                            no_entry_fee_fen=yuan_text(rules.no_entry_fee_fen),
                            monthly_fen=yuan_text(monthly["price_fen"]) if monthly else "")


def _parking_page(request: Request, session: Session, who, site: Site, *, status: int = 200,  # noqa: ANN001
                  notice: Bi | None = None, shown: dict | None = None):  # noqa: ANN202
    shown, base = shown or {}, f"/admin/sites/{site.id}/parking"
    rules = session.get(ParkingRules, site.id)
    manages = who.role in MANAGERS
    forms = [] if not manages else [
        shown.get("tariff") or _tariff_form(rules, site, base).show(),
        shown.get("member") or replace(MEMBER, action=f"{base}/members").show(),
        shown.get("blacklist") or replace(BLACKLIST, action=f"{base}/blacklist").show()]
    members = paginate(session, select(ParkingMember).where(ParkingMember.site_id == site.id)
                       .order_by(ParkingMember.plate), request, param="members_page")
    banned = paginate(session, select(ParkingBlacklist).where(ParkingBlacklist.site_id == site.id)
                      .order_by(ParkingBlacklist.plate), request, param="blacklist_page")
    t = _tariffs(rules, site).default if rules else None
    plans = dict(PLANS)
    sections = [
        {"title": Bi("当前收费标准", "Tariff in force"), "id": "tariff-now",
         "columns": [Bi("免费（分钟）", "Free (min)"), Bi("首段", "First period"), Bi("之后每段", "Later periods"),
                     yuan_label("每日封顶", "Daily cap"), yuan_label("无入场记录", "No entry record"), Bi("套餐", "Passes"),
                     Bi("版本", "Version")],
         "rows": [] if rules is None else [(
             t.free_minutes, f"{t.day.first_period_minutes} min / {yuan(t.day.first_period_fen)}",
             f"{t.day.unit_minutes} min / {yuan(t.day.unit_fen)}", yuan(t.daily_cap_fen), yuan(rules.no_entry_fee_fen),
             ", ".join(f"{p['code']} {yuan(p['price_fen'])}" for p in rules.plans), rules.version)],
         "empty": Bi("还没有收费标准：出口车道按之前的设置或不收费，请先保存。",
                     "No tariff yet: save one before the exit lanes go live.")},
        {"title": Bi("会员", "Members"), "id": "members", "pager": members,
         "columns": [Bi("车牌", "Plate"), Bi("套餐", "Plan"), Bi("有效期", "Valid"), Bi("状态", "Status"),
                     Bi("车主", "Holder"), Bi("更新（当地时间）", "Updated (local time)")],
         "rows": [(m.plate, plans.get(m.plan, m.plan), f"{m.valid_from} – {m.valid_to}",
                   dict(MEMBER_STATUS).get(m.status, m.status), m.masked_name or "",
                   local_time(m.updated_at, site.timezone)) for m in members.rows]},
        {"title": Bi("黑名单", "Blacklist"), "id": "blacklist-list", "pager": banned,
         "columns": [Bi("车牌", "Plate"), Bi("原因", "Reason"), Bi("加入时间（当地）", "Added (local time)"), Bi("操作", "Actions")],
         "rows": [(b.plate, b.reason, local_time(b.created_at, site.timezone),
                   Action(f"{base}/blacklist/remove", Bi("移出", "Remove"), {"plate": b.plate}) if manages else "")
                  for b in banned.rows]}]
    return render(request, who, "page.html", status=status, active="/admin/merchants", back=base, notice=notice, forms=forms,
                  title=Bi(f"停车场：{site.name}", f"Car park: {site.name}"), sections=[
                      {"title": Bi("场所", "Site"), "links": [(f"/admin/sites/{site.id}", Bi("通道与离线限额", "Lanes and offline limits"))]},
                      *sections])


@router.get("/sites/{site_id}/parking")
@page
def parking(request: Request, site_id: str, session: Session = Depends(get_session),
            user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    return _parking_page(request, session, user.who, _car_park(session, user.who, site_id))


def _posted(request: Request, session: Session, user: PageUser, data: dict, site_id: str) -> Site:
    acting_on_site(request, session, user, data, site_id, *MANAGERS)
    return _car_park(session, user.who, site_id)


def _plate(text: str | None) -> tuple[str | None, Bi | None]:
    try:
        return normalise_plate(text or "").text, None
    except PlateError as exc:
        return None, Bi(exc.zh, exc.en)


def _read_with_plate(form: Form, data: dict) -> tuple[Reading, dict[str, Bi], str | None]:
    """The form's reading, its errors with the plate checked as the lanes check it, the plate."""
    reading = form.read(data)
    errors = dict(reading.errors)
    plate, plate_error = _plate(data.get("plate"))
    if plate_error and "plate" not in errors:
        errors["plate"] = plate_error
    return reading, errors, plate


@router.post("/sites/{site_id}/parking/tariff")
@page
def save_tariff(request: Request, site_id: str, data: dict = Depends(form_data), session: Session = Depends(get_session),
                user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    site = _posted(request, session, user, data, site_id)
    rules = session.get(ParkingRules, site.id)
    form = replace(TARIFF, action=f"/admin/sites/{site.id}/parking/tariff")
    reading = form.read(data)
    errors, error = dict(reading.errors), None
    if reading.ok:
        v, current = reading.values, _tariffs(rules, site)
        default = current.default.model_dump(mode="json")
        default.update(free_minutes=v["free_minutes"], daily_cap_fen=v["daily_cap_fen"], day={
            **default["day"], "first_period_minutes": v["first_period_minutes"], "first_period_fen": v["first_period_fen"],
            "unit_minutes": v["unit_minutes"], "unit_fen": v["unit_fen"]})
        plans = [p for p in (rules.plans if rules else []) if p.get("code") != "monthly"]
        if v["monthly_fen"] is not None:
            plans.insert(0, {"code": "monthly", "months": 1, "price_fen": v["monthly_fen"]})
        try:
            body = RulesIn.model_validate({"tariffs": {**current.model_dump(mode="json"), "default": default},
                                           "no_entry_fee_fen": v["no_entry_fee_fen"], "plans": plans,
                                           "repeat_entry": rules.repeat_entry if rules else "replace"})
        except ValidationError as exc:
            errors, error = model_errors(exc)
            errors = {k: e for k, e in errors.items() if k in {f.name for f in form.fields}}
            error = error or (None if errors else Bi("收费标准无效", "The tariff is not valid"))
    if errors or error:
        return _parking_page(request, session, user.who, site, status=422, notice=NOT_SAVED,
                             shown={"tariff": form.show(data, errors, error)})
    saved = svc.set_rules(session, site.id, body.tariffs, body.no_entry_fee_fen, body.repeat_entry, body.plans,
                          now=request_now(request))
    session.commit()
    return _parking_page(request, session, user.who, site, notice=Bi(
        f"收费标准已保存（第 {saved.version} 版），车道下次同步后生效。",
        f"Tariff saved (version {saved.version}); lanes take it at their next sync."))


@router.post("/sites/{site_id}/parking/members")
@page
def save_member(request: Request, site_id: str, data: dict = Depends(form_data), session: Session = Depends(get_session),
                user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    site = _posted(request, session, user, data, site_id)
    form = replace(MEMBER, action=f"/admin/sites/{site.id}/parking/members")
    reading, errors, plate = _read_with_plate(form, data)
    error = None
    if not errors:
        v = reading.values
        try:
            body = MemberIn.model_validate({k: v[k] for k in ("plan", "valid_from", "valid_to", "status", "holder_name")})
            member = svc.put_member(session, FieldCipher(request.app.state.settings.keys["data"]), site.id, plate,
                                    body.plan, body.valid_from, body.valid_to, body.status, body.holder_name,
                                    now=request_now(request))
        except ValidationError as exc:
            errors, error = model_errors(exc)
        except svc.ParkingRuleError as exc:
            session.rollback()
            errors = {"valid_to": Bi(exc.zh, exc.en)} if exc.code == "bad_dates" else {}
            error = None if errors else Bi(exc.zh, exc.en)
    if errors or error:
        return _parking_page(request, session, user.who, site, status=422, notice=NOT_SAVED,
                             shown={"member": form.show(data, errors, error)})
    session.commit()
    return _parking_page(request, session, user.who, site, notice=Bi(
        f"会员 {member.plate} 已保存，有效至 {member.valid_to}。", f"Member {member.plate} saved, valid to {member.valid_to}."))


@router.post("/sites/{site_id}/parking/blacklist")
@page
def add_to_blacklist(request: Request, site_id: str, data: dict = Depends(form_data),
                     session: Session = Depends(get_session),
                     user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    site = _posted(request, session, user, data, site_id)
    form = replace(BLACKLIST, action=f"/admin/sites/{site.id}/parking/blacklist")
    reading, errors, plate = _read_with_plate(form, data)
    if errors:
        return _parking_page(request, session, user.who, site, status=422, notice=NOT_SAVED,
                             shown={"blacklist": form.show(data, errors)})
    svc.set_blacklisted(session, site.id, plate, BlacklistIn(reason=reading.values["reason"]).reason)
    session.commit()
    return _parking_page(request, session, user.who, site, notice=Bi(f"{plate} 已加入黑名单。", f"{plate} is blacklisted."))


@router.post("/sites/{site_id}/parking/blacklist/remove")
@page
def remove_from_blacklist(request: Request, site_id: str, data: dict = Depends(form_data),
                          session: Session = Depends(get_session),
                          user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    site = _posted(request, session, user, data, site_id)
    plate, plate_error = _plate(data.get("plate"))
    if plate_error:
        return _parking_page(request, session, user.who, site, status=422, notice=plate_error)
    svc.set_blacklisted(session, site.id, plate, None)
    session.commit()
    return _parking_page(request, session, user.who, site, notice=Bi(f"{plate} 已移出黑名单。",
                                                                      f"{plate} is off the blacklist."))

