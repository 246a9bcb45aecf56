"""circuit closure: a closure order closes the circuit's ledger row (kept, never deleted)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 03:50:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("circuit_ledger", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "circuit_ledger", sa.Column("closure_order_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("circuit_ledger", "closure_order_id")
    op.drop_column("circuit_ledger", "closed_at")
