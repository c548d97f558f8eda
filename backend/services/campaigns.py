"""Campaigns at payment time: the best offer for a payment, its use on record, and the discount
given back on refunds. Called only from the one booking path (services/payments.py) and the
refund path (services/refunds.py), inside their transaction.

Budget: the chosen campaign's row is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite's one
writer already serialises) and its budget read fresh before the discount is decided, so two
payments racing can never spend beyond it. Lock order: the payer's accounts first (payments.py),
then the campaign row; refunds lock the payment, its accounts, then the campaign: one order.

Coupons: a coupon belongs to one customer, whose accounts are locked for the whole payment, and
is marked used by a conditional UPDATE (status still usable): one use, never two.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.orm import Session

from backend.models.campaigns import Campaign, CampaignUse, Coupon
from backend.services.ledger import Leg, campaign_account_id
from core.campaigns import Place, Terms, applies, discount_fen

USABLE_COUPON = ("issued", "restored")


@dataclass(frozen=True)
class Offer:
    campaign: Campaign
    coupon_id: int | None
    discount_fen: int
    slice_id: int | None = None     # a pushed offline discount from this terminal's budget slice


def terms_of(campaign) -> Terms:  # noqa: ANN001 - a Campaign or a row of its table
    return Terms(campaign_id=campaign.id, kind=campaign.kind, amount_fen=campaign.amount_fen,
                 min_fen=campaign.min_fen, max_fen=campaign.max_fen, percent_off=campaign.percent_off,
                 cap_fen=campaign.cap_fen, threshold_fen=campaign.threshold_fen,
                 merchant_ids=frozenset(campaign.merchant_ids or ()), site_ids=frozenset(campaign.site_ids or ()),
                 scenes=frozenset(campaign.scenes or ()), methods=frozenset(campaign.methods or ()),
                 starts_at=campaign.starts_at, ends_at=campaign.ends_at)


# Hot-path statements, built once (services/payments.py: a statement built per payment costs ~4x
# the CPU of a prebuilt one), reading rows, not ORM objects: only the chosen campaign is loaded.
_C, _K = Campaign.__table__.c, Coupon.__table__.c
_OPEN = (_C.status == "active") & (_C.spent_fen < _C.budget_fen)
_INSTANT = select(Campaign.__table__).where(_OPEN, _C.mode == "instant")
# Whether any campaign is open at all, as a column the booking path reads with the merchant's
# terms (services/payments.py): with none open, neither candidate query can find a row, so a
# payment skips both. A campaign opened in between is as if the payment came a moment earlier;
# the budget is still decided under the chosen campaign's row lock.
ANY_OPEN = exists(select(_C.id).where(_OPEN))
_COUPONS = (select(Campaign.__table__, _K.id.label("coupon_id")).join(Coupon.__table__, _K.campaign_id == _C.id)
            .where(_OPEN, _K.customer_id == bindparam("customer_id"), _K.status.in_(USABLE_COUPON),
                   _K.expires_at > bindparam("at", type_=Coupon.__table__.c.expires_at.type)))
_LOCK = (select(Campaign).where(Campaign.id == bindparam("campaign_id")).with_for_update()
         .execution_options(populate_existing=True))


def _candidates(session: Session, customer_id: int, at: datetime) -> list[tuple[object, int | None]]:
    """Active instant campaigns with budget left, and the customer's usable coupons' campaigns (rows)."""
    found: list[tuple[object, int | None]] = [(row, None) for row in session.execute(_INSTANT)]
    found.extend((row, row.coupon_id) for row in session.execute(_COUPONS, {"customer_id": customer_id, "at": at}))
    return found


def _within_limits(session: Session, campaign: Campaign, customer_id: int, business_date: str) -> bool:
    """The campaign's per-customer limits (uses not given back by a full refund)."""
    if campaign.per_customer_limit is None and campaign.per_customer_daily_limit is None:
        return True
    used = select(func.count()).select_from(CampaignUse).where(
        CampaignUse.campaign_id == campaign.id, CampaignUse.customer_id == customer_id,
        CampaignUse.status == "applied")
    if campaign.per_customer_limit is not None and session.scalar(used) >= campaign.per_customer_limit:
        return False
    daily = campaign.per_customer_daily_limit
    return daily is None or session.scalar(used.where(CampaignUse.business_date == business_date)) < daily


def best_offer(session: Session, customer_id: int, place: Place, price_fen: int, payment_uuid: str,
               business_date: str, at: datetime) -> Offer | None:
    """The largest discount this payment may have (ties: the lowest campaign, then coupon, id),
    with that campaign's row locked. One offer per payment: campaigns do not stack."""
    ranked = []
    for campaign, coupon_id in _candidates(session, customer_id, at):
        terms = terms_of(campaign)
        if applies(terms, place, at):
            off = discount_fen(terms, price_fen, payment_uuid)
            if off > 0:
                ranked.append((-off, campaign.id, coupon_id or 0, campaign, coupon_id))
    for _, _, _, campaign, coupon_id in sorted(ranked, key=lambda r: r[:3]):
        locked = session.scalars(_LOCK, {"campaign_id": campaign.id}).one()
        off = discount_fen(terms_of(locked), price_fen, payment_uuid)
        if (locked.status == "active" and off > 0 and locked.spent_fen + off <= locked.budget_fen
                and _within_limits(session, locked, customer_id, business_date)):
            return Offer(locked, coupon_id, off)
    return None


def funder_leg(session: Session, offer: Offer) -> Leg:
    """The funder's campaign account pays the discount to the merchant."""
    return Leg(campaign_account_id(session, offer.campaign.id), "D", offer.discount_fen)


def record_use(session: Session, offer: Offer, payment_id: int, customer_id: int, business_date: str,
               price_fen: int) -> None:
    """Spend the budget (the campaign ends when it is all spent), use the coupon, and keep the use:
    unique per payment, so a repeat of the payment can never use it again."""
    campaign = offer.campaign
    if offer.slice_id is not None:   # reserved from the budget when the slice was granted
        from backend.services import campaign_slices
        campaign_slices.spend(session, offer)
    else:
        campaign.spent_fen += offer.discount_fen
    if campaign.spent_fen >= campaign.budget_fen and offer.slice_id is None:
        campaign.status = "ended"
    if offer.coupon_id is not None:
        taken = session.execute(update(Coupon).where(Coupon.id == offer.coupon_id, Coupon.status.in_(USABLE_COUPON))
                                .values(status="used", used_payment_id=payment_id))
        if taken.rowcount != 1:
            raise RuntimeError(f"coupon {offer.coupon_id} was used meanwhile")   # rolls the payment back
    session.add(CampaignUse(payment_id=payment_id, campaign_id=campaign.id, coupon_id=offer.coupon_id,
                            customer_id=customer_id, business_date=business_date, price_fen=price_fen,
                            discount_fen=offer.discount_fen))
    session.flush()


def use_of(session: Session, payment_id: int) -> CampaignUse | None:
    return session.scalar(select(CampaignUse).where(CampaignUse.payment_id == payment_id))


def price_discount_paid(session: Session, payment) -> dict:  # noqa: ANN001 - a Payment row
    """The payment record's money as the payer saw it: price, the campaign's discount, paid."""
    use = use_of(session, payment.id)
    discount = use.discount_fen if use is not None else 0
    return {"price_fen": payment.amount_fen, "discount_fen": discount, "paid_fen": payment.amount_fen - discount,
            "campaign_id": use.campaign_id if use else None, "coupon_id": use.coupon_id if use else None}


def give_back(session: Session, payment_id: int, price_fen: int, refunded_after_fen: int,
              now: datetime) -> Leg | None:
    """A refund's share for the campaign, in proportion to the price: after the refunds so far the
    campaign has back floor(discount * refunded / price), so a full refund returns exactly the
    discount. Its budget gets the share back; a full refund also restores an unexpired coupon.
    Returns the credit leg to the funder's account (None when there is nothing to give back)."""
    use = use_of(session, payment_id)
    if use is None:
        return None
    campaign = session.scalars(_LOCK, {"campaign_id": use.campaign_id}).one()
    back = use.discount_fen * refunded_after_fen // price_fen - use.returned_fen
    use.returned_fen += back
    campaign.spent_fen -= back
    if refunded_after_fen >= price_fen:
        use.status = "returned"
        _restore_coupon(session, use.coupon_id, now)
    session.flush()
    return Leg(campaign_account_id(session, campaign.id), "C", back) if back > 0 else None


def undo_use(session: Session, payment_id: int, now: datetime) -> None:
    """The payment was reversed whole (the bank's unknown outcome): its discount goes back."""
    use = use_of(session, payment_id)
    if use is not None and use.status == "applied":
        give_back(session, payment_id, use.price_fen, use.price_fen, now)


def _restore_coupon(session: Session, coupon_id: int | None, now: datetime) -> None:
    if coupon_id is None:
        return
    coupon = session.get(Coupon, coupon_id)
    coupon.status = "restored" if coupon.expires_at > now else "expired"
    coupon.used_payment_id = None
