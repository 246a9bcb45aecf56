"""Incidents (emergencies): the versioned incident policy (seeded with version 1), the incident read model and
its linked tickets

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 07:00:00
"""

import json

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

from db.roles import APP_ROLE

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# Frozen copy of core.incidents.default_incident_policy() as of this migration.
_SEED = {
    "name": "default",
    "version": 1,
    "detection": {"threshold": 5, "window_minutes": 60, "incident_class": "system_failure", "level": "larger"},
    "levels": {
        "general": {
            "stage_budgets": {
                "report": {"amount": 1.0, "unit": "hours"},
                "start_plan": {"amount": 2.0, "unit": "hours"},
                "analyse": {"amount": 4.0, "unit": "hours"},
                "solution": {"amount": 4.0, "unit": "hours"},
                "carry_out": {"amount": 24.0, "unit": "hours"},
                "review": {"amount": 3.0, "unit": "working_days"},
            },
            "chain_budget": {"amount": 0.25, "unit": "hours"},
            "progress_every_minutes": 240,
            "management_roles": ["supervisor"],
        },
        "larger": {
            "stage_budgets": {
                "report": {"amount": 0.5, "unit": "hours"},
                "start_plan": {"amount": 1.0, "unit": "hours"},
                "analyse": {"amount": 2.0, "unit": "hours"},
                "solution": {"amount": 2.0, "unit": "hours"},
                "carry_out": {"amount": 12.0, "unit": "hours"},
                "review": {"amount": 3.0, "unit": "working_days"},
            },
            "chain_budget": {"amount": 0.25, "unit": "hours"},
            "progress_every_minutes": 60,
            "management_roles": ["supervisor"],
        },
        "major": {
            "stage_budgets": {
                "report": {"amount": 0.25, "unit": "hours"},
                "start_plan": {"amount": 0.5, "unit": "hours"},
                "analyse": {"amount": 1.0, "unit": "hours"},
                "solution": {"amount": 1.0, "unit": "hours"},
                "carry_out": {"amount": 8.0, "unit": "hours"},
                "review": {"amount": 3.0, "unit": "working_days"},
            },
            "chain_budget": {"amount": 0.25, "unit": "hours"},
            "progress_every_minutes": 30,
            "management_roles": ["supervisor"],
        },
    },
}
_TABLES = ("incident_policy_version", "incident", "incident_ticket")


def upgrade() -> None:
    op.create_table(
        "incident_policy_version",
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
            "INSERT INTO incident_policy_version (name, version, spec, created_by, created_at) "
            "VALUES ('default', 1, CAST(:spec AS jsonb), 'migration', now())"
        ).bindparams(spec=json.dumps(_SEED))
    )
    op.create_table(
        "incident",
        sa.Column("incident_no", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("incident_class", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("level", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("signature_key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("declared_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("incident_no"),
        sa.UniqueConstraint("workflow_id"),
    )
    op.create_index("ix_incident_status", "incident", ["status"])
    op.create_index("ix_incident_created_at", "incident", ["created_at"])
    op.create_index("ix_incident_signature_status", "incident", ["signature_key", "status"])
    op.create_table(
        "incident_ticket",
        sa.Column("incident_no", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("ticket_no", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("incident_no", "ticket_no"),
    )
    op.create_index("ix_incident_ticket_ticket_no", "incident_ticket", ["ticket_no"])
    for table in _TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE incident_policy_version_id_seq TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_table("incident_ticket")
    op.drop_table("incident")
    op.drop_table("incident_policy_version")
