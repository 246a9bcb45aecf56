"""Platform activities: the policy snapshot a workflow starts with, and the human-task read model."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.calendar import BusinessCalendar
from core.outbox import is_urgent
from core.records import PolicyRef, TaskEvent
from core.sla import PolicySnapshot, SlaPolicy
from db import audit as audit_journal
from db.models import (
    AssignmentRulesVersion,
    CalendarVersion,
    Notification,
    SlaBreach,
    SlaPolicyVersion,
    TaskFields,
    TaskRow,
    utcnow,
)
from db.outbox import enqueue_notifications
from db.policies import latest_version_ids, parsed_version
from db.readmodel import upsert_newer
from db.session import Database
from workflows.common import LOAD_POLICY_SNAPSHOT, RECORD_TASK_EVENT


def task_row_values(event: TaskEvent) -> dict[str, Any]:
    """Column values of the task read-model row for the task carried by the event."""
    task = event.task
    assert task is not None
    return TaskFields.of(task).model_dump() | {"revision": task.revision, "updated_at": utcnow()}


class PlatformActivities:
    """Activities bound to the application database; every write is idempotent."""

    def __init__(self, db: Database, *, default_calendar: str, default_policy: str) -> None:
        self._db = db
        self._default_calendar = default_calendar
        self._default_policy = default_policy

    @activity.defn(name=LOAD_POLICY_SNAPSHOT)
    async def load_policy_snapshot(self, ref: PolicyRef) -> PolicySnapshot:
        """The latest versions of the requested (or default) calendar and SLA policy.

        One query names the newest version rows; a version seen before is not read or parsed again."""
        calendar_name = ref.calendar or self._default_calendar
        policy_name = ref.policy or self._default_policy
        async with self._db.session() as session:
            calendar_id, policy_id, assignment_id = await latest_version_ids(
                session, calendar=calendar_name, policy=policy_name, assignment=ref.assignment or "default"
            )
            if calendar_id is None or policy_id is None:
                missing = f"calendar {calendar_name}" if calendar_id is None else f"SLA policy {policy_name}"
                raise ApplicationError(f"{missing} does not exist", type="PolicyMissing", non_retryable=True)
            calendar = await parsed_version(session, CalendarVersion, calendar_id, BusinessCalendar.model_validate)
            policy = await parsed_version(session, SlaPolicyVersion, policy_id, SlaPolicy.model_validate)
            assignment = None
            if assignment_id is not None:
                assignment = await parsed_version(session, AssignmentRulesVersion, assignment_id, dict)
        return PolicySnapshot(calendar=calendar, policy=policy, assignment=assignment)

    @activity.defn(name=RECORD_TASK_EVENT)
    async def record_task_event(self, event: TaskEvent) -> TaskEvent:
        """Write a task change, its audit row, notices and breach in one transaction; retries write nothing twice."""
        async with self._db.session() as session:
            await write_task_event(session, event)
            await session.commit()
        return event  # what was written: a local activity's input is not in the history


# Built once, the values bound at execution (SQLAlchemy reuses the compiled form instead of walking the values).
_NOTICES: Table = Notification.__table__  # type: ignore[attr-defined]  # SQLModel tables carry their Table
_BREACHES: Table = SlaBreach.__table__  # type: ignore[attr-defined]
_INSERT_NOTICE = insert(_NOTICES).on_conflict_do_nothing(index_elements=["key"])
_INSERT_BREACH = insert(_BREACHES).on_conflict_do_nothing(index_elements=["key"])


async def write_task_event(session: AsyncSession, event: TaskEvent, *, journal: bool = True) -> None:
    """Write a task change, its audit row, notices and breach in the caller's transaction (each write keyed).

    The notices go in one insert with one look-up of the users they reach. The audit row comes last: it takes the
    journal's chain lock, which every writer waits on until this transaction commits. With `journal=False` the caller
    appends `event.audit` itself (last in its own transaction)."""
    if event.task is not None:
        await upsert_newer(session, TaskRow, "task_id", task_row_values(event))
    if event.notifications:
        await session.execute(_INSERT_NOTICE, [notice.model_dump() for notice in event.notifications])
        priority = event.task.priority if event.task is not None else 0
        breach = event.breach is not None
        await enqueue_notifications(
            session,
            [(n, is_urgent(n.kind, breach=breach, task_priority=priority)) for n in event.notifications],
        )
    if event.breach is not None:
        await session.execute(_INSERT_BREACH, event.breach.model_dump())
    if journal and event.audit is not None:
        await audit_journal.append(session, event.audit)
