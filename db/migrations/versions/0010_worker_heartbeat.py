"""worker heartbeat

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:45:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeat",
        sa.Column("worker_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("namespace", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("task_queue", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker_id"),
    )
    op.create_index(
        "ix_worker_heartbeat_queue", "worker_heartbeat", ["namespace", "task_queue", "beat_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_worker_heartbeat_queue", table_name="worker_heartbeat")
    op.drop_table("worker_heartbeat")
