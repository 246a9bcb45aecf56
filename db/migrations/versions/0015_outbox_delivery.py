"""outbox, delivery log, TMF688 event hubs, staff notification channels

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 03:50:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        _str("key", 400),
        _str("event", 120),
        _str("subject", 120),
        _str("recipient", 200),
        _str("channel", 16),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        _str("source_key", 200, nullable=True),
        _str("status", 16),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_attempt_at"),
        _str("last_error", 500, nullable=True),
        _ts("created_at"),
        _ts("delivered_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_outbox_message_lane", "outbox_message", ["subject", "recipient", "id"])
    op.create_index("ix_outbox_message_due", "outbox_message", ["status", "next_attempt_at"])
    op.create_table(
        "outbox_attempt",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        _ts("started_at"),
        _ts("finished_at"),
        _str("outcome", 16),
        sa.Column("response_code", sa.Integer(), nullable=True),
        _str("error", 500, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_outbox_attempt_message_id"), "outbox_attempt", ["message_id"])
    op.create_table(
        "event_hub",
        sa.Column("id", sa.Integer(), nullable=False),
        _str("api", 32),
        _str("callback", 2000),
        _str("query", 1000, nullable=True),
        _str("secret_sealed", 500),
        _str("created_by", 64),
        _ts("created_at"),
        _ts("deleted_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_event_hub_api"), "event_hub", ["api"])
    op.add_column("app_user", _str("email", 200, nullable=True))
    op.add_column("app_user", _str("mobile", 32, nullable=True))
    op.add_column(
        "app_user", sa.Column("notify_by", postgresql.ARRAY(sa.String()), server_default="{}", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("app_user", "notify_by")
    op.drop_column("app_user", "mobile")
    op.drop_column("app_user", "email")
    op.drop_index(op.f("ix_event_hub_api"), table_name="event_hub")
    op.drop_table("event_hub")
    op.drop_index(op.f("ix_outbox_attempt_message_id"), table_name="outbox_attempt")
    op.drop_table("outbox_attempt")
    op.drop_index("ix_outbox_message_due", table_name="outbox_message")
    op.drop_index("ix_outbox_message_lane", table_name="outbox_message")
    op.drop_table("outbox_message")
