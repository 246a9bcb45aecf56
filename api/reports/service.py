"""Starting reports from outside a workflow: a major fault's report, a quarter's report by hand, the scheduler."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.gateway import TemporalGateway
from core.reports import (
    OBLIGATION_WORKFLOW,
    QUARTERLY_WORKFLOW,
    SCHEDULER_WORKFLOW,
    ObligationInput,
    QuarterlyInput,
    ReportPolicy,
    SchedulerState,
    fault_report_input,
    quarterly_input,
)
from db import reports
from workflows.reports import report_attributes

REPORT_SCHEDULER_ID = "report-scheduler"


class NoReportPolicy(Exception):
    """No report policy is published."""


async def _policy(session: AsyncSession) -> ReportPolicy:
    policy = await reports.latest_policy(session)
    if policy is None:
        raise NoReportPolicy("no report policy is published (/api/report-policies)")
    return policy


async def _start(gateway: TemporalGateway, workflow: str, request: ObligationInput | QuarterlyInput) -> bool:
    """Start a report workflow once per report id; False when it exists (running or done) already."""
    try:
        await gateway.start(
            workflow,
            request,
            workflow_id=request.report_id,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=report_attributes(request.report_id),
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def start_fault_report(
    gateway: TemporalGateway, session: AsyncSession, *, fault_ref: str, occurred_at: datetime, summary: str
) -> tuple[str, bool]:
    """Start the report a major fault owes, due the policy's `fault_due` after it; (report id, newly started).

    ValueError for a malformed fault; the incident workflow calls workflows.reports.start_fault_report instead."""
    request = fault_report_input(await _policy(session), fault_ref, occurred_at, summary)
    return request.report_id, await _start(gateway, OBLIGATION_WORKFLOW, request)


async def start_quarterly_report(
    gateway: TemporalGateway, session: AsyncSession, *, year: int, quarter: int
) -> tuple[str, bool]:
    """Start a quarter's report by hand (the scheduler starts it at the quarter's end); (report id, newly started)."""
    request = quarterly_input(await _policy(session), year, quarter)
    return request.report_id, await _start(gateway, QUARTERLY_WORKFLOW, request)


async def ensure_report_scheduler(client: Client, *, task_queue: str, workflow_id: str = REPORT_SCHEDULER_ID) -> None:
    """Start the report scheduler unless it is already running (safe to call from every worker start)."""
    await client.start_workflow(
        SCHEDULER_WORKFLOW,
        SchedulerState(),
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
