"""campaigns: offline budget slices

One row per terminal and opening of an instant campaign's budget slice (issue 17): money reserved
from the campaign's budget that the terminal may give away offline, reconciled when it pushes.
Which campaigns terminals may give offline, and each terminal's slice size, is a table of its own
(offline_campaigns: without a row a campaign is online only), so the campaigns row keeps its
shape. New tables only; at most one open slice per campaign and terminal (a partial unique index,
on SQLite and PostgreSQL alike).

Revision ID: 0013_campaign_slices
Revises: 0012_marketing_opt_out
Create Date: 2026-12-03 18:15:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0013_campaign_slices'
down_revision = '0012_marketing_opt_out'
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'offline_campaigns',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('share_pct', sa.Integer(), nullable=False),
        sa.Column('cap_fen', sa.BigInteger(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.CheckConstraint('share_pct >= 1 AND share_pct <= 100', name=op.f('ck_offline_campaigns_share_pct')),
        sa.CheckConstraint('cap_fen >= 1', name=op.f('ck_offline_campaigns_cap_fen')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_offline_campaigns_campaign_id_campaigns')),
        sa.PrimaryKeyConstraint('campaign_id', name=op.f('pk_offline_campaigns')),
    )
    op.create_table(
        'campaign_slices',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('terminal_id', sa.Integer(), nullable=False),
        sa.Column('granted_fen', sa.BigInteger(), nullable=False),
        sa.Column('used_fen', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.Column('closed_at', UTC, nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_campaign_slices_status')),
        sa.CheckConstraint('used_fen >= 0 AND used_fen <= granted_fen', name=op.f('ck_campaign_slices_within_grant')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_slices_campaign_id_campaigns')),
        sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_campaign_slices_terminal_id_terminals')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_slices')),
    )
    op.create_index(op.f('ix_campaign_slices_campaign_id'), 'campaign_slices', ['campaign_id'], unique=False)
    op.create_index(op.f('ix_campaign_slices_terminal_id'), 'campaign_slices', ['terminal_id'], unique=False)
    op.create_index('uq_campaign_slices_open', 'campaign_slices', ['campaign_id', 'terminal_id'], unique=True,
                    sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index('uq_campaign_slices_open', table_name='campaign_slices')
    op.drop_index(op.f('ix_campaign_slices_terminal_id'), table_name='campaign_slices')
    op.drop_index(op.f('ix_campaign_slices_campaign_id'), table_name='campaign_slices')
    op.drop_table('campaign_slices')
    op.drop_table('offline_campaigns')
