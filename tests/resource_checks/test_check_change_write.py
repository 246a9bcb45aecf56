"""record_check_change (check-one-write): an act's task changes and the check in one transaction, idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.event import listen as event_listen
from sqlalchemy.event import remove as event_remove
from temporalio.testing import ActivityEnvironment

from activities.resource_checks import ResourceCheckActivities
from core.records import AuditRecord, TaskEvent
from core.resource_checks import CheckChange, CheckStatus, ResourceCheck
from core.tasks import Candidates, HumanTask, TaskStatus
from db.models import AuditEntry, ResourceCheckRow, TaskRow
from tests.resource_checks.flow import REQUESTER, check_input

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _change(request, *, revision: int, task_status: TaskStatus) -> CheckChange:
    workflow_id = f"rc-{request.check_id}"
    task = HumanTask(
        task_id=f"{workflow_id}:rc_answer:1",
        workflow_id=workflow_id,
        kind="rc_answer",
        subject="item 1: can you serve it?",
        candidates=Candidates(department="operations"),
        outcomes=(),
        opened_at=NOW,
        due_at=NOW + timedelta(days=2),
        status=task_status,
        revision=revision,
    )
    check = ResourceCheck(
        check_id=request.check_id,
        workflow_id=workflow_id,
        request=request,
        status=CheckStatus.CONSULTING,
        created_at=NOW,
        created_by=REQUESTER.username,
        revision=revision,
    )
    audit = AuditRecord.by(
        REQUESTER, "resource_check.answer", "resource_check", request.check_id, at=NOW, request_id=f"{workflow_id}:a"
    )
    return CheckChange(check=check, audit=audit, tasks=(TaskEvent(task=task),))


async def test_a_retried_write_writes_everything_once_and_echoes_no_whole_check(db, sync_session):
    activities = ResourceCheckActivities(db)
    request = check_input()
    done = _change(request, revision=2, task_status=TaskStatus.DONE)
    env = ActivityEnvironment()
    echo = await env.run(activities.record_check_change, done)
    assert await env.run(activities.record_check_change, done) == echo  # a retry after the commit
    await env.run(activities.record_check_change, _change(request, revision=1, task_status=TaskStatus.OPEN))  # stale
    with sync_session() as s:
        row = s.get(ResourceCheckRow, request.check_id)
        assert (row.status, row.revision) == ("consulting", 2)
        task = s.get(TaskRow, done.tasks[0].task.task_id)
        assert (task.status, task.revision) == ("done", 2)
        audits = select(func.count()).select_from(AuditEntry).where(AuditEntry.request_id == done.audit.request_id)
        assert s.scalar(audits) == 1
    assert (echo.subject_id, echo.revision, echo.status) == (request.check_id, 2, "consulting")
    echoed = echo.model_dump_json()
    assert echo.tasks[0].task["status"] == "done"
    assert request.customer_name not in echoed and "13812345678" not in echoed  # no whole check, no contact


async def test_the_audit_rows_come_last_in_the_acts_order(db, sync_session):
    """The journal's chain lock is taken only after every other write of the act (it is held until the commit), and
    the rows follow the act: the task's audit row, then the check's."""
    request = check_input()
    change = _change(request, revision=1, task_status=TaskStatus.OPEN)
    [event] = change.tasks
    task_audit = AuditRecord.by(
        REQUESTER, "task.open", "task", event.task.task_id, at=NOW, request_id=f"{event.task.task_id}:open"
    )
    change = change.model_copy(update={"tasks": (event.model_copy(update={"audit": task_audit}),)})
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    engine = db.engine.sync_engine
    event_listen(engine, "before_cursor_execute", record)
    try:
        await ActivityEnvironment().run(ResourceCheckActivities(db).record_check_change, change)
    finally:
        event_remove(engine, "before_cursor_execute", record)
    first_lock = next(i for i, sql in enumerate(statements) if "pg_advisory_xact_lock" in sql)
    assert any("resource_check" in sql for sql in statements[:first_lock])
    assert any("INSERT INTO human_task" in sql for sql in statements[:first_lock])
    journal = ("pg_advisory_xact_lock", "audit_entry")
    assert all(any(word in sql for word in journal) for sql in statements[first_lock:]), statements[first_lock:]
    with sync_session() as s:
        rows = s.scalars(
            select(AuditEntry.request_id)
            .where(AuditEntry.request_id.in_([task_audit.request_id, change.audit.request_id]))
            .order_by(AuditEntry.id)
        ).all()
    assert rows == [task_audit.request_id, change.audit.request_id]
