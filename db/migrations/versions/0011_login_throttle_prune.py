"""login throttle prune: an index for removing forgotten sign-in counters

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:40:00
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_login_throttle_quiet", "login_throttle", ["kind", "last_failure_at"])


def downgrade() -> None:
    op.drop_index("ix_login_throttle_quiet", table_name="login_throttle")
