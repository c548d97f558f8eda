"""The campaign invariants every campaign test checks against the database itself: the ledger
balances, no budget is spent beyond itself, the budget spent is what the uses cost, the funder's
account carries exactly that (less what settlement set off against a funding merchant's payout), and no coupon serves two payments at once."""
from __future__ import annotations

from sqlalchemy import case, func, select

from backend.models.campaigns import Campaign, CampaignSlice, CampaignUse, Coupon
from backend.models.ledger import Account, Entry, Posting
from backend.services.ledger import balance_of, check_ledger


def settled_back(session, account_id: int) -> int:  # noqa: ANN001
    """What settlement postings credited (less debited) to the account: the funding merchant's set-off."""
    signed = case((Entry.side == "C", Entry.amount_fen), else_=-Entry.amount_fen)
    return int(session.scalar(select(func.coalesce(func.sum(signed), 0)).join(Posting, Posting.id == Entry.posting_id)
                              .where(Entry.account_id == account_id, Posting.kind == "settlement")))


def campaign_problems(app) -> list[str]:  # noqa: ANN001
    problems: list[str] = []
    with app.state.sessions() as session:
        problems += check_ledger(session)
        for campaign in session.scalars(select(Campaign)):
            net = session.scalar(select(func.coalesce(func.sum(CampaignUse.discount_fen - CampaignUse.returned_fen), 0))
                                 .where(CampaignUse.campaign_id == campaign.id))
            account = session.scalar(select(Account.id).where(Account.code == f"campaign:{campaign.id}"))
            funder = -balance_of(session, account) if account is not None else 0
            # Settlement pays a merchant-funded campaign's account back from its merchant's payout.
            funder += settled_back(session, account) if account is not None else 0
            if not 0 <= campaign.spent_fen <= campaign.budget_fen:
                problems.append(f"campaign {campaign.id} spent {campaign.spent_fen} of {campaign.budget_fen}")
            # Offline budget slices are reserved in spent_fen until their terminals use them (issue 17).
            reserved = session.scalar(select(func.coalesce(func.sum(CampaignSlice.granted_fen - CampaignSlice.used_fen), 0))
                                      .where(CampaignSlice.campaign_id == campaign.id))
            if campaign.spent_fen != net + reserved or funder != net:
                problems.append(f"campaign {campaign.id}: spent {campaign.spent_fen}, uses {net}, reserved {reserved}, "
                                f"funder paid {funder}")
        applied = session.execute(select(CampaignUse.coupon_id, func.count()).where(
            CampaignUse.coupon_id.is_not(None), CampaignUse.status == "applied").group_by(CampaignUse.coupon_id))
        for coupon_id, count in applied:
            status = session.get(Coupon, coupon_id).status
            if count > 1 or status != "used":
                problems.append(f"coupon {coupon_id} serves {count} payments and is {status}")
    return problems
