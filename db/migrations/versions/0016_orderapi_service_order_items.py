"""service order items: a TMF641 order of several items is one provisioning order (row) per item

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 03:40:00

An item's row names the TMF641 order it belongs to (`service_order_id`), its place and TMF item id, and the
order's aggregated TMF state (`order_state`, the same on every item of the order). A one-item order keeps them
NULL: its own row is the order.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.add_column("service_order", sa.Column("service_order_id", _TEXT(length=32), nullable=True))
    op.add_column("service_order", sa.Column("item_position", sa.Integer(), nullable=True))
    op.add_column("service_order", sa.Column("item_id", _TEXT(length=16), nullable=True))
    op.add_column("service_order", sa.Column("order_state", _TEXT(length=32), nullable=True))
    op.create_index("ix_service_order_service_order_id", "service_order", ["service_order_id"], unique=False)
    op.create_unique_constraint("uq_service_order_item", "service_order", ["service_order_id", "item_position"])


def downgrade() -> None:
    op.drop_constraint("uq_service_order_item", "service_order", type_="unique")
    op.drop_index("ix_service_order_service_order_id", table_name="service_order")
    for column in ("order_state", "item_id", "item_position", "service_order_id"):
        op.drop_column("service_order", column)
