"""Platform activities: the policy snapshot a workflow starts with, and the human-task read model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.calendar import BusinessCalendar
from core.outbox import is_urgent
from core.records import AuditRecord, PolicyRef, TaskEvent, WriteEcho
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
from db.policies import frozen_spec, latest_version_refs, parsed_version, thawed
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
            calendar_ref, policy_ref, assignment_ref = await latest_version_refs(
                session, calendar=calendar_name, policy=policy_name, assignment=ref.assignment or "default"
            )
            if calendar_ref is None or policy_ref is None:
                missing = f"calendar {calendar_name}" if calendar_ref is None else f"SLA policy {policy_name}"
                raise ApplicationError(f"{missing} does not exist", type="PolicyMissing", non_retryable=True)
            calendar = await parsed_version(session, CalendarVersion, calendar_ref, BusinessCalendar.model_validate)
            policy = await parsed_version(session, SlaPolicyVersion, policy_ref, SlaPolicy.model_validate)
            assignment = None
            if assignment_ref is not None:  # the snapshot carries the rules as data: its own copy of the kept spec
                assignment = thawed(await parsed_version(session, AssignmentRulesVersion, assignment_ref, frozen_spec))
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


class HeldChange(Protocol):
    """One act's writes held for one transaction: its task changes, the feature's state and the act's audit row."""

    @property
    def tasks(self) -> tuple[TaskEvent, ...]: ...

    @property
    def audit(self) -> AuditRecord | None: ...

    def echo(self) -> WriteEcho: ...


async def write_held_change(
    db: Database,
    change: HeldChange,
    write_state: Callable[[AsyncSession], Awaitable[None]],
    *,
    journal: Callable[[AsyncSession, AuditRecord], Awaitable[None]] = audit_journal.append,
) -> WriteEcho:
    """Write an act's task changes, then its feature's state (`write_state`, which journals nothing), then every
    audit row in the act's order, in one transaction; echo what the auditor's timeline reads (a local activity's
    input is not in the history). The audit rows come last: the journal's chain lock is held only until the commit."""
    async with db.session() as session:
        for event in change.tasks:
            await write_task_event(session, event, journal=False)
        await write_state(session)
        for audit in [event.audit for event in change.tasks] + [change.audit]:
            if audit is not None:
                await journal(session, audit)
        await session.commit()
    return change.echo()
