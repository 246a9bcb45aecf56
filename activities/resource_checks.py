"""Resource-check activities: the read model, the act's audit row and the ledger, in one transaction."""

from __future__ import annotations

from temporalio import activity

from api.tmf.events import publish_check_change
from core.resource_checks import CheckSave
from db import audit as audit_journal
from db.resource_checks import upsert_check
from db.session import Database
from workflows.common import RECORD_RESOURCE_CHECK


class ResourceCheckActivities:
    """Activities bound to the application database; every write is idempotent."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name=RECORD_RESOURCE_CHECK)
    async def record_resource_check(self, save: CheckSave) -> CheckSave:
        """Write the check (newer revisions only), the audit row and, when asked, the ledger row."""
        async with self._db.session() as session:
            await publish_check_change(session, save.check)  # TMF645 listeners, from the row before the write
            await upsert_check(session, save.check, ledger=save.ledger)
            if save.audit is not None:
                await audit_journal.append(session, save.audit)
            await session.commit()
        return save  # what was written: a local activity's input is not in the history
