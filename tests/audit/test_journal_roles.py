"""The app's database role cannot rewrite the journal: it may only INSERT and SELECT audit_entry, it does not
own the table (no trigger changes) and is no superuser (no replication-role trick)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from core.records import AuditRecord
from db import audit as audit_journal
from db.models import utcnow
from db.roles import APP_ROLE, OWNER_ROLE

ATTEMPTS = {
    "update": ("UPDATE audit_entry SET reason = 'edited' WHERE id = :id", "permission denied for table audit_entry"),
    "delete": ("DELETE FROM audit_entry WHERE id = :id", "permission denied for table audit_entry"),
    "truncate": ("TRUNCATE audit_entry", "permission denied for table audit_entry"),
    "disable-trigger": ("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only", "must be owner"),
    "disable-all-triggers": ("ALTER TABLE audit_entry DISABLE TRIGGER ALL", "must be owner"),
    "drop-trigger": ("DROP TRIGGER audit_entry_append_only ON audit_entry", "must be owner"),
    "replication-role": ("SET session_replication_role = replica", "permission denied to set parameter"),
    "take-ownership": (f"ALTER TABLE audit_entry OWNER TO {APP_ROLE}", "must be owner"),
}


@pytest.fixture(scope="module")
def app_engine(database_urls):
    engine = create_engine(database_urls.app)
    yield engine
    engine.dispose()


async def _appended(db) -> int:
    record = AuditRecord(
        at=utcnow(),
        actor="agent1",
        action="test.roles",
        subject_type="test",
        subject_id="roles",
        request_id=f"roles-{uuid.uuid4().hex}",
    )
    async with db.session() as session:
        await audit_journal.append(session, record)
        await session.commit()
        return await session.scalar(text("SELECT id FROM audit_entry WHERE request_id = :r"), {"r": record.request_id})


@pytest.mark.parametrize("attempt", sorted(ATTEMPTS))
async def test_the_app_role_cannot_rewrite_the_journal(db, app_engine, sync_session, attempt):
    row_id = await _appended(db)  # INSERT and SELECT are what the app role may do
    statement, refusal = ATTEMPTS[attempt]
    with app_engine.connect() as conn, pytest.raises(DBAPIError, match=refusal):
        conn.execute(text(statement), {"id": row_id})
    with sync_session() as s:
        assert s.scalar(text("SELECT reason FROM audit_entry WHERE id = :id"), {"id": row_id}) is None


def test_the_app_role_is_neither_owner_nor_superuser(app_engine):
    with app_engine.connect() as conn:
        role = conn.execute(
            text(
                "SELECT current_user, rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = current_user"
            )
        ).one()
        owner = conn.scalar(text("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_entry'"))
        may = {
            privilege: conn.scalar(text("SELECT has_table_privilege('audit_entry', :p)"), {"p": privilege})
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")
        }
    assert tuple(role) == (APP_ROLE, False, False, False)
    assert owner == OWNER_ROLE
    assert {p for p, granted in may.items() if granted} == {"SELECT", "INSERT"}
