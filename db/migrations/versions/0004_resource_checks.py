"""resource checks: read model, ledger (台帐), reservations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 17:10:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reservation",
        sa.Column("reservation_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("check_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("item_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("resources", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("claimed_by_order", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("reservation_id"),
    )
    op.create_index(op.f("ix_reservation_check_id"), "reservation", ["check_id"], unique=False)
    op.create_index(op.f("ix_reservation_claimed_by_order"), "reservation", ["claimed_by_order"], unique=False)
    op.create_index("ix_reservation_status_expires", "reservation", ["status", "expires_at"], unique=False)
    op.create_table(
        "resource_check",
        sa.Column("check_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("tmf_state", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("qualification_result", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("customer_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("contact", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("check_id"),
        sa.UniqueConstraint("workflow_id"),
    )
    op.create_index(op.f("ix_resource_check_status"), "resource_check", ["status"], unique=False)
    op.create_index(op.f("ix_resource_check_customer_id"), "resource_check", ["customer_id"], unique=False)
    op.create_index(op.f("ix_resource_check_external_id"), "resource_check", ["external_id"], unique=False)
    op.create_index(op.f("ix_resource_check_created_at"), "resource_check", ["created_at"], unique=False)
    op.create_index("ix_resource_check_state_created", "resource_check", ["tmf_state", "created_at"], unique=False)
    op.create_table(
        "resource_check_ledger",
        sa.Column("check_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("customer_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("qualification_result", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("items", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("reservations", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("lines_total", sa.Integer(), nullable=False),
        sa.Column("lines_on_time", sa.Integer(), nullable=False),
        sa.Column("cancel_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("check_id"),
    )
    op.create_index(
        op.f("ix_resource_check_ledger_customer_id"), "resource_check_ledger", ["customer_id"], unique=False
    )
    op.create_index(
        op.f("ix_resource_check_ledger_finished_at"), "resource_check_ledger", ["finished_at"], unique=False
    )


def downgrade() -> None:
    op.drop_table("resource_check_ledger")
    op.drop_table("resource_check")
    op.drop_index("ix_reservation_status_expires", table_name="reservation")
    op.drop_index(op.f("ix_reservation_claimed_by_order"), table_name="reservation")
    op.drop_index(op.f("ix_reservation_check_id"), table_name="reservation")
    op.drop_table("reservation")
