"""The report workflows' main scenarios on the time-skipping server (their golden histories: tests/replay)."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

from temporalio.client import WorkflowContinuedAsNewError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.calendar import Budget
from core.reports import ObligationInput, QuarterlyInput, ReportKind, ReportRecord, SchedulerState
from core.roles import Actor, Role
from core.tasks import DecisionInput, HumanTask
from tests.reports.flow import next_month_end, open_task
from tests.support import eventually, finished, idle, skip_to
from workflows.reports import QuarterlyReportWorkflow, ReportObligationWorkflow, ReportSchedulerWorkflow

WRITER = Actor(username="supervisor2", roles=(Role.SUPERVISOR,))
MANAGER = Actor(username="supervisor1", roles=(Role.SUPERVISOR,))


async def _submit(handle: WorkflowHandle, task: HumanTask, actor: Actor, outcome: str = "submit", **data) -> None:
    comment = data.pop("comment", None)
    decision = DecisionInput(
        task_id=task.task_id,
        request_id=f"{task.task_id}:{outcome}",
        actor=actor,
        outcome=outcome,
        comment=comment,
        data=data,
    )
    await handle.execute_update("decide", decision, id=decision.request_id)


def _obligation(kind: ReportKind, due: Budget, anchor) -> ObligationInput:
    ref = uuid.uuid4().hex[:8]
    return ObligationInput(
        report_id=f"report-{kind.value}-scenario-{ref}",
        kind=kind,
        title=f"场景{kind.value}报告 {ref}",
        anchor=anchor,
        due=due,
        writer_role=Role.SUPERVISOR,
        customer_id=f"C-SCN-{ref}" if kind == ReportKind.OPERATION else None,
        fault_ref=None if kind == ReportKind.OPERATION else f"INC-{ref}",
    )


async def obligation_submitted_on_time(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """An operation report is handed in before its due."""
    request = _obligation(ReportKind.OPERATION, Budget(amount=5, unit="working_days"), await env.get_current_time())
    handle = await env.client.start_workflow(
        ReportObligationWorkflow.run, request, id=request.report_id, task_queue=task_queue
    )
    await _submit(handle, await open_task(handle, "operation_report"), WRITER, content="本月运行平稳。")
    await finished(env, handle)
    return handle


async def obligation_late_then_submitted(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """A fault report's due passes (marked late, the ladder escalates), then it is handed in."""
    request = _obligation(ReportKind.FAULT, Budget(amount=24, unit="hours"), await env.get_current_time())
    handle = await env.client.start_workflow(
        ReportObligationWorkflow.run, request, id=request.report_id, task_queue=task_queue
    )
    task = await open_task(handle, "fault_report")
    await skip_to(env, task.due_at + timedelta(minutes=1))
    await eventually(lambda: _late(handle), what="report marked late")
    await _submit(handle, task, WRITER, content="故障已处理完毕。")
    await finished(env, handle)
    return handle


async def _late(handle: WorkflowHandle) -> bool:
    report = await handle.query("report", result_type=ReportRecord)
    return report.on_time is False


async def quarterly_rejected_then_published(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """A past quarter's report: sections written, rejected once, rewritten, approved, rendered and published."""
    pick = uuid.uuid4().int % 100  # a past quarter, most likely of its own (the scenario reads no report row)
    request = QuarterlyInput(
        year=2000 + pick // 4,
        quarter=1 + pick % 4,
        due=Budget(amount=10, unit="working_days"),
        writer_role=Role.SUPERVISOR,
        manager_role=Role.SUPERVISOR,
    )
    handle = await env.client.start_workflow(
        QuarterlyReportWorkflow.run, request, id=f"{request.report_id}-{uuid.uuid4().hex[:6]}", task_queue=task_queue
    )
    await _submit(handle, await open_task(handle, "report_typical_cases"), MANAGER, cases=[])
    await _submit(handle, await open_task(handle, "report_problems"), WRITER, problems="问题", suggestions="建议")
    await _submit(handle, await open_task(handle, "report_plan"), WRITER, plan="计划")
    await _submit(handle, await open_task(handle, "report_approval"), MANAGER, "reject", comment="请补充")
    await _submit(handle, await open_task(handle, "report_problems"), WRITER, problems="问题2", suggestions="建议2")
    await _submit(handle, await open_task(handle, "report_plan"), WRITER, plan="计划2")
    await _submit(handle, await open_task(handle, "report_approval"), MANAGER, "approve")
    await finished(env, handle)
    return handle


async def scheduler_month_end_then_continues(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """The scheduler sleeps to the month's end, starts the reports it owes, and continues as new."""
    boundary, _ = next_month_end(await env.get_current_time())
    handle = await env.client.start_workflow(
        ReportSchedulerWorkflow.run,
        SchedulerState(rounds_per_run=1),
        id=f"report-scheduler-scenario-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
    )
    await skip_to(env, boundary + timedelta(minutes=1))
    with contextlib.suppress(WorkflowContinuedAsNewError):
        await handle.result(follow_runs=False)
    continued = env.client.get_workflow_handle(handle.id)
    await eventually(lambda: idle(continued), what="continued scheduler run idle")
    await continued.terminate("scenario over")
    return env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)


SCENARIOS = {
    "ReportObligation": {
        "submitted-on-time": obligation_submitted_on_time,
        "late-then-submitted": obligation_late_then_submitted,
    },
    "QuarterlyReport": {"rejected-then-published": quarterly_rejected_then_published},
    "ReportScheduler": {"month-end-then-continues": scheduler_month_end_then_continues},
}
