"""Quality-inspection activities: draw the period's sample under the rules in force; write the read model."""

from __future__ import annotations

from temporalio import activity

from core.quality import InspectionInput, InspectionPlan, InspectionSave, draw_sample
from db import audit as audit_journal
from db.quality import closed_tickets, latest_rules, upsert_inspection
from db.session import Database
from workflows.common import LOAD_QUALITY_PLAN, RECORD_INSPECTION


class QualityActivities:
    """Activities bound to the application database; every write is idempotent."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name=LOAD_QUALITY_PLAN)
    async def load_quality_plan(self, start: InspectionInput) -> InspectionPlan:
        """The rules in force and the sample they draw from the tickets closed in the period."""
        async with self._db.session() as session:
            rules = await latest_rules(session)
            closed = await closed_tickets(session, start.start, start.end)
        return InspectionPlan(rules=rules, sample=draw_sample(closed, rules, start.inspection_id))

    @activity.defn(name=RECORD_INSPECTION)
    async def record_inspection(self, save: InspectionSave) -> InspectionSave:
        """Write the inspection (newer revisions only), its scored reviews and the act's audit row together."""
        async with self._db.session() as session:
            await upsert_inspection(session, save.inspection)
            if save.audit is not None:
                await audit_journal.append(session, save.audit)
            await session.commit()
        return save  # what was written: a local activity's input is not in the history
