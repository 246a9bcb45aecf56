"""Pre-sales activities: the demand read model, and the summary of its resource check."""

from __future__ import annotations

from temporalio import activity

from core.presales import CheckSummary, DemandSave
from core.resource_checks import ResourceCheck
from db import audit as audit_journal
from db.models import ResourceCheckRow
from db.presales import upsert_demand
from db.session import Database
from workflows.common import LOAD_CHECK_SUMMARY, RECORD_DEMAND


class PresalesActivities:
    """Activities bound to the application database; every write is idempotent."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name=RECORD_DEMAND)
    async def record_demand(self, save: DemandSave) -> DemandSave:
        """Write the demand (newer revisions only) and the act's audit row in one transaction."""
        async with self._db.session() as session:
            await upsert_demand(session, save.demand)
            if save.audit is not None:
                await audit_journal.append(session, save.audit)
            await session.commit()
        return save  # what was written: a local activity's input is not in the history

    @activity.defn(name=LOAD_CHECK_SUMMARY)
    async def load_check_summary(self, check_id: str) -> CheckSummary | None:
        """The check's result as its read model holds it (None until its workflow wrote it)."""
        async with self._db.session() as session:
            row = await session.get(ResourceCheckRow, check_id)
        return CheckSummary.of(ResourceCheck.model_validate(row.detail)) if row is not None else None
