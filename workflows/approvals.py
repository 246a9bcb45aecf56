"""ApprovalWorkflow: a stand-alone request decided by someone else holding the approver role."""

from __future__ import annotations

from temporalio import workflow

from workflows.tasks import HumanTaskBook

with workflow.unsafe.imports_passed_through():
    from core.approvals import ApprovalInput, ApprovalResult
    from core.records import AuditRecord
    from core.tasks import Candidates, HumanTask, TaskRequest


NOTIFY_REQUESTER_PATCH = "approval-notify-requester"


@workflow.defn(name="Approval")
class ApprovalWorkflow(HumanTaskBook):
    """Opens one approval task (reminders at the ladder's thresholds, escalation at breach) and returns its decision."""

    @workflow.run
    async def run(self, request: ApprovalInput) -> ApprovalResult:
        """Load the policy, open the task, wait for the decision."""
        await self.load_policy(request.policy)
        requester, workflow_id = request.requested_by, workflow.info().workflow_id
        audit = AuditRecord.by(
            requester,
            "approval.request",
            "workflow",
            workflow_id,
            at=workflow.now(),
            request_id=request.request_id,
            workflow_id=workflow_id,
            reason=request.reason,
        )
        task = await self.open_task(
            TaskRequest(
                kind="approval",
                subject=request.subject,
                candidates=Candidates(roles=(request.approver_role,)),
                requested_by=requester.username,
                budget=request.budget,
            ),
            audit=audit,
        )
        task = await self.wait_task(task.task_id)
        # Added after workflows were already running: histories from before the change carry no marker
        # and replay without the extra activity (docs/versioning.md).
        if workflow.patched(NOTIFY_REQUESTER_PATCH):
            await self.tell_requester(task)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ApprovalResult(
            task_id=task.task_id,
            outcome=task.outcome or task.status.value,
            decided_by=task.decided_by,
            decided_at=task.decided_at,
            comment=task.comment,
        )

    async def tell_requester(self, task: HumanTask) -> None:
        """Notify the requester (in-app) of how their request was decided."""
        outcome = task.outcome or task.status.value
        message = f"Your request was decided: {outcome} by {task.decided_by or 'nobody'} ({task.subject})"
        to = Candidates(assignee=task.requested_by)
        await self._record(task, notifications=self._notices(task, "decided", message, to, suffix="decided"))
