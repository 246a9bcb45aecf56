"""audit chain: hash-chained, append-only audit_entry

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 14:09:09.201374
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

# The chain format is a stored contract (db/audit.py): existing rows are sealed with the same function.
from db.audit import GENESIS, HASHED, row_digest

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = """
CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only();
"""


def _seal_existing_rows() -> None:
    """Chain the rows written before this migration, in id order."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, {', '.join(HASHED)} FROM audit_entry ORDER BY id")).mappings().all()
    previous = GENESIS
    for row in rows:
        digest = row_digest(row, previous)
        bind.execute(
            sa.text("UPDATE audit_entry SET prev_hash = :p, row_hash = :h WHERE id = :id"),
            {"p": previous, "h": digest, "id": row["id"]},
        )
        previous = digest


def upgrade() -> None:
    op.add_column("audit_entry", sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column("audit_entry", sa.Column("row_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    _seal_existing_rows()
    op.alter_column("audit_entry", "prev_hash", nullable=False)
    op.alter_column("audit_entry", "row_hash", nullable=False)
    op.execute(APPEND_ONLY)


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_entry_no_truncate ON audit_entry")
    op.execute("DROP TRIGGER audit_entry_append_only ON audit_entry")
    op.execute("DROP FUNCTION audit_entry_append_only()")
    op.drop_column("audit_entry", "row_hash")
    op.drop_column("audit_entry", "prev_hash")
