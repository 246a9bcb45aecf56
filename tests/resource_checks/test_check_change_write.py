"""record_check_change (check-one-write): an act's task changes and the check in one transaction, idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
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
