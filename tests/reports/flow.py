"""Helpers of the report tests and scenarios: clearing a report's rows, the scheduler, task decisions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.reports import month_before, next_month_start, operation_report_id, quarter_of, quarterly_report_id
from core.tasks import HumanTask
from db.models import ReportFile, ReportRow
from tests.support import SHANGHAI, eventually, task_row, workflow_tasks

CENTER_ZONE = "Asia/Shanghai"


def forget_reports(sync_session, *report_ids: str) -> None:
    """Remove the rows of these reports (another module's run on the shared test database may have left them)."""
    with sync_session() as s:
        s.execute(delete(ReportFile).where(ReportFile.report_id.in_(report_ids)))
        s.execute(delete(ReportRow).where(ReportRow.report_id.in_(report_ids)))
        s.commit()


def next_month_end(now: datetime) -> tuple[datetime, date]:
    """The next month end on the center's calendar after `now`, and the month it ends."""
    boundary = next_month_start(now, CENTER_ZONE)
    return boundary, month_before(boundary, CENTER_ZONE)


def reports_due_at(boundary: datetime, customer_id: str = "C-1001") -> list[str]:
    """The reports a month end owes (the seeded policy's one major customer; the quarterly one at a quarter's end)."""
    month = month_before(boundary, CENTER_ZONE)
    ids = [operation_report_id(customer_id, month)]
    if month.month % 3 == 0:
        ids.append(quarterly_report_id(*quarter_of(month)))
    return ids


async def open_task(handle: WorkflowHandle, kind: str, sync_session=None) -> HumanTask:
    """The workflow's one open task of a kind, once it is open (and, given a session, in the read model)."""

    async def probe() -> HumanTask | None:
        tasks = await workflow_tasks(handle, kind)
        if not tasks or (sync_session is not None and task_row(sync_session, tasks[0].task_id) is None):
            return None
        return tasks[0]

    return await eventually(probe, what=f"open {kind} task of {handle.id}")


async def started(env: WorkflowEnvironment, workflow_id: str) -> WorkflowHandle:
    """A handle on a workflow once it exists (a scheduler's child appears after the timer fired)."""
    handle = env.client.get_workflow_handle(workflow_id)

    async def probe() -> WorkflowHandle | None:
        try:
            await handle.describe()
        except Exception:
            return None
        return handle

    return await eventually(probe, what=f"{workflow_id} started")


def local(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """A local instant in the center's time zone."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)
