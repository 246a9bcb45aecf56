"""Quality inspection (质检): versioned rules, the inspection read model and its scored reviews

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02 07:15:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

from db.roles import APP_ROLE

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quality_rules_version",
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
        "quality_inspection",
        sa.Column("inspection_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("inspection_id"),
        sa.UniqueConstraint("workflow_id"),
    )
    op.create_table(
        "quality_review",
        sa.Column("inspection_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("ticket_no", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("handler", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("inspector", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("possible", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("inspection_id", "ticket_no"),
    )
    op.create_index("ix_quality_review_scored", "quality_review", ["scored_at"])
    op.create_index("ix_quality_review_handler", "quality_review", ["handler"])
    # The sample is drawn from the tickets closed in a period.
    op.execute("CREATE INDEX ix_ticket_closed ON ticket (closed_at) WHERE closed_at IS NOT NULL")
    tables = "quality_rules_version, quality_inspection, quality_review"
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE quality_rules_version_id_seq TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP INDEX ix_ticket_closed")
    op.drop_table("quality_review")
    op.drop_table("quality_inspection")
    op.drop_table("quality_rules_version")
