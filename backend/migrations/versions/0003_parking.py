"""parking: rules, members, blacklist, sessions, events, QR orders

Revision ID: 0003_parking
Revises: 0002_money
Create Date: 2026-11-25 00:57:37.182376
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_parking'
down_revision = '0002_money'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Alembic autogenerate output, reviewed by hand: works on SQLite (batch) and PostgreSQL.
    op.create_table('parking_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parking_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_parking_events_event_id'))
    )
    with op.batch_alter_table('parking_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parking_events_session_id'), ['session_id'], unique=False)

    op.create_table('parking_blacklist',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_parking_blacklist_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parking_blacklist')),
    sa.UniqueConstraint('site_id', 'plate', name='uq_parking_blacklist_site_plate')
    )
    with op.batch_alter_table('parking_blacklist', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parking_blacklist_site_id'), ['site_id'], unique=False)

    op.create_table('parking_members',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('plan', sa.String(length=16), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('holder_name_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('masked_name', sa.String(length=40), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'suspended')", name=op.f('ck_parking_members_status')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_parking_members_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parking_members')),
    sa.UniqueConstraint('site_id', 'plate', name='uq_parking_members_site_plate')
    )
    with op.batch_alter_table('parking_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parking_members_site_id'), ['site_id'], unique=False)

    op.create_table('parking_orders',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=8), nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=True),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('plan', sa.String(length=16), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('out_trade_no', sa.String(length=32), nullable=False),
    sa.Column('code_url', sa.String(length=200), nullable=False),
    sa.Column('channel_txn_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'paid', 'closed')", name=op.f('ck_parking_orders_status')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_parking_orders_amount')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_parking_orders_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parking_orders')),
    sa.UniqueConstraint('out_trade_no', name=op.f('uq_parking_orders_out_trade_no'))
    )
    with op.batch_alter_table('parking_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parking_orders_site_id'), ['site_id'], unique=False)

    op.create_table('parking_rules',
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('tariffs', sa.JSON(), nullable=False),
    sa.Column('no_entry_fee_fen', sa.BigInteger(), nullable=False),
    sa.Column('repeat_entry', sa.String(length=8), nullable=False),
    sa.Column('plans', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("repeat_entry IN ('replace', 'refuse')", name=op.f('ck_parking_rules_repeat_entry')),
    sa.CheckConstraint('no_entry_fee_fen >= 0', name=op.f('ck_parking_rules_no_entry_fee')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_parking_rules_site_id_sites')),
    sa.PrimaryKeyConstraint('site_id', name=op.f('pk_parking_rules'))
    )
    op.create_table('parking_sessions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('plate_colour', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entry_lane_id', sa.Integer(), nullable=True),
    sa.Column('entry_terminal_id', sa.Integer(), nullable=True),
    sa.Column('entry_image_ref', sa.String(length=200), nullable=True),
    sa.Column('exited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('exit_lane_id', sa.Integer(), nullable=True),
    sa.Column('exit_terminal_id', sa.Integer(), nullable=True),
    sa.Column('exit_image_ref', sa.String(length=200), nullable=True),
    sa.Column('fee_fen', sa.BigInteger(), nullable=True),
    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('pay_kind', sa.String(length=24), nullable=True),
    sa.Column('payment_ref', sa.String(length=36), nullable=True),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('flag_reason', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('inside', 'exited', 'replaced')", name=op.f('ck_parking_sessions_status')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_parking_sessions_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parking_sessions'))
    )
    with op.batch_alter_table('parking_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parking_sessions_plate'), ['plate'], unique=False)
        batch_op.create_index(batch_op.f('ix_parking_sessions_site_id'), ['site_id'], unique=False)

    op.create_table('parking_member_renewals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('renewal_id', sa.String(length=36), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('plan', sa.String(length=16), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid_via', sa.String(length=16), nullable=False),
    sa.Column('order_id', sa.String(length=36), nullable=True),
    sa.Column('valid_to_before', sa.Date(), nullable=True),
    sa.Column('valid_to_after', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['parking_members.id'], name=op.f('fk_parking_member_renewals_member_id_parking_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parking_member_renewals')),
    sa.UniqueConstraint('renewal_id', name=op.f('uq_parking_member_renewals_renewal_id'))
    )
    with op.batch_alter_table('parking_member_renewals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parking_member_renewals_member_id'), ['member_id'], unique=False)



def downgrade() -> None:
    # Alembic autogenerate output, reviewed by hand: works on SQLite (batch) and PostgreSQL.
    with op.batch_alter_table('parking_member_renewals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parking_member_renewals_member_id'))

    op.drop_table('parking_member_renewals')
    with op.batch_alter_table('parking_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parking_sessions_site_id'))
        batch_op.drop_index(batch_op.f('ix_parking_sessions_plate'))

    op.drop_table('parking_sessions')
    op.drop_table('parking_rules')
    with op.batch_alter_table('parking_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parking_orders_site_id'))

    op.drop_table('parking_orders')
    with op.batch_alter_table('parking_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parking_members_site_id'))

    op.drop_table('parking_members')
    with op.batch_alter_table('parking_blacklist', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parking_blacklist_site_id'))

    op.drop_table('parking_blacklist')
    with op.batch_alter_table('parking_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parking_events_session_id'))

    op.drop_table('parking_events')
