"""settlement: closed days, their items, payout file fingerprints, reconciliation, terminal shifts

Revision ID: 0004_settlement
Revises: 0003_parking
Create Date: 2026-11-25 01:35:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_settlement'
down_revision = '0003_parking'
branch_labels = None
depends_on = None


def _utc():  # noqa: ANN202
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('settlement_days',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('business_date', sa.String(length=10), nullable=False),
    sa.Column('payments', sa.Integer(), nullable=False),
    sa.Column('gross_fen', sa.BigInteger(), nullable=False),
    sa.Column('refunds_fen', sa.BigInteger(), nullable=False),
    sa.Column('wallet_fen', sa.BigInteger(), nullable=False),
    sa.Column('bank_card_fen', sa.BigInteger(), nullable=False),
    sa.Column('channel_fen', sa.BigInteger(), nullable=False),
    sa.Column('subsidy', sa.JSON(), nullable=False),
    sa.Column('fees', sa.JSON(), nullable=False),
    sa.Column('fees_fen', sa.BigInteger(), nullable=False),
    sa.Column('adjustments_fen', sa.BigInteger(), nullable=False),
    sa.Column('adjustments', sa.JSON(), nullable=False),
    sa.Column('net_fen', sa.BigInteger(), nullable=False),
    sa.Column('posting_id', sa.Integer(), nullable=True),
    sa.Column('day_end_at', _utc(), nullable=False),
    sa.Column('closed_at', _utc(), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_settlement_days_merchant_id_merchants')),
    sa.ForeignKeyConstraint(['posting_id'], ['ledger_postings.id'], name=op.f('fk_settlement_days_posting_id_ledger_postings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_days')),
    sa.UniqueConstraint('merchant_id', 'business_date', name='uq_settlement_days_merchant_date')
    )
    op.create_index(op.f('ix_settlement_days_merchant_id'), 'settlement_days', ['merchant_id'])
    op.create_index(op.f('ix_settlement_days_business_date'), 'settlement_days', ['business_date'])
    op.create_table('settlement_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('settlement_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('ref_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('fee_fen', sa.BigInteger(), nullable=False),
    sa.Column('original_date', sa.String(length=10), nullable=False),
    sa.Column('adjustment', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['settlement_id'], ['settlement_days.id'], name=op.f('fk_settlement_items_settlement_id_settlement_days')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_items')),
    sa.UniqueConstraint('kind', 'ref_id', name='uq_settlement_items_kind_ref')
    )
    op.create_index(op.f('ix_settlement_items_settlement_id'), 'settlement_items', ['settlement_id'])
    op.create_table('settlement_payout_files',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('business_date', sa.String(length=10), nullable=False),
    sa.Column('merchants', sa.Integer(), nullable=False),
    sa.Column('csv_sha256', sa.String(length=64), nullable=False),
    sa.Column('xlsx_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_payout_files')),
    sa.UniqueConstraint('business_date', 'merchants', name='uq_settlement_payout_files_date')
    )
    op.create_table('channel_reconciliations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('statement_date', sa.String(length=10), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_reconciliations')),
    sa.UniqueConstraint('channel', 'statement_date', 'file_sha256', name='uq_channel_reconciliations_file')
    )
    op.create_table('reconciliation_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('reconciliation_id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=True),
    sa.Column('ref', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ours_fen', sa.BigInteger(), nullable=True),
    sa.Column('theirs_fen', sa.BigInteger(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['reconciliation_id'], ['channel_reconciliations.id'], name=op.f('fk_reconciliation_items_reconciliation_id_channel_reconciliations')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_reconciliation_items_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_items'))
    )
    op.create_index(op.f('ix_reconciliation_items_reconciliation_id'), 'reconciliation_items', ['reconciliation_id'])
    op.create_index(op.f('ix_reconciliation_items_merchant_id'), 'reconciliation_items', ['merchant_id'])
    op.create_table('terminal_shifts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.String(length=64), nullable=False),
    sa.Column('opened_at', _utc(), nullable=False),
    sa.Column('closed_at', _utc(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('received_at', _utc(), nullable=False),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_terminal_shifts_terminal_id_terminals')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_terminal_shifts_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terminal_shifts')),
    sa.UniqueConstraint('terminal_id', 'shift_id', name='uq_terminal_shifts_terminal_shift')
    )
    op.create_index(op.f('ix_terminal_shifts_terminal_id'), 'terminal_shifts', ['terminal_id'])
    op.create_index(op.f('ix_terminal_shifts_merchant_id'), 'terminal_shifts', ['merchant_id'])
    # settlement reads a merchant's payments by business date; refunds by payment
    op.create_index('ix_payments_merchant_business_date', 'payments', ['merchant_id', 'business_date'])


def downgrade() -> None:
    op.drop_index('ix_payments_merchant_business_date', table_name='payments')
    for table in ('terminal_shifts', 'reconciliation_items', 'channel_reconciliations',
                  'settlement_payout_files', 'settlement_items', 'settlement_days'):
        op.drop_table(table)
