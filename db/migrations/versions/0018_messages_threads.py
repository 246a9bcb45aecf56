"""customer message threads (e-mail and online messages) and replies on them through the customer-message outbox

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 07:10:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

from db.roles import APP_ROLE

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "message_thread",
        _str("thread_id", 32),
        _str("workflow_id", 64),
        _str("channel", 16),
        _str("urgency", 16),
        _str("status", 16),
        _str("customer_id", 64, nullable=True),
        _str("customer_name", 200, nullable=True),
        _str("ticket_no", 20, nullable=True),
        _str("contact", 200),
        _str("subject", 500),
        _str("message_id", 300, nullable=True),
        _ts("received_at"),
        _ts("acknowledge_due"),
        _ts("answer_due"),
        _ts("acknowledged_at", nullable=True),
        _ts("answered_at", nullable=True),
        sa.Column("complex", sa.Boolean(), nullable=False),
        _str("created_by", 64),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("thread_id"),
        sa.UniqueConstraint("workflow_id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_message_thread_status_due", "message_thread", ["status", "acknowledge_due"])
    op.create_index(op.f("ix_message_thread_customer_id"), "message_thread", ["customer_id"])
    op.create_index(op.f("ix_message_thread_ticket_no"), "message_thread", ["ticket_no"])
    op.create_index(op.f("ix_message_thread_received_at"), "message_thread", ["received_at"])
    op.add_column("customer_message", _str("thread_id", 32, nullable=True))
    op.create_index(op.f("ix_customer_message_thread_id"), "customer_message", ["thread_id"])
    op.alter_column("customer_message", "ticket_no", existing_type=sa.String(length=20), nullable=True)
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON message_thread TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DELETE FROM customer_message WHERE ticket_no IS NULL")
    op.alter_column("customer_message", "ticket_no", existing_type=sa.String(length=20), nullable=False)
    op.drop_index(op.f("ix_customer_message_thread_id"), table_name="customer_message")
    op.drop_column("customer_message", "thread_id")
    op.drop_table("message_thread")
