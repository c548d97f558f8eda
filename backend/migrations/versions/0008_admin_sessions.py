"""admin web: server-side login sessions (logout revokes them) and failed logins (throttling);
bank credit intents: a refund's credit to a bank card is recorded and committed before the bank is asked

New tables only, so a database holding data upgrades as it is on SQLite and PostgreSQL. Cookies
issued before this revision are not in admin_sessions: those operators log in again.

Revision ID: 0008_admin_sessions
Revises: 0007_bank_intents
Create Date: 2026-12-03 08:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_admin_sessions'
down_revision = '0007_bank_intents'
branch_labels = None
depends_on = None


def _utc():  # noqa: ANN202
    return sa.DateTime(timezone=True)


CREDIT_STATUSES = ('asked', 'booked', 'declined', 'not_taken', 'stranded')


def upgrade() -> None:
    op.create_table('admin_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', _utc(), nullable=False),
    sa.Column('expires_at', _utc(), nullable=False),
    sa.Column('revoked_at', _utc(), nullable=True),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_admin_sessions_operator_id_operators')),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_admin_sessions'))
    )
    op.create_index('ix_admin_sessions_expires_at', 'admin_sessions', ['expires_at'], unique=False)
    op.create_table('admin_login_failures',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('at', _utc(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_login_failures'))
    )
    op.create_index('ix_admin_login_failures_client_at', 'admin_login_failures', ['client', 'at'], unique=False)
    op.create_index('ix_admin_login_failures_at', 'admin_login_failures', ['at'], unique=False)
    op.create_table('bank_credit_intents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ref', sa.String(length=80), nullable=False),
    sa.Column('refund_uuid', sa.String(length=36), nullable=False),
    sa.Column('payment_uuid', sa.String(length=36), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('card_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('refund_amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=True),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('asked_at', _utc(), nullable=False),
    sa.Column('settled_at', _utc(), nullable=True),
    sa.CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in CREDIT_STATUSES) + ")",
                       name=op.f('ck_bank_credit_intents_status')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_bank_credit_intents_amount_positive')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                            name=op.f('fk_bank_credit_intents_customer_id_customers')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'],
                            name=op.f('fk_bank_credit_intents_terminal_id_terminals')),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'],
                            name=op.f('fk_bank_credit_intents_operator_id_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_credit_intents')),
    sa.UniqueConstraint('ref', name=op.f('uq_bank_credit_intents_ref'))
    )
    op.create_index('ix_bank_credit_intents_status_asked_at', 'bank_credit_intents', ['status', 'asked_at'],
                    unique=False)
    op.create_index('ix_bank_credit_intents_payment_uuid', 'bank_credit_intents', ['payment_uuid'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_bank_credit_intents_payment_uuid', table_name='bank_credit_intents')
    op.drop_index('ix_bank_credit_intents_status_asked_at', table_name='bank_credit_intents')
    op.drop_table('bank_credit_intents')
    op.drop_index('ix_admin_login_failures_at', table_name='admin_login_failures')
    op.drop_index('ix_admin_login_failures_client_at', table_name='admin_login_failures')
    op.drop_table('admin_login_failures')
    op.drop_index('ix_admin_sessions_expires_at', table_name='admin_sessions')
    op.drop_table('admin_sessions')
