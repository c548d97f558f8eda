"""The analytics page, /admin/analytics (issue 17; docs/MARKETING.md "Analytics"): peak hours per
site, daily and weekly trends, the method mix, repeat diners and subsidy take-up over a window of
business days, from backend/services/analytics.py. Aggregates only, small groups shown as "<5":
no name, customer id or masked name ever reaches this page.

Roles as the other pages: operators and auditors see every merchant (or one, chosen), a merchant
admin only its own merchant, and not what subsidy programs granted (the bank's and funders'
figures). Below the figures, operators (and a merchant admin, for its own campaigns) choose which
coupon campaigns give offers from habits (backend/web/marketing_pages.py takes the button)."""
from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.deps import get_session, request_now
from backend.models.campaigns import Campaign
from backend.models.merchants import Merchant
from backend.services import analytics as svc
from backend.services.offers import habit_campaign_ids
from backend.web.display import DEFAULT_ZONE, yuan, yuan_label
from backend.web.forms import Action
from backend.web.render import ANY_ROLE, page, render
from backend.web.session import PageUser, admin_roles
from backend.web.texts import Bi

router = APIRouter(prefix="/admin", include_in_schema=False)
PATH = "/admin/analytics"
SMALL = f"<{svc.MIN_GROUP}"            # the same in both languages
METHODS = {"face": Bi("刷脸", "face"), "card": Bi("刷卡", "card"), "paycode": Bi("付款码", "pay code"),
           "plate": Bi("车牌", "plate")}
FIGURES = [Bi("笔数", "Payments"), yuan_label("金额", "Amount")]


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text and len(text) == 10 else None
    except ValueError:
        return None


def _window(request: Request, who, start: str | None, end: str | None, merchant: str | None):  # noqa: ANN001, ANN202
    """The window asked for, within MAX_DAYS; a notice when a filter could not be read."""
    from zoneinfo import ZoneInfo
    today = request_now(request).astimezone(ZoneInfo(DEFAULT_ZONE)).date()
    merchant_id = who.merchant_id if who.role == "merchant_admin" else (
        int(merchant) if merchant and merchant.isascii() and merchant.isdigit() and len(merchant) < 10 else None)
    first, last = _day(start), _day(end)
    notice = ""
    if (start and first is None) or (end and last is None):
        notice = Bi("日期应为 YYYY-MM-DD，已显示最近 28 天", "Dates are YYYY-MM-DD; showing the last 28 days")
        first = last = None
    last = last or today
    first = first or last - timedelta(days=svc.DEFAULT_DAYS - 1)
    if first > last:
        first, last = last, first
    if (last - first).days >= svc.MAX_DAYS:
        first = last - timedelta(days=svc.MAX_DAYS - 1)
        notice = Bi(f"一次最多 {svc.MAX_DAYS} 天，已从 {first} 起", f"At most {svc.MAX_DAYS} days at a time; from {first}")
    return svc.Window(first, last, merchant_id), notice


def _figures(cell: svc.Cell) -> tuple:
    return (SMALL, SMALL) if cell.hidden else (cell.payments, yuan(cell.amount_fen))


def _sections(data: svc.Analytics, who) -> list[dict]:  # noqa: ANN001
    repeat = data.repeat
    share = "" if repeat.hidden or not repeat.diners else f"{100 * repeat.repeat // repeat.diners}%"
    sections = [
        {"title": Bi("每日趋势", "Daily trend"), "columns": [Bi("营业日", "Business day"), *FIGURES],
         "rows": [(c.label, *_figures(c)) for c in data.daily]},
        {"title": Bi("每周趋势（周一起）", "Weekly trend (weeks from Monday)"), "columns": [Bi("周", "Week of"), *FIGURES],
         "rows": [(c.label, *_figures(c)) for c in data.weekly]},
        {"title": Bi("支付方式", "Method mix"), "columns": [Bi("方式", "Method"), *FIGURES],
         "rows": [(METHODS.get(c.label, c.label), *_figures(c)) for c in data.methods]},
        {"title": Bi("回头客", "Repeat diners"),
         "intro": Bi("期间内至少两个营业日都有消费的顾客占比", "Share of diners who paid on two business days or more"),
         "columns": [Bi("顾客数", "Diners"), Bi("回头客", "Repeat diners"), Bi("占比", "Share")],
         "rows": [(SMALL, SMALL, "") if repeat.hidden else (repeat.diners, repeat.repeat, share)]},
        {"title": Bi("补贴使用", "Subsidy take-up"),
         "columns": [Bi("补贴项目", "Program"), *([yuan_label("发放", "Granted")] if who.role != "merchant_admin" else []),
                     yuan_label("使用", "Spent"), *([Bi("使用率", "Take-up")] if who.role != "merchant_admin" else [])],
         "rows": [_uptake_row(u, who.role != "merchant_admin") for u in data.subsidies]},
    ]
    return sections


def _uptake_row(u: svc.Uptake, with_grants: bool) -> tuple:
    if u.hidden:
        return (u.program_name, *((SMALL,) if with_grants else ()), SMALL, *(("",) if with_grants else ()))
    if not with_grants:
        return (u.program_name, yuan(u.spent_fen))
    rate = f"{100 * u.spent_fen // u.granted_fen}%" if u.granted_fen else ""
    return (u.program_name, yuan(u.granted_fen), yuan(u.spent_fen), rate)


def _habit_offer_section(session: Session, who) -> dict | None:  # noqa: ANN001
    """The coupon campaigns that may give offers from habits, with a button each (managers only)."""
    if who.role not in ("operator", "merchant_admin"):
        return None
    query = select(Campaign).where(Campaign.mode == "coupon", Campaign.status != "ended").order_by(Campaign.id)
    if who.role == "merchant_admin":
        query = query.where(Campaign.funder_merchant_id == who.merchant_id)
    chosen = habit_campaign_ids(session)
    rows = []
    for c in session.scalars(query):
        on = c.id in chosen
        rows.append((c.id, c.name, c.status, Bi("是", "yes") if on else Bi("否", "no"),
                     Action("/admin/marketing/habit-offer", Bi("停用", "Stop") if on else Bi("用作习惯优惠", "Use for offers"),
                            {"campaign_id": str(c.id), "on": "no" if on else "yes"}, danger=on)))
    return {"id": "habit-offers", "title": Bi("习惯优惠活动", "Offers from habits"),
            "intro": Bi("顾客在同一食堂同一餐次 4 周内消费满 3 天后，支付成功时获赠这个发券活动的 1 份优惠券（退出营销的顾客除外）",
                        "A diner who paid for one meal at one canteen on 3 days in 4 weeks gets one coupon of this "
                        "campaign after a payment (never one who opted out)"),
            "columns": [Bi("编号", "ID"), Bi("活动", "Campaign"), Bi("状态", "Status"), Bi("习惯优惠", "Offers"), ""],
            "rows": rows, "empty": Bi("还没有发券活动", "No coupon campaign yet")}


def analytics_page(request: Request, session: Session, who, *, start: str | None = None,  # noqa: ANN001, ANN201
                   end: str | None = None, merchant: str | None = None, notice: object = "", status: int = 200):
    window, problem = _window(request, who, start, end, merchant)
    data = svc.analytics(session, window, with_grants=who.role != "merchant_admin")
    merchants = [] if who.role == "merchant_admin" else list(
        session.execute(select(Merchant.id, Merchant.name).order_by(Merchant.id)).all())
    sections = _sections(data, who)
    offers = _habit_offer_section(session, who)
    if offers is not None:
        sections.append(offers)
    peak_max = max((c.payments for s in data.peak_hours for c in s.hours), default=0)
    here = {"start": window.start.isoformat(), "end": window.end.isoformat()}
    if window.merchant_id and who.role != "merchant_admin":
        here["merchant"] = str(window.merchant_id)
    return render(request, who, "analytics.html", status=status, title=Bi("数据分析", "Analytics"), active=PATH,
                  notice=notice or problem, window=window, merchants=merchants, data=data, peak_max=peak_max,
                  small=SMALL, sections=sections, query=urlencode(here))


@router.get("/analytics")
@page
def analytics(request: Request, start: str | None = None, end: str | None = None, merchant: str | None = None,
              session: Session = Depends(get_session), user: PageUser = Depends(admin_roles(*ANY_ROLE))):  # noqa: ANN201
    return analytics_page(request, session, user.who, start=start, end=end, merchant=merchant)
