"""A customer's tickets counted by registration: (customer_id, registered_at) over first cycles

The KPIs counted by registration (complaint callbacks, 48 h completion, reopen rate, satisfaction) asked for one
customer read every cycle of that customer's year through (customer_id, started_at) and filtered the month: ~200
heap rows for ~17, mostly cold pages (EXPLAIN ANALYZE at 1M tickets: 156 of 209 buffers read, up to 265 ms over
HTTP). Department, lead and handler got the same index in 0026. No new table: nothing to grant.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-02 15:20:00
"""

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_kpi_ticket_cycle_registered_customer ON kpi_ticket_cycle (customer_id, registered_at) "
        "WHERE number = 1"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_kpi_ticket_cycle_registered_customer")
