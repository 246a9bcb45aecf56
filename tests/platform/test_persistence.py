"""Schema and read-model guarantees: migrations match the models; activities are idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlmodel import SQLModel
from temporalio.testing import ActivityEnvironment

from activities.platform import PlatformActivities
from core.records import AuditRecord, BreachRecord, NotificationRecord, PolicyRef, TaskEvent
from core.roles import Role
from core.tasks import Candidates, HumanTask, TaskStatus
from db.models import AuditEntry, Notification, SlaBreach, TaskRow
from db.session import make_sync_engine

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_models_and_migrations_agree(database_url):
    """The migrated schema equals what the SQLModel tables declare (a model change needs a migration)."""
    engine = make_sync_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"


def _task(revision: int, status: TaskStatus = TaskStatus.OPEN, key: str = "kx-idem") -> HumanTask:
    return HumanTask(
        task_id=f"{key}:approval:1",
        workflow_id=key,
        kind="approval",
        subject="idempotency",
        candidates=Candidates(roles=(Role.SUPERVISOR,)),
        outcomes=("approve", "reject"),
        opened_at=NOW,
        due_at=NOW + timedelta(hours=4),
        status=status,
        revision=revision,
    )


async def test_task_event_activity_run_twice_writes_one_row(db, sync_session):
    """A retried activity (same event) writes each row once; an older revision never overwrites a newer one."""
    activities = PlatformActivities(db, default_calendar="cn-mainland", default_policy="standard")
    event = TaskEvent(
        task=_task(2, TaskStatus.DONE),
        audit=AuditRecord(
            at=NOW,
            actor="supervisor1",
            action="task.approve",
            subject_type="task",
            subject_id="kx-idem:approval:1",
            workflow_id="kx-idem",
            request_id="kx-idem-req",
        ),
        notifications=(
            NotificationRecord(
                key="kx-idem-n1", kind="remind", message="m", recipient_role="supervisor", created_at=NOW
            ),
        ),
        breach=BreachRecord(
            key="kx-idem-b1",
            workflow_id="kx-idem",
            kind="approval",
            responsible="supervisor1",
            due_at=NOW,
            breached_at=NOW,
        ),
    )
    env = ActivityEnvironment()
    await env.run(activities.record_task_event, event)
    await env.run(activities.record_task_event, event)
    await env.run(activities.record_task_event, TaskEvent(task=_task(1)))  # a stale, late retry of the opening write
    with sync_session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.request_id == "kx-idem-req")) == 1
        assert s.scalar(select(func.count()).select_from(Notification).where(Notification.key == "kx-idem-n1")) == 1
        assert s.scalar(select(func.count()).select_from(SlaBreach).where(SlaBreach.key == "kx-idem-b1")) == 1
        row = s.get(TaskRow, "kx-idem:approval:1")
        assert (row.status, row.revision) == ("done", 2)


async def test_policy_snapshot_reads_latest_versions(db):
    """The snapshot a workflow starts with is the newest calendar and policy of the requested names."""
    activities = PlatformActivities(db, default_calendar="cn-mainland", default_policy="standard")
    snapshot = await ActivityEnvironment().run(activities.load_policy_snapshot, PolicyRef())
    assert snapshot.calendar.name == "cn-mainland" and snapshot.calendar.timezone == "Asia/Shanghai"
    assert snapshot.policy.name == "standard"
