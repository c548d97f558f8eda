"""bank intents: a bank card debit is recorded and committed before the bank is asked

A new table only (no existing table is rebuilt, so a database holding data upgrades as it is on
SQLite and PostgreSQL). Payments booked before this revision have no intent; they need none.

Revision ID: 0007_bank_intents
Revises: 0006_counter_renewals
Create Date: 2026-11-27 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_bank_intents'
down_revision = '0006_counter_renewals'
branch_labels = None
depends_on = None

STATUSES = ('asked', 'booked', 'declined', 'pending_bank', 'returning', 'returned', 'not_taken')


def _utc():  # noqa: ANN202
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    # Alembic autogenerate output, reviewed by hand.
    op.create_table('bank_intents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ref', sa.String(length=36), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('card_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('asked_at', _utc(), nullable=False),
    sa.Column('settled_at', _utc(), nullable=True),
    sa.CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")",
                       name=op.f('ck_bank_intents_status')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_bank_intents_amount_positive')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_bank_intents_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_intents')),
    sa.UniqueConstraint('ref', name=op.f('uq_bank_intents_ref'))
    )
    op.create_index('ix_bank_intents_status_asked_at', 'bank_intents', ['status', 'asked_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_bank_intents_status_asked_at', table_name='bank_intents')
    op.drop_table('bank_intents')
