"""A stand-in for the incident workflow (never registered outside the tests): it owes a fault report.

Workflow classes live in a module of their own (no side effects), as the sandbox requires.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from workflows.reports import start_fault_report


@workflow.defn(name="FaultReportCaller")
class FaultReportCaller:
    """Starts the fault report a major fault owes, twice (the second is a no-op), and returns its id."""

    @workflow.run
    async def run(self, fault_ref: str, occurred_at: datetime) -> list[str]:
        """Call workflows.reports.start_fault_report as the incident workflow will."""
        first = await start_fault_report(fault_ref, occurred_at, "核心网元故障")
        second = await start_fault_report(fault_ref, occurred_at, "核心网元故障")
        return [first, second]
