"""campaigns, coupons and campaign uses; the ledger account kind campaign_funding

New tables only, and one more account kind (the funder's campaign account, code campaign:<id>,
pays a payment's discount to the merchant). A database holding data upgrades as it is on SQLite
and PostgreSQL.

Revision ID: 0010_campaigns
Revises: 0009_face_desk
Create Date: 2026-12-03 14:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_campaigns'
down_revision = '0009_face_desk'
branch_labels = None
depends_on = None

OLD_KINDS = ("wallet", "subsidy", "subsidy_funding", "merchant", "deposit_clearing", "bank_clearing",
             "bank_pending", "merchant_cash")
NEW_KINDS = OLD_KINDS + ("campaign_funding",)
UTC = sa.DateTime(timezone=True)


def _set_kinds(kinds: tuple[str, ...]) -> None:
    # SQLite cannot alter a CHECK constraint: batch mode copies the table with the new one.
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ledger_accounts_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ledger_accounts_kind'),
                                         "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")")


def upgrade() -> None:
    _set_kinds(NEW_KINDS)
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('funder_kind', sa.String(length=16), nullable=False),
    sa.Column('funder_merchant_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('min_fen', sa.BigInteger(), nullable=True),
    sa.Column('max_fen', sa.BigInteger(), nullable=True),
    sa.Column('percent_off', sa.Integer(), nullable=True),
    sa.Column('cap_fen', sa.BigInteger(), nullable=True),
    sa.Column('threshold_fen', sa.BigInteger(), nullable=True),
    sa.Column('merchant_ids', sa.JSON(), nullable=False),
    sa.Column('site_ids', sa.JSON(), nullable=False),
    sa.Column('scenes', sa.JSON(), nullable=False),
    sa.Column('methods', sa.JSON(), nullable=False),
    sa.Column('starts_at', UTC, nullable=True),
    sa.Column('ends_at', UTC, nullable=True),
    sa.Column('per_customer_limit', sa.Integer(), nullable=True),
    sa.Column('per_customer_daily_limit', sa.Integer(), nullable=True),
    sa.Column('budget_fen', sa.BigInteger(), nullable=False),
    sa.Column('spent_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.CheckConstraint("status IN ('draft', 'active', 'paused', 'ended')", name=op.f('ck_campaigns_status')),
    sa.CheckConstraint("kind IN ('fixed', 'random', 'percent', 'threshold')", name=op.f('ck_campaigns_kind')),
    sa.CheckConstraint("mode IN ('instant', 'coupon')", name=op.f('ck_campaigns_mode')),
    sa.CheckConstraint("funder_kind IN ('bank', 'merchant')", name=op.f('ck_campaigns_funder_kind')),
    sa.CheckConstraint('spent_fen >= 0 AND spent_fen <= budget_fen', name=op.f('ck_campaigns_within_budget')),
    sa.ForeignKeyConstraint(['created_by'], ['operators.id'], name=op.f('fk_campaigns_created_by_operators')),
    sa.ForeignKeyConstraint(['funder_merchant_id'], ['merchants.id'],
                            name=op.f('fk_campaigns_funder_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    op.create_index(op.f('ix_campaigns_funder_merchant_id'), 'campaigns', ['funder_merchant_id'], unique=False)
    op.create_table('coupons',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('expires_at', UTC, nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('issue_ref', sa.String(length=64), nullable=True),
    sa.Column('used_payment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.CheckConstraint("status IN ('issued', 'used', 'expired', 'restored')", name=op.f('ck_coupons_status')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_coupons_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_coupons_customer_id_customers')),
    sa.ForeignKeyConstraint(['used_payment_id'], ['payments.id'], name=op.f('fk_coupons_used_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupons')),
    sa.UniqueConstraint('issue_ref', name=op.f('uq_coupons_issue_ref'))
    )
    op.create_index(op.f('ix_coupons_campaign_id'), 'coupons', ['campaign_id'], unique=False)
    op.create_index(op.f('ix_coupons_customer_id'), 'coupons', ['customer_id'], unique=False)
    op.create_table('campaign_uses',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('coupon_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('business_date', sa.String(length=10), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('discount_fen', sa.BigInteger(), nullable=False),
    sa.Column('returned_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.CheckConstraint("status IN ('applied', 'returned')", name=op.f('ck_campaign_uses_status')),
    sa.CheckConstraint('discount_fen > 0', name=op.f('ck_campaign_uses_discount_positive')),
    sa.CheckConstraint('returned_fen >= 0 AND returned_fen <= discount_fen', name=op.f('ck_campaign_uses_returned')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_uses_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupons.id'], name=op.f('fk_campaign_uses_coupon_id_coupons')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_campaign_uses_customer_id_customers')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_campaign_uses_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_uses')),
    sa.UniqueConstraint('payment_id', name=op.f('uq_campaign_uses_payment_id'))
    )
    op.create_index(op.f('ix_campaign_uses_campaign_id'), 'campaign_uses', ['campaign_id'], unique=False)
    op.create_index(op.f('ix_campaign_uses_customer_id'), 'campaign_uses', ['customer_id'], unique=False)


def downgrade() -> None:
    op.drop_table('campaign_uses')
    op.drop_table('coupons')
    op.drop_table('campaigns')
    _set_kinds(OLD_KINDS)
