"""A stand-in parent (like a pre-sales order) that starts a ResourceCheck child, waits for its report (tests only)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from core.resource_checks import REPORT_SIGNAL, WORKFLOW_TYPE, CheckReport, ResourceCheckInput, workflow_id_for


@workflow.defn(name="TestCheckParent")
class CheckParentWorkflow:
    """Starts the check (abandoned on close, so its reservations still expire) and returns its report."""

    def __init__(self) -> None:
        self._report: CheckReport | None = None

    @workflow.run
    async def run(self, start: ResourceCheckInput, child_queue: str) -> CheckReport:
        """Start the child check and wait for its report."""
        await workflow.start_child_workflow(
            WORKFLOW_TYPE,
            start,
            id=workflow_id_for(start.check_id),
            task_queue=child_queue,
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        await workflow.wait_condition(lambda: self._report is not None)
        assert self._report is not None
        return self._report

    @workflow.signal(name=REPORT_SIGNAL)
    def report(self, report: CheckReport) -> None:
        """The child's outcome."""
        self._report = report
