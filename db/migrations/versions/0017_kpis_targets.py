"""KPI targets and owners: a versioned, admin-edited document, seeded with version 1

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 04:50:00
"""

import json

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# Frozen copy of core.kpis.default_targets() as of this migration.
_SEED = {
    "name": "center",
    "version": 1,
    "targets": {
        "response_timeliness": {"target": 0.95, "owner": "supervisor"},
        "plan_timeliness": {"target": 0.95, "owner": "supervisor"},
        "resolution_timeliness": {"target": 0.9, "owner": "supervisor"},
        "resource_check_timeliness": {"target": 0.95, "owner": "coordinator"},
        "activation_timeliness": {"target": 0.95, "owner": "coordinator"},
        "sla_breaches": {"target": 0.0, "owner": "supervisor"},
        "satisfaction_rate": {"target": 0.95, "owner": "supervisor"},
        "reopen_rate": {"target": 0.05, "owner": "supervisor"},
    },
}


def upgrade() -> None:
    op.create_table(
        "kpi_targets_version",
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
            "INSERT INTO kpi_targets_version (name, version, spec, created_by, created_at) "
            "VALUES ('center', 1, CAST(:spec AS jsonb), 'migration', now())"
        ).bindparams(spec=json.dumps(_SEED))
    )


def downgrade() -> None:
    op.drop_table("kpi_targets_version")
