"""journal keys: each audit_entry row names the HMAC key that sealed it (NULL: sealed by plain SHA-256)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:10:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Adding a column is not an UPDATE: the append-only trigger does not fire and existing rows keep their seal.
    op.add_column("audit_entry", sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_entry", "key_id")
