"""ticket external ref: one ticket per calling system and TMF621 externalId

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 04:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from db.roles import APP_ROLE

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_external_ref",
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("ticket_no", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("created_by", "external_id"),
    )
    op.create_index("ix_ticket_external_ref_ticket_no", "ticket_external_ref", ["ticket_no"], unique=False)
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ticket_external_ref TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_index("ix_ticket_external_ref_ticket_no", table_name="ticket_external_ref")
    op.drop_table("ticket_external_ref")
