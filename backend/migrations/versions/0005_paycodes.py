"""paycodes: one-time customer pay codes (bank app / campus), stored as keyed hashes

Revision ID: 0005_paycodes
Revises: 0004_settlement
Create Date: 2026-11-25 02:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_paycodes'
down_revision = '0004_settlement'
branch_labels = None
depends_on = None


def _utc():  # noqa: ANN202
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('customer_paycodes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', _utc(), nullable=False),
    sa.Column('used_at', _utc(), nullable=True),
    sa.Column('created_at', _utc(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_paycodes_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_paycodes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_customer_paycodes_code_hash'))
    )
    op.create_index(op.f('ix_customer_paycodes_customer_id'), 'customer_paycodes', ['customer_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_customer_paycodes_customer_id'), table_name='customer_paycodes')
    op.drop_table('customer_paycodes')
