"""face desk: sealed enrolment photos, the 4-digit check's digests and per-site setting

New tables only: existing face templates stay as they are (their sealed bytes say which model
made them; 512 bare bytes are dlib's), and a database holding data upgrades as it is on SQLite
and PostgreSQL.

Revision ID: 0009_face_desk
Revises: 0008_admin_sessions
Create Date: 2026-12-03 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_face_desk'
down_revision = '0008_admin_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('face_photos',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('signing_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('photo_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_face_photos_customer_id_customers')),
    sa.ForeignKeyConstraint(['signing_id'], ['signings.id'], name=op.f('fk_face_photos_signing_id_signings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_face_photos'))
    )
    op.create_index(op.f('ix_face_photos_customer_id'), 'face_photos', ['customer_id'], unique=False)
    op.create_index(op.f('ix_face_photos_signing_id'), 'face_photos', ['signing_id'], unique=False)
    op.create_table('face_confirm_digits',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('phone_hash', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_face_confirm_digits_customer_id_customers')),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_face_confirm_digits'))
    )
    op.create_table('site_face_confirm',
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('band_pct', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_site_face_confirm_site_id_sites')),
    sa.PrimaryKeyConstraint('site_id', name=op.f('pk_site_face_confirm'))
    )


def downgrade() -> None:
    op.drop_table('site_face_confirm')
    op.drop_table('face_confirm_digits')
    op.drop_index(op.f('ix_face_photos_signing_id'), table_name='face_photos')
    op.drop_index(op.f('ix_face_photos_customer_id'), table_name='face_photos')
    op.drop_table('face_photos')
