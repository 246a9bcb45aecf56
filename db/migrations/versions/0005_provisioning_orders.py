"""provisioning orders

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 17:09:02.677671
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "circuit_ledger",
        sa.Column("circuit_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("circuit_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("a_end", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("z_end", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("bandwidth", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_completion", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("cycle_seconds", sa.Float(), nullable=True),
        sa.Column("documents", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("steps", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("circuit_id"),
        sa.UniqueConstraint("order_id"),
    )
    op.create_table(
        "order_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("uploaded_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "step", "kind", "sha256"),
    )
    op.create_index(op.f("ix_order_document_order_id"), "order_document", ["order_id"], unique=False)
    op.create_table(
        "presales_demand",
        sa.Column("demand_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("demand_id"),
        sa.UniqueConstraint("workflow_id"),
    )
    op.create_index(op.f("ix_presales_demand_created_at"), "presales_demand", ["created_at"], unique=False)
    op.create_index(op.f("ix_presales_demand_customer_id"), "presales_demand", ["customer_id"], unique=False)
    op.create_table(
        "provisioning_rules_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "version"),
    )
    op.create_table(
        "service_order",
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("tmf_state", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("circuit_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("bandwidth", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("current_step", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("cancel_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_completion", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("cycle_seconds", sa.Float(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
        sa.UniqueConstraint("cancel_id"),
        sa.UniqueConstraint("workflow_id"),
    )
    op.create_index(op.f("ix_service_order_created_at"), "service_order", ["created_at"], unique=False)
    op.create_index(op.f("ix_service_order_customer_id"), "service_order", ["customer_id"], unique=False)
    op.create_index("ix_service_order_state_created", "service_order", ["tmf_state", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_service_order_state_created", table_name="service_order")
    op.drop_index(op.f("ix_service_order_customer_id"), table_name="service_order")
    op.drop_index(op.f("ix_service_order_created_at"), table_name="service_order")
    op.drop_table("service_order")
    op.drop_table("provisioning_rules_version")
    op.drop_index(op.f("ix_presales_demand_customer_id"), table_name="presales_demand")
    op.drop_index(op.f("ix_presales_demand_created_at"), table_name="presales_demand")
    op.drop_table("presales_demand")
    op.drop_index(op.f("ix_order_document_order_id"), table_name="order_document")
    op.drop_table("order_document")
    op.drop_table("circuit_ledger")
