"""Deliberately incompatible versions of real workflows, for divergence tests (never registered with a worker).

Workflow classes live in a module of their own (no side effects), as the sandbox requires.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.approvals import ApprovalWorkflow
from workflows.tickets import ServiceTicketWorkflow

with workflow.unsafe.imports_passed_through():
    from core.approvals import ApprovalInput, ApprovalResult
    from core.tickets import ActOutcome, TicketInput


@workflow.defn(name="Approval")
class ApprovalWithUnpatchedPause(ApprovalWorkflow):
    """Approval that now pauses before loading its policy, without `workflow.patched`: breaks every old history."""

    @workflow.run
    async def run(self, request: ApprovalInput) -> ApprovalResult:
        """Sleep a second first, then behave as before."""
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(request)


@workflow.defn(name="Approval")
class ApprovalNotifyingUnguarded(ApprovalWorkflow):
    """The requester notification added without `workflow.patched`: what the real patch protects against."""

    @workflow.run
    async def run(self, request: ApprovalInput) -> ApprovalResult:
        """Run as before, then notify unconditionally (meant for histories recorded before the patch)."""
        result = await super().run(request)
        await self.tell_requester(self._tasks[result.task_id])
        return result


@workflow.defn(name="ServiceTicket")
class ServiceTicketWithUnpatchedPause(ServiceTicketWorkflow):
    """ServiceTicket that now pauses before loading its policy, without `workflow.patched`: breaks every old history."""

    @workflow.run
    async def run(self, start: TicketInput) -> ActOutcome:
        """Sleep a second first, then behave as before."""
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(start)
