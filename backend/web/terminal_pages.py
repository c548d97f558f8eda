"""Terminals on /admin: the list (names, not ids; last seen in the site's time), one-time
enrolment codes bound to a site and lane, and disabling a stolen terminal (a page that asks to
confirm first) or enabling it again. An empty backend is not a dead end: until a terminal can be
enrolled the page lists what to create first (merchant -> site -> lane or meal periods ->
enrolment code), each step linking to where it is done.

The API's services do the work (backend.services.terminals); its body models check the values
(backend.api.terminals). Operators and a merchant's admin act (on their own merchant only);
auditors read."""
from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from backend.api.params import MAX_ID
from backend.api.terminals import DisableRequest, EnrolmentCodeRequest
from backend.deps import get_session, request_now
from backend.errors import ApiError, api_error
from backend.models.merchants import Lane, MealPeriodRow, Merchant, Site
from backend.models.terminals import EnrolmentCode, Terminal
from backend.services import terminals as svc
from backend.web.display import Names, local_time
from backend.web.forms import Action, Field, Form, Link, api_words, form_data, model_errors
from backend.web.paging import paginate
from backend.web.render import ANY_ROLE, page, render
from backend.web.session import PageUser, admin_roles
from backend.web.texts import Bi

router = APIRouter(prefix="/admin", include_in_schema=False)
PATH = "/admin/terminals"
MANAGERS = ("operator", "merchant_admin")
STATUS_WORDS = {"active": Bi("在用", "active"), "disabled": Bi("已停用", "disabled")}
SCENE_WORDS = {"canteen": Bi("食堂", "canteen"), "parking": Bi("停车", "parking")}

NEW_CODE = Form(f"{PATH}/enrolment-codes", Bi("新建注册码", "New enrolment code"), Bi("生成注册码", "Create code"), (
    Field("site_id", Bi("场所", "Site"), "choice"),
    Field("lane_id", Bi("通道（停车场终端必选）", "Lane (required at a car park)"), "choice", required=False),
    Field("name", Bi("终端名称", "Terminal name")),
    Field("valid_hours", Bi("有效期（小时，1到168）", "Valid for (hours, 1 to 168)"), "int", lo=1, hi=168, value="24",
          required=False),
), id="new-code")
DISABLE = Form("", Bi("确认停用此终端", "Confirm: disable this terminal"), Bi("确认停用", "Disable it"), (
    Field("reason", Bi("原因（如：被盗）", "Reason (e.g. stolen)"), required=False, max_len=200),
), danger=True, id="disable")


def _mine(who, query, column):  # noqa: ANN001, ANN202
    return query.where(column == who.merchant_id) if who.role == "merchant_admin" else query


def _choices(session: Session, who) -> tuple[list, list]:  # noqa: ANN001
    sites = list(session.scalars(_mine(who, select(Site), Site.merchant_id).order_by(Site.id)))
    names = {s.id: s.name for s in sites}
    lanes = session.scalars(select(Lane).where(Lane.site_id.in_(names)).order_by(Lane.site_id, Lane.id))
    return ([(str(s.id), s.name) for s in sites],
            [("", Bi("不绑定通道", "no lane"))] + [(str(lane.id), f"{names[lane.site_id]} · {lane.name}") for lane in lanes])


def _steps(session: Session, who) -> list[tuple[bool, Bi, str]]:  # noqa: ANN001
    """What must exist before a terminal can be enrolled, each with where to do it."""
    merchant = session.scalar(_mine(who, select(Merchant), Merchant.id).order_by(Merchant.status != "approved",
                                                                                 Merchant.id))
    site = session.scalar(_mine(who, select(Site), Site.merchant_id).order_by(Site.id))
    ready = site is not None and session.scalar(select(
        exists().where(Lane.site_id == site.id) if site.kind == "car_park"
        else exists().where(MealPeriodRow.site_id == site.id)))
    approved = merchant is not None and merchant.status == "approved"
    site_href = f"/admin/sites/{site.id}" if site else "/admin/merchants"
    return [
        (merchant is not None, Bi("登记商户（填写结算账户）", "Record a merchant (with its settlement account)"), "/admin/merchants"),
        (approved, Bi("审核通过商户", "Approve the merchant"), f"/admin/merchants/{merchant.id}" if merchant else "/admin/merchants"),
        (site is not None, Bi("为商户创建场所（食堂或停车场）", "Create a site for it (a canteen or a car park)"),
         f"/admin/merchants/{merchant.id}#new-site" if merchant else "/admin/merchants"),
        (bool(ready), Bi("食堂：设置餐次和价格；停车场：添加通道", "Canteen: set meal periods and prices; car park: add lanes"),
         site_href),
        (False, Bi("生成注册码，在终端安装向导中输入", "Create an enrolment code and type it into the terminal's setup wizard"),
         f"{PATH}#new-code"),
    ]


def _list_page(request: Request, session: Session, who, *, status: int = 200, notice: Bi | None = None,  # noqa: ANN001
               code_form: dict | None = None):  # noqa: ANN202
    names = Names(session)
    paged = paginate(session, _mine(who, select(Terminal), Terminal.merchant_id).order_by(Terminal.id), request)
    acts = who.role in MANAGERS
    rows = [(t.id, t.name, names.merchant(t.merchant_id), names.site(t.site_id), names.lane(t.lane_id),
             SCENE_WORDS.get(t.scene, t.scene), STATUS_WORDS.get(t.status, t.status),
             local_time(t.last_seen_at, names.zone(site_id=t.site_id)),
             ("" if not acts else Link(f"{PATH}/{t.id}/disable", Bi("停用…", "Disable…")) if t.status == "active"
              else Action(f"{PATH}/{t.id}/enable", Bi("重新启用", "Enable")))) for t in paged.rows]
    codes = paginate(session, _mine(who, select(EnrolmentCode), EnrolmentCode.merchant_id)
                     .order_by(EnrolmentCode.id.desc()), request, param="codes_page")
    code_rows = [(c.id, names.merchant(c.merchant_id), names.site(c.site_id), names.lane(c.lane_id), c.terminal_name,
                  local_time(c.expires_at, names.zone(site_id=c.site_id)),
                  Bi(f"已用：终端 {names.terminal(c.terminal_id)}", f"used by {names.terminal(c.terminal_id)}")
                  if c.used_at else Bi("未用", "unused")) for c in codes.rows]
    site_options, lane_options = _choices(session, who)
    forms, sections = [], []
    if acts and site_options:
        forms.append(code_form or NEW_CODE.with_options("site_id", site_options)
                     .with_options("lane_id", lane_options).show())
    if not paged.total:
        steps = _steps(session, who)
        first_open = next(i for i, (done, _, _) in enumerate(steps) if not done)
        sections.append({"title": Bi("从这里开始：接入第一台终端", "Start here: connect the first terminal"), "id": "first-steps",
                         "intro": Bi("还没有终端。请按顺序完成以下步骤（已完成的标为✓）：",
                                     "No terminals yet. Do these steps in order (done ones are ticked):"),
                         "columns": [Bi("步骤", "Step"), Bi("内容", "What"), Bi("状态", "State"), Bi("去处理", "Where")],
                         "rows": [(i + 1, what, Bi("✓ 已完成", "✓ done") if done
                                   else (Bi("▶ 下一步", "▶ next") if i == first_open else Bi("待办", "to do")),
                                   Link(href, Bi("前往", "Go"))) for i, (done, what, href) in enumerate(steps)]})
    sections += [
        {"title": Bi("终端", "Terminals"), "pager": paged, "rows": rows, "id": "terminals",
         "columns": [Bi("编号", "ID"), Bi("名称", "Name"), Bi("商户", "Merchant"), Bi("场所", "Site"), Bi("通道", "Lane"),
                     Bi("场景", "Scene"), Bi("状态", "Status"), Bi("最后在线（当地时间）", "Last seen (local time)"),
                     Bi("操作", "Actions")]},
        {"title": Bi("注册码（明文只显示一次，只保存其哈希）", "Enrolment codes (shown once; only a hash is kept)"),
         "pager": codes, "rows": code_rows, "id": "codes",
         "columns": [Bi("编号", "ID"), Bi("商户", "Merchant"), Bi("场所", "Site"), Bi("通道", "Lane"),
                     Bi("终端名称", "Terminal name"), Bi("有效期至（当地时间）", "Expires (local time)"), Bi("使用", "Used")]}]
    return render(request, who, "page.html", status=status, title=Bi("终端与注册码", "Terminals and enrolment codes"),
                  active=PATH, notice=notice, forms=forms, sections=sections)


@router.get("/terminals")
@page
def terminals(request: Request, session: Session = Depends(get_session),
              user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    return _list_page(request, session, user.who)


@router.post("/terminals/enrolment-codes")
@page
def new_enrolment_code(request: Request, data: dict = Depends(form_data), session: Session = Depends(get_session),
                       user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    who = user.who
    user.check_csrf(request, data.get("csrf"))
    site_options, lane_options = _choices(session, who)
    form = NEW_CODE.with_options("site_id", site_options).with_options("lane_id", lane_options)
    reading = form.read(data)
    errors, error = dict(reading.errors), None
    site = session.get(Site, int(reading.values["site_id"])) if reading.ok else None
    if site is not None and site.kind == "car_park" and not reading.values["lane_id"]:
        errors["lane_id"] = Bi("停车场的终端须绑定一个通道", "A car park's terminal must be bound to a lane")
    if not errors:
        try:
            body = EnrolmentCodeRequest.model_validate({
                "site_id": site.id, "name": reading.values["name"], "valid_hours": reading.values["valid_hours"] or svc.DEFAULT_CODE_VALID_H,
                "lane_id": int(reading.values["lane_id"]) if reading.values["lane_id"] else None})
            new = svc.create_enrolment_code(session, request.app.state.settings.keys["hash"], site=site,
                                            lane_id=body.lane_id, name=body.name, valid_hours=body.valid_hours,
                                            created_by=who.operator_id, now=request_now(request))
        except ValidationError as exc:
            errors, error = model_errors(exc)
        except ApiError as exc:
            session.rollback()
            errors = {"lane_id": api_words(exc)} if exc.code == "lane_not_in_site" else {}
            error = None if errors else api_words(exc)
    if errors or error:
        return _list_page(request, session, who, status=422, code_form=form.show(data, errors, error),
                          notice=Bi("注册码未生成，请按提示修改。", "No code made: correct the fields marked below."))
    session.commit()
    return _list_page(request, session, who, notice=Bi(
        f"注册码（只显示这一次，请抄下）：{new.code}，{body.valid_hours} 小时内有效。",
        f"Enrolment code (shown only now): {new.code} - write it down; valid {body.valid_hours} h."))


def _visible_terminal(session: Session, who, terminal_id: str) -> Terminal:  # noqa: ANN001
    terminal = session.get(Terminal, int(terminal_id)) if terminal_id.isdigit() and int(terminal_id[:10]) <= MAX_ID else None
    if terminal is None or not who.can_see(terminal.merchant_id):
        raise api_error(404, "not_found", "找不到该终端", "No such terminal")
    return terminal


def _confirm_page(request: Request, session: Session, who, terminal: Terminal, *, status: int = 200,  # noqa: ANN001
                  shown: dict | None = None):  # noqa: ANN202
    names = Names(session)
    form = shown or replace(DISABLE, action=f"{PATH}/{terminal.id}/disable").show()
    return render(request, who, "page.html", status=status, active=PATH,
                  title=Bi(f"停用终端：{terminal.name}", f"Disable terminal: {terminal.name}"),
                  notice=Bi("停用后，该终端的下一次请求起即被后台拒绝，不能再收款；可随时重新启用。",
                            "Once disabled, the backend refuses the terminal from its next request on: it takes "
                            "no more payments. It can be enabled again."), notice_kind="error", forms=[form],
                  sections=[{"title": Bi("终端", "Terminal"), "columns": [Bi("项目", "Item"), Bi("内容", "Value")], "rows": [
                      (Bi("名称", "Name"), terminal.name), (Bi("商户", "Merchant"), names.merchant(terminal.merchant_id)),
                      (Bi("场所", "Site"), names.site(terminal.site_id)), (Bi("通道", "Lane"), names.lane(terminal.lane_id)),
                      (Bi("硬件编号", "Hardware id"), terminal.hardware_id),
                      (Bi("最后在线", "Last seen"), local_time(terminal.last_seen_at, names.zone(site_id=terminal.site_id))),
                      ("", Link(PATH, Bi("不停用，返回", "Do not disable: back")))]}])


@router.get("/terminals/{terminal_id}/disable")
@page
def confirm_disable(request: Request, terminal_id: str, session: Session = Depends(get_session),
                    user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    return _confirm_page(request, session, user.who, _visible_terminal(session, user.who, terminal_id))


@router.post("/terminals/{terminal_id}/disable")
@page
def disable(request: Request, terminal_id: str, data: dict = Depends(form_data), session: Session = Depends(get_session),
            user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    user.check_csrf(request, data.get("csrf"))
    terminal = _visible_terminal(session, user.who, terminal_id)
    form = replace(DISABLE, action=f"{PATH}/{terminal.id}/disable")
    reading = form.read(data)
    if reading.ok:
        try:
            reason = DisableRequest.model_validate({"reason": reading.values["reason"] or ""}).reason
        except ValidationError as exc:
            reading = replace(reading, errors=model_errors(exc)[0] or {"reason": Bi("原因无效", "Not a valid reason")})
    if not reading.ok:
        return _confirm_page(request, session, user.who, terminal, status=422, shown=form.show(data, reading.errors))
    svc.set_disabled(session, terminal, True, reason or None, now=request_now(request))
    session.commit()
    return _list_page(request, session, user.who, notice=Bi(
        f"终端「{terminal.name}」已停用：从它的下一次请求起被拒绝。", f"Terminal {terminal.name} is disabled: "
        "its next request on is refused."))


@router.post("/terminals/{terminal_id}/enable")
@page
def enable(request: Request, terminal_id: str, data: dict = Depends(form_data), session: Session = Depends(get_session),
           user: PageUser = Depends(admin_roles(*MANAGERS))):  # noqa: ANN201
    user.check_csrf(request, data.get("csrf"))
    terminal = _visible_terminal(session, user.who, terminal_id)
    svc.set_disabled(session, terminal, False, now=request_now(request))
    session.commit()
    return _list_page(request, session, user.who, notice=Bi(f"终端「{terminal.name}」已重新启用。",
                                                            f"Terminal {terminal.name} is enabled again."))
