"""campaigns: habit-offer campaigns

A row marks a coupon campaign whose coupons are offered to diners from their habits after a
payment (issue 17, services/offers.py). A table of its own so the campaigns row keeps its shape.

Revision ID: 0014_habit_offers
Revises: 0013_campaign_slices
Create Date: 2026-12-03 18:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0014_habit_offers'
down_revision = '0013_campaign_slices'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'habit_offer_campaigns',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('chosen_by', sa.Integer(), nullable=True),
        sa.Column('chosen_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_habit_offer_campaigns_campaign_id_campaigns')),
        sa.ForeignKeyConstraint(['chosen_by'], ['operators.id'], name=op.f('fk_habit_offer_campaigns_chosen_by_operators')),
        sa.PrimaryKeyConstraint('campaign_id', name=op.f('pk_habit_offer_campaigns')),
    )


def downgrade() -> None:
    op.drop_table('habit_offer_campaigns')
