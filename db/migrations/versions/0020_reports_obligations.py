"""Report obligations: the report policy (versioned, seeded with version 1), reports and their files

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 07:00:00
"""

import json

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# Frozen copy of core.reports.default_report_policy() as of this migration.
_SEED = {
    "name": "center",
    "version": 1,
    "major_customers": {"C-1001": "华信物流有限公司"},
    "operation_due": {"amount": 5, "unit": "working_days"},
    "fault_due": {"amount": 24, "unit": "hours"},
    "quarterly_due": {"amount": 10, "unit": "working_days"},
    "writer_role": "supervisor",
    "manager_role": "supervisor",
}


def upgrade() -> None:
    op.create_table(
        "report_policy_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "version"),
    )
    op.execute(
        sa.text(
            "INSERT INTO report_policy_version (name, version, spec, created_by, created_at) "
            "VALUES ('center', 1, CAST(:spec AS jsonb), 'migration', now())"
        ).bindparams(spec=json.dumps(_SEED, ensure_ascii=False))
    )
    op.create_table(
        "report",
        sa.Column("report_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("fault_ref", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("sections", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("report_id"),
        sa.UniqueConstraint("workflow_id"),
    )
    op.create_index("ix_report_kind_due", "report", ["kind", "due_at"])
    op.create_index(op.f("ix_report_status"), "report", ["status"])
    op.create_index(op.f("ix_report_customer_id"), "report", ["customer_id"])
    op.create_table(
        "report_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("format", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_id", "format"),
    )
    op.create_index(op.f("ix_report_file_report_id"), "report_file", ["report_id"])


def downgrade() -> None:
    op.drop_table("report_file")
    op.drop_table("report")
    op.drop_table("report_policy_version")
