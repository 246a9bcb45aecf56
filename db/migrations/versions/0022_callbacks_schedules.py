"""Scheduled customer callbacks: one row per callback (its window, task, result, raised ticket)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 07:10:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from db.roles import APP_ROLE

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callback",
        sa.Column("callback_id", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("subject_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("scheduled_for", sa.Date(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("needs", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("ticket_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("done_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("callback_id"),
    )
    op.create_index("ix_callback_workflow_id", "callback", ["workflow_id"])
    op.create_index("ix_callback_subject_id", "callback", ["subject_id"])
    op.create_index("ix_callback_customer_id", "callback", ["customer_id"])
    op.create_index("ix_callback_due_at", "callback", ["due_at"])
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON callback TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_table("callback")
