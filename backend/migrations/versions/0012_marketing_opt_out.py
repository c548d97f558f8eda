"""customers: marketing opt-out

A customer who opted out of marketing gets no offers recommended from their habits and no
targeted coupons (issue 17). A table of its own (one row per customer who opted out, with when),
so customers keep their shape and everyone else starts opted in, as the seed platform's terms had.

Revision ID: 0012_marketing_opt_out
Revises: 0011_change_feed_index
Create Date: 2026-12-03 18:05:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0012_marketing_opt_out'
down_revision = '0011_change_feed_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'marketing_opt_outs',
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_marketing_opt_outs_customer_id_customers')),
        sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_marketing_opt_outs')),
    )


def downgrade() -> None:
    op.drop_table('marketing_opt_outs')
