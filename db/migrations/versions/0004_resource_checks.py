"""resource checks: reservations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 17:10:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reservation',
    sa.Column('reservation_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('check_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('item_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('resources', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('claimed_by_order', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('release_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.PrimaryKeyConstraint('reservation_id')
    )
    op.create_index(op.f('ix_reservation_check_id'), 'reservation', ['check_id'], unique=False)
    op.create_index(op.f('ix_reservation_claimed_by_order'), 'reservation', ['claimed_by_order'], unique=False)
    op.create_index('ix_reservation_status_expires', 'reservation', ['status', 'expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_reservation_status_expires', table_name='reservation')
    op.drop_index(op.f('ix_reservation_claimed_by_order'), table_name='reservation')
    op.drop_index(op.f('ix_reservation_check_id'), table_name='reservation')
    op.drop_table('reservation')
