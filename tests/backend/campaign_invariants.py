"""The campaign invariants every campaign test checks against the database itself: the ledger
balances, no budget is spent beyond itself, the budget spent is what the uses cost, the funder's
account carries exactly that, and no coupon serves two payments at once."""
from __future__ import annotations

from sqlalchemy import func, select

from backend.models.campaigns import Campaign, CampaignUse, Coupon
from backend.models.ledger import Account
from backend.services.ledger import balance_of, check_ledger


def campaign_problems(app) -> list[str]:  # noqa: ANN001
    problems: list[str] = []
    with app.state.sessions() as session:
        problems += check_ledger(session)
        for campaign in session.scalars(select(Campaign)):
            net = session.scalar(select(func.coalesce(func.sum(CampaignUse.discount_fen - CampaignUse.returned_fen), 0))
                                 .where(CampaignUse.campaign_id == campaign.id))
            account = session.scalar(select(Account.id).where(Account.code == f"campaign:{campaign.id}"))
            funder = -balance_of(session, account) if account is not None else 0
            if not 0 <= campaign.spent_fen <= campaign.budget_fen:
                problems.append(f"campaign {campaign.id} spent {campaign.spent_fen} of {campaign.budget_fen}")
            if campaign.spent_fen != net or funder != net:
                problems.append(f"campaign {campaign.id}: spent {campaign.spent_fen}, uses {net}, funder paid {funder}")
        applied = session.execute(select(CampaignUse.coupon_id, func.count()).where(
            CampaignUse.coupon_id.is_not(None), CampaignUse.status == "applied").group_by(CampaignUse.coupon_id))
        for coupon_id, count in applied:
            status = session.get(Coupon, coupon_id).status
            if count > 1 or status != "used":
                problems.append(f"coupon {coupon_id} serves {count} payments and is {status}")
    return problems
