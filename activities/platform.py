"""Platform activities: the policy snapshot a workflow starts with, and the human-task read model."""

from __future__ import annotations

from typing import Any

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
from db.outbox import enqueue_notification
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


async def write_task_event(session: AsyncSession, event: TaskEvent) -> None:
    """Write a task change, its audit row, notices and breach in the caller's transaction (each write keyed)."""
    if event.task is not None:
        await upsert_newer(session, TaskRow, "task_id", task_row_values(event))
    if event.audit is not None:
        await audit_journal.append(session, event.audit)
    for notice in event.notifications:
        await session.execute(
            insert(Notification).values(**notice.model_dump()).on_conflict_do_nothing(index_elements=["key"])
        )
        priority = event.task.priority if event.task is not None else 0
        urgent = is_urgent(notice.kind, breach=event.breach is not None, task_priority=priority)
        await enqueue_notification(session, notice, urgent=urgent)
    if event.breach is not None:
        await session.execute(
            insert(SlaBreach).values(**event.breach.model_dump()).on_conflict_do_nothing(index_elements=["key"])
        )
