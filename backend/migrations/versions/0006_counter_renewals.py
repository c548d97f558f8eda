"""counter renewals: member renewals paid at the car park's counter go on the ledger and into settlement

A renewal paid in cash or by card at the counter is money the merchant took itself: it is booked
D merchant_cash:<merchant> / C merchant:<merchant>, and settlement clears it against the payable
without paying it out. This adds the account kind `merchant_cash`, the renewal's business date and
posting, and the settled day's `counter_fen`.

Revision ID: 0006_counter_renewals
Revises: 0005_paycodes
Create Date: 2026-11-26 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_counter_renewals'
down_revision = '0005_paycodes'
branch_labels = None
depends_on = None

OLD_KINDS = ("wallet", "subsidy", "subsidy_funding", "merchant", "deposit_clearing", "bank_clearing", "bank_pending")
NEW_KINDS = OLD_KINDS + ("merchant_cash",)


def _kinds(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def _set_kinds(kinds: tuple[str, ...]) -> None:
    # SQLite cannot alter a CHECK constraint: batch mode copies the table with the new one.
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ledger_accounts_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ledger_accounts_kind'), _kinds(kinds))


def upgrade() -> None:
    _set_kinds(NEW_KINDS)
    with op.batch_alter_table('parking_member_renewals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('business_date', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('posting_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_parking_member_renewals_posting_id_ledger_postings'),
                                    'ledger_postings', ['posting_id'], ['id'])
    with op.batch_alter_table('settlement_days', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counter_fen', sa.BigInteger(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('settlement_days', schema=None) as batch_op:
        batch_op.drop_column('counter_fen')
    with op.batch_alter_table('parking_member_renewals', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_parking_member_renewals_posting_id_ledger_postings'), type_='foreignkey')
        batch_op.drop_column('posting_id')
        batch_op.drop_column('business_date')
    _set_kinds(OLD_KINDS)      # refused by the database while merchant_cash accounts exist
