"""Resource-check activities: the read model, the act's audit row and the ledger, in one transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.platform import write_held_change
from api.tmf.events import publish_check_change
from core.records import WriteEcho
from core.resource_checks import CheckChange, CheckSave
from db import audit as audit_journal
from db.resource_checks import upsert_check
from db.session import Database
from workflows.common import RECORD_CHECK_CHANGE, RECORD_RESOURCE_CHECK


class ResourceCheckActivities:
    """Activities bound to the application database; every write is idempotent."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name=RECORD_RESOURCE_CHECK)
    async def record_resource_check(self, save: CheckSave) -> CheckSave:
        """Write the check (newer revisions only), the audit row and, when asked, the ledger row."""
        async with self._db.session() as session:
            await _write_check(session, save)
            await session.commit()
        return save  # what was written: a local activity's input is not in the history

    @activity.defn(name=RECORD_CHECK_CHANGE)
    async def record_check_change(self, change: CheckChange) -> WriteEcho:
        """Write an act's task changes, the check and its ledger row, then the audit rows, in one transaction; echo
        what the auditor's timeline reads, not the whole check."""
        return await write_held_change(self._db, change, lambda session: _write_check(session, change, journal=False))


async def _write_check(session: AsyncSession, save: CheckSave, *, journal: bool = True) -> None:
    """The check (newer revisions only), its TMF645 events, when asked the ledger row and (unless the caller appends
    it last itself: `journal=False`) the act's audit row."""
    await publish_check_change(session, save.check)  # TMF645 listeners, from the row before the write
    await upsert_check(session, save.check, ledger=save.ledger)
    if journal and save.audit is not None:
        await audit_journal.append(session, save.audit)
