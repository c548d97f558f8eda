"""Coupons as the console lists them (issue 17): on the customer's record (which campaign, its
status, expiry, the payment it was used on) and on a campaign's page (who holds each one). No
personal data: campaign names, ids and amounts only. The status shown is "expired" for a coupon
past its expiry that the expiry job has not marked yet, as services.campaign_admin.coupons_of does."""
from __future__ import annotations

from datetime import datetime

from fastapi import Request
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from backend.models.campaigns import Campaign, Coupon
from backend.models.payments import Payment
from backend.web.display import local_time
from backend.web.forms import Link
from backend.web.paging import paginate
from backend.web.texts import Bi

CAMPAIGNS = "/admin/campaigns"
STATUS_WORDS = {"issued": Bi("未使用", "issued"), "used": Bi("已使用", "used"), "expired": Bi("已过期", "expired"),
                "restored": Bi("已退回可用", "restored (refunded)")}
SOURCE_WORDS = {"issued": Bi("发放", "issued"), "claimed": Bi("领取", "claimed")}
KIND_WORDS = {"fixed": Bi("固定立减", "fixed reduction"), "random": Bi("随机立减", "random reduction"),
              "percent": Bi("打折", "percentage off"), "threshold": Bi("满减", "threshold reduction")}


def shown_status(coupon: Coupon, now: datetime) -> str:
    usable = coupon.status in ("issued", "restored")
    return "expired" if usable and coupon.expires_at <= now else coupon.status


def _used_on(uuid: str | None) -> object:
    return Link(f"/admin/payments/{uuid}", uuid) if uuid else ""


def _with_payment(query: Select) -> Select:
    return query.outerjoin(Payment, Payment.id == Coupon.used_payment_id).order_by(Coupon.id.desc())


def customer_coupons(session: Session, request: Request, customer_id: int, now: datetime) -> dict:
    """The customer record's section: every coupon the customer holds, newest first, paged."""
    paged = paginate(session, _with_payment(select(Coupon, Campaign, Payment.payment_uuid)
                                            .join(Campaign, Campaign.id == Coupon.campaign_id)
                                            .where(Coupon.customer_id == customer_id)),
                     request, param="coupons_page")
    rows = [(coupon.id, Link(f"{CAMPAIGNS}/{campaign.id}", f"{campaign.id} {campaign.name}"),
             KIND_WORDS.get(campaign.kind, campaign.kind), STATUS_WORDS[shown_status(coupon, now)],
             local_time(coupon.expires_at), SOURCE_WORDS.get(coupon.source, coupon.source), _used_on(uuid))
            for coupon, campaign, uuid in paged.rows]
    return {"id": "coupons", "title": Bi("优惠券", "Coupons"), "rows": rows, "pager": paged,
            "columns": [Bi("编号", "ID"), Bi("活动", "Campaign"), Bi("类型", "Kind"), Bi("状态", "Status"),
                        Bi("到期时间", "Expires at"), Bi("来源", "Source"), Bi("使用于支付", "Used on payment")],
            "empty": Bi("没有优惠券", "No coupons")}


def campaign_coupons(session: Session, request: Request, campaign: Campaign, now: datetime, zone: str,
                     customer_cell) -> dict:  # noqa: ANN001
    """A campaign page's section: its coupons, newest first, paged. `customer_cell(ids)` gives
    each holder's cell (a link for bank readers; a merchant admin sees only whom it may reach)."""
    paged = paginate(session, _with_payment(select(Coupon, Payment.payment_uuid)
                                            .where(Coupon.campaign_id == campaign.id)),
                     request, param="coupons_page")
    cells = customer_cell({coupon.customer_id for coupon, _ in paged.rows})
    rows = [(coupon.id, cells.get(coupon.customer_id, "—"), STATUS_WORDS[shown_status(coupon, now)],
             local_time(coupon.expires_at, zone), SOURCE_WORDS.get(coupon.source, coupon.source), _used_on(uuid))
            for coupon, uuid in paged.rows]
    return {"id": "coupons", "title": Bi("优惠券", "Coupons"), "rows": rows, "pager": paged,
            "columns": [Bi("编号", "ID"), Bi("顾客", "Customer"), Bi("状态", "Status"), Bi("到期时间", "Expires at"),
                        Bi("来源", "Source"), Bi("使用于支付", "Used on payment")],
            "empty": Bi("还没有发券", "No coupons issued yet")}
