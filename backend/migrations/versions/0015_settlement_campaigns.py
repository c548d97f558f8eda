"""settlement: campaigns in the settled day

The day's bank-funded and merchant-funded campaign discounts (sources of gross) and the set-off of
the merchant's own campaigns against its payout (issue 17, docs/MARKETING.md "Settlement"). NULL
on days closed before: they were settled without it and are never rewritten, and their payout
files keep the columns they were made with.

Revision ID: 0015_settlement_campaigns
Revises: 0014_habit_offers
Create Date: 2026-12-03 18:40:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0015_settlement_campaigns'
down_revision = '0014_habit_offers'
branch_labels = None
depends_on = None

COLUMNS = ('campaign_bank_fen', 'campaign_merchant_fen', 'campaign_setoff_fen')


def upgrade() -> None:
    with op.batch_alter_table('settlement_days', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('settlement_days', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
