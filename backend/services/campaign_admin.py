"""Campaigns and coupons as operators manage them: create, change status, issue and claim
coupons, and the views the console and the customer record show. Payment-time rules are in
services/campaigns.py; the discount rule itself in core/campaigns.py.

Who may do what is decided by the API (api/campaigns.py): a bank operator runs bank-funded
campaigns anywhere, a merchant admin only its own merchant's, at its own merchant.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import api_error
from backend.models.campaigns import Campaign, CampaignUse, Coupon
from backend.models.customers import Customer, MarketingOptOut
from backend.models.signings import Signing
from backend.services import campaign_slices
from backend.services.campaigns import USABLE_COUPON, terms_of
from core.campaigns import terms_problem

# draft -> active <-> paused; any but ended -> ended (final: its budget left is the funder's).
_MOVES = {"draft": {"active", "ended"}, "active": {"paused", "ended"}, "paused": {"active", "ended"}, "ended": set()}
MAX_COUPONS_PER_ISSUE = 5000


def create_campaign(session: Session, fields: dict, operator_id: int | None) -> Campaign:
    campaign = Campaign(**fields, spent_fen=0, created_by=operator_id)
    problem = terms_problem(terms_of(campaign))
    if problem is not None:
        raise api_error(422, "bad_campaign_terms", f"活动规则不成立：{_zh(problem)}", f"The campaign's terms do not hold: {problem}")
    session.add(campaign)
    session.flush()
    return campaign


def _zh(problem: str) -> str:
    """The terms problem in Chinese (core.campaigns words are English)."""
    for key, zh in (("fixed", "固定立减需要1到1000000分的金额"), ("random", "随机立减需要 1 ≤ 下限 ≤ 上限 ≤ 1000000 分"),
                    ("percentage", "打折需要1到99的折扣百分比和封顶金额"), ("threshold", "满减的减额须小于门槛"),
                    ("window", "活动结束时间早于开始时间"), ("unknown", "未知的活动类型")):
        if key in problem:
            return zh
    return problem


def set_status(session: Session, campaign: Campaign, status: str) -> Campaign:
    if status not in _MOVES[campaign.status]:
        raise api_error(409, "campaign_status_move", f"活动状态不能从{campaign.status}改为{status}",
                        f"A campaign cannot go from {campaign.status} to {status}")
    campaign.status = status
    session.flush()
    campaign_slices.refresh_campaign(session, campaign.id)   # active: terminals get slices; else given back
    return campaign


def get_campaign(session: Session, campaign_id: int, can_see) -> Campaign:  # noqa: ANN001
    """The campaign, if the caller may see it (can_see: merchant id or None -> bool)."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or not can_see(campaign.funder_merchant_id):
        raise api_error(404, "campaign_not_found", "找不到这个活动", "No such campaign")
    return campaign


def list_campaigns(session: Session, merchant_id: int | None) -> list[Campaign]:
    """All campaigns, or one merchant's own (a merchant admin's view)."""
    query = select(Campaign).order_by(Campaign.id)
    if merchant_id is not None:
        query = query.where(Campaign.funder_merchant_id == merchant_id)
    return list(session.scalars(query))


def campaign_view(session: Session, campaign: Campaign) -> dict:
    uses = session.execute(select(func.count(), func.coalesce(func.sum(CampaignUse.discount_fen - CampaignUse.returned_fen), 0))
                           .where(CampaignUse.campaign_id == campaign.id, CampaignUse.status == "applied")).one()
    coupons = dict(session.execute(select(Coupon.status, func.count()).where(Coupon.campaign_id == campaign.id)
                                   .group_by(Coupon.status)).all())
    return {"id": campaign.id, "name": campaign.name, "funder_kind": campaign.funder_kind,
            "funder_merchant_id": campaign.funder_merchant_id, "kind": campaign.kind, "mode": campaign.mode,
            "amount_fen": campaign.amount_fen, "min_fen": campaign.min_fen, "max_fen": campaign.max_fen,
            "percent_off": campaign.percent_off, "cap_fen": campaign.cap_fen, "threshold_fen": campaign.threshold_fen,
            "merchant_ids": campaign.merchant_ids, "site_ids": campaign.site_ids, "scenes": campaign.scenes,
            "methods": campaign.methods,
            "starts_at": campaign.starts_at.isoformat() if campaign.starts_at else None,
            "ends_at": campaign.ends_at.isoformat() if campaign.ends_at else None,
            "per_customer_limit": campaign.per_customer_limit,
            "per_customer_daily_limit": campaign.per_customer_daily_limit,
            "budget_fen": campaign.budget_fen, "spent_fen": campaign.spent_fen,
            "budget_left_fen": campaign.budget_fen - campaign.spent_fen, "status": campaign.status,
            "uses": int(uses[0]), "discount_cost_fen": int(uses[1]), "offline": _offline_view(session, campaign),
            "coupons": {status: int(coupons.get(status, 0)) for status in ("issued", "used", "expired", "restored")}}


def _offline_view(session: Session, campaign: Campaign) -> dict | None:
    sizing = campaign_slices.offline_sizing(session, campaign.id)
    return None if sizing is None else {"share_pct": sizing.share_pct, "cap_fen": sizing.cap_fen}


def let_offline(session: Session, campaign: Campaign, share_pct: int, cap_fen: int, now: datetime) -> int:
    """Let an instant campaign out offline: each terminal it applies at holds a slice of
    share_pct % of the budget, at most cap_fen (or change the size). Returns the fen reserved now."""
    if campaign.mode != "instant":
        raise api_error(409, "not_an_instant_campaign", "只有立减活动可以离线优惠，凭券活动需要联网",
                        "Only an instant campaign can be given offline; a coupon needs the network")
    if campaign.status == "ended":
        raise api_error(409, "campaign_closed", "活动已结束，不能离线优惠", "The campaign has ended: nothing to give offline")
    if not (1 <= share_pct <= 100 and 1 <= cap_fen <= campaign_slices.MAX_SLICE_CAP_FEN):
        raise api_error(422, "bad_offline_slice", "离线份额须为1到100%，上限须为1到1000000分",
                        "The share is 1 to 100 % and the cap 1 to 1000000 fen")
    before = campaign.spent_fen
    campaign_slices.allow_offline(session, campaign, share_pct, cap_fen, now)
    return max(0, campaign.spent_fen - before)


def stop_offline(session: Session, campaign: Campaign, now: datetime) -> int:
    """Online only again: open slices close, what terminals have not used goes back to the
    budget. Idempotent. Returns the fen given back."""
    return campaign_slices.disallow_offline(session, campaign, now)


def payable_at(session: Session, customer_ids: set[int], merchant_id: int) -> set[int]:
    """Those of the customers who hold a signing (not revoked) that lets them pay at this merchant:
    the only customers a merchant's admin may reach. Others look to it as if they did not exist."""
    rows = session.execute(select(Signing.customer_id, Signing.merchant_ids)
                           .where(Signing.customer_id.in_(customer_ids), Signing.status != "revoked"))
    return {cid for cid, merchants in rows if not merchants or merchant_id in merchants}


@dataclass(frozen=True)
class Issued:
    coupon_ids: list[int]
    opted_out: int          # customers passed over because they opted out of marketing


def issue_coupons(session: Session, campaign: Campaign, issue_id: str, customer_ids: list[int],
                  group_id: int | None, expires_at: datetime, now: datetime,
                  merchant_scope: int | None = None) -> Issued:
    """One coupon per customer (listed, or every active member of the group). Idempotent by
    issue_id: issuing again with the same id issues nobody twice.
    `merchant_scope` (a merchant admin's merchant): only customers who can pay there; a group's
    other members are passed over, a listed one is answered as unknown.
    An issued coupon is targeted marketing: customers who opted out (MarketingOptOut) get none
    and are counted in `opted_out` (after the unknown check, so it tells nothing about customers
    the caller may not reach). Claiming a coupon themselves (claim_coupon) stays open to them."""
    _coupon_campaign_open(campaign, expires_at, now)
    wanted = set(customer_ids)
    if group_id is not None:
        members = set(session.scalars(select(Customer.id).where(Customer.group_id == group_id,
                                                                Customer.status == "active")))
        wanted |= payable_at(session, members, merchant_scope) if merchant_scope is not None else members
    if not wanted or len(wanted) > MAX_COUPONS_PER_ISSUE:
        raise api_error(422, "bad_coupon_recipients", f"请给出1到{MAX_COUPONS_PER_ISSUE}位顾客",
                        f"Give 1 to {MAX_COUPONS_PER_ISSUE} customers")
    known = set(session.scalars(select(Customer.id).where(Customer.id.in_(wanted))))
    if merchant_scope is not None:
        known &= payable_at(session, known, merchant_scope)
    if known != wanted:
        missing = ", ".join(str(i) for i in sorted(wanted - known)[:5])
        raise api_error(404, "customer_not_found", f"找不到顾客：{missing}", f"No such customer: {missing}")
    opted = set(session.scalars(select(MarketingOptOut.customer_id).where(MarketingOptOut.customer_id.in_(wanted))))
    ids = [_coupon(session, campaign, cid, expires_at, "issued", f"{issue_id}:{cid}"[:64], now).id
           for cid in sorted(wanted - opted)]
    return Issued(ids, len(opted))


def claim_coupon(session: Session, campaign: Campaign, customer_id: int, expires_at: datetime,
                 now: datetime, merchant_scope: int | None = None) -> Coupon:
    """A customer claims the campaign's coupon: once per customer and campaign. Their own
    choice, so allowed even if they opted out of marketing (which stops coupons sent to them)."""
    _coupon_campaign_open(campaign, expires_at, now)
    if session.get(Customer, customer_id) is None or (
            merchant_scope is not None and not payable_at(session, {customer_id}, merchant_scope)):
        raise api_error(404, "customer_not_found", "找不到这位顾客", "No such customer")
    return _coupon(session, campaign, customer_id, expires_at, "claimed", f"claim:{campaign.id}:{customer_id}", now)


def _coupon_campaign_open(campaign: Campaign, expires_at: datetime, now: datetime) -> None:
    if campaign.mode != "coupon":
        raise api_error(409, "not_a_coupon_campaign", "这个活动是立减活动，不发券",
                        "This campaign applies instantly; it has no coupons")
    if campaign.status not in ("draft", "active"):
        raise api_error(409, "campaign_closed", "活动已暂停或结束，不能发券", "The campaign is paused or ended: no coupons")
    if expires_at <= now:
        raise api_error(422, "coupon_expiry_past", "券的有效期必须在将来", "A coupon must expire in the future")


def _coupon(session: Session, campaign: Campaign, customer_id: int, expires_at: datetime, source: str,
            issue_ref: str, now: datetime) -> Coupon:
    found = session.scalar(select(Coupon).where(Coupon.issue_ref == issue_ref))
    if found is not None:
        return found
    # Stamped with the backend's clock, as payments are: the reports count coupons issued by day.
    coupon = Coupon(campaign_id=campaign.id, customer_id=customer_id, expires_at=expires_at, source=source,
                    issue_ref=issue_ref, status="issued", created_at=now)
    try:
        with session.begin_nested():
            session.add(coupon)
    except IntegrityError:      # the same issue racing: the other one's coupon stands
        return session.scalar(select(Coupon).where(Coupon.issue_ref == issue_ref))
    return coupon


# The job leaves a coupon alone for a moment past its expiry: a payment that read the coupon as
# usable just before it expired then still finds it usable when it marks it used (a conditional
# UPDATE), instead of failing on a coupon the job expired in between.
EXPIRY_GRACE = timedelta(minutes=5)
EXPIRY_BATCH = 500


def expire_coupons(session: Session, now: datetime, batch: int = EXPIRY_BATCH) -> int:
    """Mark coupons past their expiry (plus EXPIRY_GRACE) as expired: they were already unusable,
    this shows it. In batches, each committed, so no transaction holds thousands of coupon rows
    while payments run; idempotent (only issued or restored coupons change), so a run cut short
    is simply repeated. Returns how many were marked."""
    due = (select(Coupon.id).where(Coupon.status.in_(USABLE_COUPON), Coupon.expires_at <= now - EXPIRY_GRACE)
           .order_by(Coupon.id).limit(batch))
    marked = 0
    while ids := list(session.scalars(due)):
        done = session.execute(update(Coupon).where(Coupon.id.in_(ids), Coupon.status.in_(USABLE_COUPON))
                               .values(status="expired"))
        session.commit()
        marked += done.rowcount
    return marked


def coupons_of(session: Session, customer_id: int, now: datetime) -> list[dict]:
    """A customer's coupons for the customer record (no personal data: campaign names and amounts)."""
    rows = session.execute(select(Coupon, Campaign).join(Campaign, Campaign.id == Coupon.campaign_id)
                           .where(Coupon.customer_id == customer_id).order_by(Coupon.id))
    return [{"id": coupon.id, "campaign_id": campaign.id, "campaign_name": campaign.name, "kind": campaign.kind,
             "status": "expired" if coupon.status in ("issued", "restored") and coupon.expires_at <= now else coupon.status,
             "expires_at": coupon.expires_at.isoformat(), "source": coupon.source}
            for coupon, campaign in rows]
