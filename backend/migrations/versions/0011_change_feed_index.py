"""change feed: index the pull's scan by merchant, in cursor order

A pull reads the bank-wide changes (merchant_id IS NULL) and its own merchant's changes after
its cursor, in id order. With only the primary key, PostgreSQL and SQLite walk every change after
the cursor, every other merchant's included, and drop those: a pull's cost followed the whole
bank's traffic. ix_sync_changes_merchant_id_id serves each half as a range scan (see
backend.services.changes.changes_page and docs/BENCHMARKS.md for the plans before and after).

Revision ID: 0011_change_feed_index
Revises: 0010_campaigns
Create Date: 2026-12-03 14:30:00
"""
from alembic import op


revision = '0011_change_feed_index'
down_revision = '0010_campaigns'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_sync_changes_merchant_id_id', 'sync_changes', ['merchant_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sync_changes_merchant_id_id', table_name='sync_changes')
