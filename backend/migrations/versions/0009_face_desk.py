"""face desk: model ids on face templates, sealed enrolment photos, the per-site 4-digit check

Existing face templates were all made by dlib's ResNet: the new columns default to model "dlib",
dimension 128, so they keep working and `gatepay backend retemplate --model sface` can make the
new model's templates next to them. Added columns with server defaults and a new table only: a
database holding data upgrades as it is on SQLite and PostgreSQL.

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
    with op.batch_alter_table('face_templates') as batch:
        batch.add_column(sa.Column('model', sa.String(length=16), server_default='dlib', nullable=False))
        batch.add_column(sa.Column('dimension', sa.Integer(), server_default='128', nullable=False))
    with op.batch_alter_table('signings') as batch:
        batch.add_column(sa.Column('confirm_digits', sa.String(length=64), nullable=True))
    with op.batch_alter_table('sites') as batch:
        batch.add_column(sa.Column('face_confirm_enabled', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column('face_confirm_band_pct', sa.Integer(), server_default='100', nullable=False))
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


def downgrade() -> None:
    op.drop_index(op.f('ix_face_photos_signing_id'), table_name='face_photos')
    op.drop_index(op.f('ix_face_photos_customer_id'), table_name='face_photos')
    op.drop_table('face_photos')
    with op.batch_alter_table('sites') as batch:
        batch.drop_column('face_confirm_band_pct')
        batch.drop_column('face_confirm_enabled')
    with op.batch_alter_table('signings') as batch:
        batch.drop_column('confirm_digits')
    with op.batch_alter_table('face_templates') as batch:
        batch.drop_column('dimension')
        batch.drop_column('model')
