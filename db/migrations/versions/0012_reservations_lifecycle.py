"""reservation history, check feasibility (three results) and construction in the ledger

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 03:50:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "reservation", sa.Column("history", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'"))
    )
    op.add_column(
        "resource_check", sa.Column("feasibility", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
    )
    op.add_column(
        "resource_check_ledger", sa.Column("feasibility", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
    )
    op.add_column(
        "resource_check_ledger",
        sa.Column("construction", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'")),
    )


def downgrade() -> None:
    op.drop_column("resource_check_ledger", "construction")
    op.drop_column("resource_check_ledger", "feasibility")
    op.drop_column("resource_check", "feasibility")
    op.drop_column("reservation", "history")
