"""Workflows for tests/unit/test_workflow_sandbox.py, in a module of their own (the sandbox re-imports it per run)."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import activity, workflow


@activity.defn(name="sandbox_probe_echo")
async def echo(text: str) -> str:
    """Return the text, so an activity's input and result cross the codec both ways."""
    return text.upper()


@workflow.defn(name="SandboxProbe")
class SandboxProbeWorkflow:
    """Reads the wall clock (which the sandbox must refuse) and runs one activity."""

    @workflow.run
    async def run(self, text: str) -> list[str]:
        """[how the wall-clock read ended, the activity's result]."""
        try:
            datetime.now()
            clock = "allowed"
        except Exception as err:  # the sandbox's RestrictedWorkflowAccessError
            clock = type(err).__name__
        echoed = await workflow.execute_activity(echo, text, start_to_close_timeout=timedelta(seconds=30))
        return [clock, echoed]
