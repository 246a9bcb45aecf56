"""Customer message templates (a versioned, admin-edited document), staff quiet hours, and customer messages keyed
by an order id as well as a ticket number

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 07:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_templates_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "version"),
    )
    op.add_column("app_user", sa.Column("quiet_from", sa.Time(), nullable=True))
    op.add_column("app_user", sa.Column("quiet_until", sa.Time(), nullable=True))
    op.alter_column("customer_message", "ticket_no", type_=sqlmodel.sql.sqltypes.AutoString(length=64))


def downgrade() -> None:
    op.alter_column("customer_message", "ticket_no", type_=sqlmodel.sql.sqltypes.AutoString(length=20))
    op.drop_column("app_user", "quiet_until")
    op.drop_column("app_user", "quiet_from")
    op.drop_table("message_templates_version")
