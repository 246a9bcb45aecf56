"""A ticket workflow with a deliberately broken act handler, to show a handler's error fails only that act.

Workflow classes live in a module of their own (no side effects), as the sandbox requires.
"""

from __future__ import annotations

from temporalio import workflow

from workflows.tickets import ServiceTicketWorkflow

with workflow.unsafe.imports_passed_through():
    from core.tickets import ActOutcome, Resume, TicketInput


@workflow.defn(name="ServiceTicket")
class TicketWithBrokenResume(ServiceTicketWorkflow):
    """Resume hits a data error, as a bug in a handler would."""

    @workflow.run
    async def run(self, start: TicketInput) -> ActOutcome:
        """Run as the real ticket does."""
        return await super().run(start)

    async def _on_resume(self, act: Resume) -> None:
        raise KeyError("resolve")
