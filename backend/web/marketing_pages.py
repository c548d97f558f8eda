"""Operators' marketing choices on the console (issue 17): a customer's marketing opt-out (on the
customer's page) and which coupon campaigns give offers from habits (on the analytics page). The
same calls as the API (backend/api/offers.py): committed, idempotent, logged with the operator."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from backend.api.offers import change_habit_offer, change_opt_out
from backend.deps import get_session
from backend.models.customers import MarketingOptOut
from backend.web.display import local_time
from backend.web.forms import Action, form_data
from backend.web.render import page
from backend.web.session import PageUser, admin_roles
from backend.web.texts import Bi

router = APIRouter(prefix="/admin", include_in_schema=False)


def opt_out_section(session: Session, customer_id: int, who) -> dict:  # noqa: ANN001
    """The customer page's marketing section: opted out or not, and the button to change it."""
    row = session.get(MarketingOptOut, customer_id)
    state = (Bi(f"已退出营销（{local_time(row.opted_out_at)}）：不再获赠习惯优惠券",
                f"Opted out ({local_time(row.opted_out_at)}): no offers from habits")
             if row is not None else Bi("接收营销优惠", "Receives offers"))
    button = Action(f"/admin/customers/{customer_id}/marketing", Bi("恢复营销", "Opt back in") if row is not None
                    else Bi("退出营销", "Opt out"), {"out": "no" if row is not None else "yes"}, danger=row is None)
    return {"id": "marketing", "title": Bi("营销偏好", "Marketing"), "columns": [Bi("状态", "Status"), ""],
            "rows": [(state, button if who.role == "operator" else "")]}


def _yes(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


@router.post("/customers/{customer_id}/marketing")
@page
def opt_out(request: Request, customer_id: str, data: dict = Depends(form_data), session: Session = Depends(get_session),
            user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    from backend.web.customer_pages import customer_page, known_customer

    user.check_csrf(request, data.get("csrf"))
    cid, out = known_customer(session, customer_id), _yes(data.get("out"))
    if out is None:
        return customer_page(request, session, user.who, cid, status=422,
                             notice=Bi("请选择退出或恢复营销", "Choose to opt out or back in"))
    change_opt_out(session, cid, out, user.who, request)
    return customer_page(request, session, user.who, cid, notice=Bi("已退出营销", "Opted out") if out
                         else Bi("已恢复营销", "Opted back in"))


@router.post("/marketing/habit-offer")
@page
def habit_offer(request: Request, data: dict = Depends(form_data), session: Session = Depends(get_session),
                user: PageUser = Depends(admin_roles("operator", "merchant_admin"))):  # noqa: ANN201
    from backend.web.analytics_pages import analytics_page

    user.check_csrf(request, data.get("csrf"))
    text, on = data.get("campaign_id") or "", _yes(data.get("on"))
    if on is None or not (text.isascii() and text.isdigit() and 0 < len(text) < 10):
        return analytics_page(request, session, user.who, status=422,
                              notice=Bi("请选择一个发券活动", "Choose a coupon campaign"))
    done = change_habit_offer(session, int(text), on, user.who, request)
    return analytics_page(request, session, user.who, notice=Bi(
        f"活动 {done['campaign_id']} {'已用作' if on else '已停用'}习惯优惠",
        f"Campaign {done['campaign_id']} {'now gives' if on else 'no longer gives'} offers from habits"))
