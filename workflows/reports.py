"""Report workflows: an operation or fault report owed by a person, the quarterly report, and their scheduler.

- `ReportObligation`: one human task (write and submit), due on the calendar after its anchor (the month's end,
  the fault), with the policy's reminder/escalation ladder; at the due it is marked late if not yet in.
- `QuarterlyReport`: the figures are drafted by an activity; the center manager picks typical cases from the
  knowledge base, people write problems and suggestions and next quarter's plan; the manager approves (a
  rejection sends the written sections back), then the PDF and XLSX are rendered and published.
- `ReportScheduler`: one instance, a durable timer to each month's end on the calendar's time zone; starts the
  month's operation reports (one per major customer) and, at a quarter's end, the quarterly report; continues as
  new. (Not a Temporal Schedule: the time-skipping test server does not implement CreateSchedule, and a timer to
  a business-calendar instant is what a Schedule's cron cannot express anyway.)
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.tasks import HumanTaskBook

with workflow.unsafe.imports_passed_through():
    from core.calendar import clock_of, deadline
    from core.records import PolicyRef
    from core.reports import (
        CASES_TASK,
        DRAFT_QUARTERLY_REPORT,
        LOAD_REPORT_POLICY,
        OBLIGATION_WORKFLOW,
        PUBLISH_QUARTERLY_REPORT,
        QUARTERLY_WORKFLOW,
        RECORD_REPORT,
        REPORT_POLICY_NAME,
        SCHEDULER_WORKFLOW,
        WRITTEN_SECTIONS,
        ObligationInput,
        QuarterlyDraft,
        QuarterlyInput,
        QuarterSpan,
        RenderResult,
        ReportKind,
        ReportPolicy,
        ReportRecord,
        ReportStatus,
        SchedulerState,
        ends_quarter,
        fault_report_input,
        month_before,
        next_month_start,
        operation_report_input,
        picked_cases,
        quarter_label,
        quarter_of,
        quarter_span,
        quarterly_input,
        text_field,
    )
    from core.roles import Role
    from core.sla import PolicySnapshot
    from core.tasks import Candidates, DecisionInput, HumanTask, RefusalCode, TaskRefused, TaskRequest, TaskStatus
    from workflows.common import BUSINESS_REF, LOAD_POLICY_SNAPSHOT, ORDER_KIND, db_call, wait_until

REPORT_QUERY = "report"
MAX_APPROVAL_ROUNDS = 5


class _ReportBook(HumanTaskBook):
    """A report workflow's state: its record in the read model, written on every change."""

    def __init__(self) -> None:
        super().__init__()
        self._report: ReportRecord | None = None

    async def _save(self, **changes: object) -> ReportRecord:
        """Change the report (new sections merge into the kept ones) and write it to the read model."""
        assert self._report is not None
        if isinstance(sections := changes.get("sections"), dict):
            changes["sections"] = self._report.sections | sections
        self._report = self._report.model_copy(update=changes | {"revision": self._report.revision + 1})
        await db_call(RECORD_REPORT, self._report)
        return self._report

    def _task_due(self, due: datetime) -> datetime:
        """A task's due: the report's, or now when that has passed (its ladder then fires at once)."""
        return max(due, workflow.now())

    @workflow.query(name=REPORT_QUERY)
    def report(self) -> ReportRecord | None:
        """The report as this workflow holds it."""
        return self._report


@workflow.defn(name=OBLIGATION_WORKFLOW)
class ReportObligationWorkflow(_ReportBook):
    """An operation or fault report: one person writes and submits it by its due date."""

    @workflow.run
    async def run(self, request: ObligationInput) -> ReportRecord:
        """Open the writing task, mark the report late at its due if it is not in, record the submission."""
        snapshot = await self.load_policy(request.policy)
        due = deadline(snapshot.calendar, request.anchor, request.due)
        self._report = ReportRecord(
            report_id=request.report_id,
            workflow_id=workflow.info().workflow_id,
            kind=request.kind,
            title=request.title,
            status=ReportStatus.OPEN,
            customer_id=request.customer_id,
            fault_ref=request.fault_ref,
            period_start=request.period_start,
            period_end=request.period_end,
            opened_at=workflow.now(),
            due_at=due,
        )
        await self._save()
        task = await self.open_task(
            TaskRequest(
                kind=f"{request.kind.value}_report",
                subject=request.title,
                candidates=Candidates(roles=(request.writer_role,)),
                outcomes=("submit",),
                comment_required_for=(),
                due_at=self._task_due(due),
                ladder_clock=clock_of(request.due),
                business_ref=request.report_id,
            )
        )
        handed_in = lambda: self._tasks[task.task_id].status != TaskStatus.OPEN  # noqa: E731
        if not await wait_until(due, handed_in, summary=f"report due {request.report_id}"):
            await self._save(on_time=False)
        task = await self.wait_task(task.task_id)
        decision = self.decision_of(task.task_id)
        assert decision is not None and task.decided_at is not None
        await self._save(
            status=ReportStatus.SUBMITTED,
            done_at=task.decided_at,
            on_time=self._report.on_time is not False and task.decided_at <= due,
            sections={"content": text_field(decision.data, "content"), "written_by": task.decided_by},
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._report

    def check_decision_data(self, task: HumanTask, decision: DecisionInput) -> None:
        """The report's text is required."""
        try:
            text_field(decision.data, "content")
        except ValueError as err:
            raise TaskRefused(RefusalCode.INVALID, str(err)) from None


@workflow.defn(name=QUARTERLY_WORKFLOW)
class QuarterlyReportWorkflow(_ReportBook):
    """A quarter's report: drafted, completed by people, approved, rendered as PDF and XLSX, published."""

    def __init__(self) -> None:
        super().__init__()
        self._offered: tuple[str, ...] = ()

    @workflow.run
    async def run(self, request: QuarterlyInput) -> ReportRecord:
        """Draft, write, approve (rejections send the written sections back), publish."""
        snapshot = await self.load_policy(request.policy)
        timezone = snapshot.calendar.timezone
        start, end = quarter_span(request.year, request.quarter, timezone)
        due = deadline(snapshot.calendar, end, request.due)
        label = quarter_label(request.year, request.quarter)
        self._report = ReportRecord(
            report_id=request.report_id,
            workflow_id=workflow.info().workflow_id,
            kind=ReportKind.QUARTERLY,
            title=f"客户响应中心{label}报告",
            status=ReportStatus.DRAFTING,
            period_start=start,
            period_end=end,
            opened_at=workflow.now(),
            due_at=due,
            sections={"quarter": label},
        )
        await self._save()
        span = QuarterSpan(
            report_id=request.report_id,
            year=request.year,
            quarter=request.quarter,
            start=start,
            end=end,
            timezone=timezone,
        )
        draft = await db_call(DRAFT_QUARTERLY_REPORT, span, result_type=QuarterlyDraft)
        self._offered = draft.case_candidates
        await self._save(status=ReportStatus.WRITING)
        opened = [
            await self._open(CASES_TASK, f"{label}报告：选择典型案例", request.manager_role, due),
            await self._open("report_problems", f"{label}报告：撰写问题与建议", request.writer_role, due),
            await self._open("report_plan", f"{label}报告：撰写下季度工作计划", request.writer_role, due),
        ]
        await self._collect(opened)
        for _ in range(MAX_APPROVAL_ROUNDS):
            await self._save(status=ReportStatus.APPROVAL)
            approval = await self.wait_task(
                (
                    await self.open_task(
                        TaskRequest(
                            kind="report_approval",
                            subject=f"{label}报告：审批并发布",
                            candidates=Candidates(roles=(request.manager_role,)),
                            requested_by=self._plan_writer(),
                            due_at=self._task_due(due),
                            business_ref=request.report_id,
                        )
                    )
                ).task_id
            )
            if approval.outcome == "approve":
                await self._save(status=ReportStatus.APPROVED, sections={"approved_by": approval.decided_by})
                break
            reason = approval.comment or ""
            await self._save(status=ReportStatus.WRITING, sections={"returned": reason})
            again = [
                await self._open(kind, f"{label}报告：按审批意见修改（{reason[:100]}）", request.writer_role, due)
                for kind in WRITTEN_SECTIONS
            ]
            await self._collect(again)
        else:
            raise ApplicationError(f"not approved after {MAX_APPROVAL_ROUNDS} rounds", non_retryable=True)
        published = await workflow.execute_activity(
            PUBLISH_QUARTERLY_REPORT,
            request.report_id,
            result_type=RenderResult,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=5),
        )
        now = workflow.now()
        await self._save(
            status=ReportStatus.PUBLISHED,
            done_at=now,
            on_time=now <= due,
            sections={"files": list(published.files)},
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._report

    async def _open(self, kind: str, subject: str, role: Role, due: datetime) -> HumanTask:
        assert self._report is not None
        request = TaskRequest(
            kind=kind,
            subject=subject,
            candidates=Candidates(roles=(role,)),
            outcomes=("submit",),
            comment_required_for=(),
            due_at=self._task_due(due),
            business_ref=self._report.report_id,
        )
        return await self.open_task(request)

    async def _collect(self, tasks: list[HumanTask]) -> None:
        """Wait for every task and keep what each one's decision wrote."""
        for task in await asyncio.gather(*(self.wait_task(t.task_id) for t in tasks)):
            decision = self.decision_of(task.task_id)
            assert decision is not None
            sections: dict[str, object] = {f"{task.kind.removeprefix('report_')}_by": task.decided_by}
            if task.kind == CASES_TASK:
                sections["typical_cases"] = picked_cases(decision.data, self._offered)
            for field in WRITTEN_SECTIONS.get(task.kind, ()):
                sections[field] = text_field(decision.data, field)
            await self._save(sections=sections)

    def _plan_writer(self) -> str | None:
        """Whoever wrote next quarter's plan: not the one to approve it (four-eyes)."""
        assert self._report is not None
        writer = self._report.sections.get("plan_by")
        return writer if isinstance(writer, str) else None

    def check_decision_data(self, task: HumanTask, decision: DecisionInput) -> None:
        """Typical cases among those offered; the written sections' texts required."""
        try:
            if task.kind == CASES_TASK:
                picked_cases(decision.data, self._offered)
            for field in WRITTEN_SECTIONS.get(task.kind, ()):
                text_field(decision.data, field)
        except ValueError as err:
            raise TaskRefused(RefusalCode.INVALID, str(err)) from None

    @workflow.query(name="case_candidates")
    def case_candidates(self) -> list[str]:
        """The knowledge-base tickets the center manager may pick as typical cases."""
        return list(self._offered)


def report_attributes(report_id: str) -> TypedSearchAttributes:
    """What the auditor's desk finds a report workflow by: its report id, kind `report`."""
    return TypedSearchAttributes(
        [SearchAttributePair(ORDER_KIND, "report"), SearchAttributePair(BUSINESS_REF, report_id)]
    )


async def start_report(workflow_type: str, request: ObligationInput | QuarterlyInput) -> bool:
    """Start a report workflow as an abandoned child (it outlives its starter); False when it exists already."""
    try:
        await workflow.start_child_workflow(
            workflow_type,
            request,
            id=request.report_id,
            parent_close_policy=ParentClosePolicy.ABANDON,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=report_attributes(request.report_id),
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def start_fault_report(fault_ref: str, occurred_at: datetime, summary: str) -> str:
    """From any workflow (the incident workflow): start the report a major fault owes; returns its report id."""
    policy = await db_call(LOAD_REPORT_POLICY, REPORT_POLICY_NAME, result_type=ReportPolicy)
    request = fault_report_input(policy, fault_ref, occurred_at, summary)
    await start_report(OBLIGATION_WORKFLOW, request)
    return request.report_id


@workflow.defn(name=SCHEDULER_WORKFLOW)
class ReportSchedulerWorkflow:
    """At every month's end on the calendar: the month's operation reports, and the quarterly report at a quarter's."""

    def __init__(self) -> None:
        self._fired: list[str] = []

    @workflow.run
    async def run(self, state: SchedulerState) -> None:
        """Sleep to each month's end, start what it owes, repeat; continue as new after `rounds_per_run`."""
        self._fired = list(state.fired)
        snapshot = await db_call(LOAD_POLICY_SNAPSHOT, state.policy, result_type=PolicySnapshot)
        timezone = snapshot.calendar.timezone
        for _ in range(state.rounds_per_run):
            boundary = next_month_start(workflow.now(), timezone)
            await workflow.sleep(boundary - workflow.now(), summary=f"month end {boundary.isoformat()}")
            month = month_before(boundary, timezone)
            policy = await db_call(LOAD_REPORT_POLICY, REPORT_POLICY_NAME, result_type=ReportPolicy)
            for customer_id in sorted(policy.major_customers):
                await start_report(OBLIGATION_WORKFLOW, operation_report_input(policy, customer_id, month, timezone))
            if ends_quarter(month):
                await start_report(QUARTERLY_WORKFLOW, quarterly_input(policy, *quarter_of(month)))
            self._fired = [*self._fired, f"{month:%Y-%m}"][-12:]
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(state.model_copy(update={"fired": tuple(self._fired)}))

    @workflow.query(name="fired")
    def fired(self) -> list[str]:
        """The month ends this scheduler acted on (YYYY-MM), newest last."""
        return self._fired


def scheduler_state(policy: PolicyRef | None = None) -> SchedulerState:
    """The scheduler's first state."""
    return SchedulerState(policy=policy or PolicyRef())
