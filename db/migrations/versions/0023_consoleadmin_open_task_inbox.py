"""The inbox's open tasks in the inbox's order: a partial index (priority desc, due_at, task_id) where open

The inbox page was a sequential scan of every task and a top-N sort (EXPLAIN ANALYZE: 9 ms at 10,000 open
tasks, growing with them); in this order it reads only the first rows that pass the candidate filter, whose
columns the index carries so the count can be answered from it too. No new table: nothing to grant.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 06:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_human_task_open_inbox",
        "human_task",
        [sa.text("priority DESC"), "due_at", "task_id"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
        postgresql_include=["assignee", "candidate_department", "candidate_roles"],
    )


def downgrade() -> None:
    op.drop_index("ix_human_task_open_inbox", table_name="human_task")
