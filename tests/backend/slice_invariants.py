"""The budget-slice invariants (issue 17), checked against the database itself: no slice used
beyond its grant, the campaign's budget never spent beyond itself with the slices reserved in it,
what the slices used is what their pushed discounts cost, the funder's account carries exactly
the uses, and the ledger balances."""
from __future__ import annotations

from sqlalchemy import func, select

from backend.models.campaigns import Campaign, CampaignSlice, CampaignUse
from backend.models.ledger import Account
from backend.models.payments import Payment
from backend.services.ledger import balance_of, check_ledger


def slice_problems(app) -> list[str]:  # noqa: ANN001
    problems: list[str] = []
    with app.state.sessions() as session:
        problems += check_ledger(session)
        for campaign in session.scalars(select(Campaign)):
            uses = select(func.coalesce(func.sum(CampaignUse.discount_fen - CampaignUse.returned_fen), 0)).where(
                CampaignUse.campaign_id == campaign.id)
            net = session.scalar(uses)
            offline_given = session.scalar(select(func.coalesce(func.sum(CampaignUse.discount_fen), 0)).join(
                Payment, Payment.id == CampaignUse.payment_id).where(
                CampaignUse.campaign_id == campaign.id, Payment.offline.is_(True)))
            pieces = session.scalars(select(CampaignSlice).where(CampaignSlice.campaign_id == campaign.id)).all()
            reserved = sum(p.granted_fen - p.used_fen for p in pieces)
            used = sum(p.used_fen for p in pieces)
            account = session.scalar(select(Account.id).where(Account.code == f"campaign:{campaign.id}"))
            funder = -balance_of(session, account) if account is not None else 0
            if not 0 <= campaign.spent_fen <= campaign.budget_fen:
                problems.append(f"campaign {campaign.id} spent {campaign.spent_fen} of {campaign.budget_fen}")
            if campaign.spent_fen != net + reserved:
                problems.append(f"campaign {campaign.id}: spent {campaign.spent_fen} != uses {net} "
                                f"+ reserved {reserved}")
            if funder != net:
                problems.append(f"campaign {campaign.id}: funder paid {funder}, uses {net}")
            if used != offline_given:
                problems.append(f"campaign {campaign.id}: slices used {used}, offline discounts {offline_given}")
            for piece in pieces:
                if not 0 <= piece.used_fen <= piece.granted_fen:
                    problems.append(f"slice {piece.id} used {piece.used_fen} of {piece.granted_fen}")
                if piece.status == "closed" and piece.granted_fen != piece.used_fen:
                    problems.append(f"closed slice {piece.id} still holds {piece.granted_fen - piece.used_fen}")
            opened = [p.terminal_id for p in pieces if p.status == "open"]
            if len(opened) != len(set(opened)):
                problems.append(f"campaign {campaign.id}: two open slices for one terminal")
    return problems
