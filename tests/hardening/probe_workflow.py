"""A workflow that feeds bad data to the worker's failure policy: an overflow in an update, a NUL to the database."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.records import NotificationRecord, TaskEvent
    from workflows.common import RECORD_TASK_EVENT


FLAKY_ACTIVITY = "test_flaky"


@workflow.defn(name="TestHardeningProbe")
class HardeningProbeWorkflow:
    """Waits for `finish`; its updates misbehave on purpose and its run overflows when asked to."""

    def __init__(self) -> None:
        self._done = False
        self.acts = 0

    @workflow.run
    async def run(self, overflow: bool) -> int:
        """Overflow at once when asked to, else wait for `finish`."""
        if overflow:
            _ = workflow.now() + timedelta(days=3_000_000)
        await workflow.wait_condition(lambda: self._done)
        return self.acts

    @workflow.update
    async def overflow(self) -> None:
        """A deadline past year 9999: OverflowError in workflow code."""
        _ = workflow.now() + timedelta(days=3_000_000)

    @workflow.update
    async def count(self) -> int:
        """A well-behaved act."""
        self.acts += 1
        return self.acts

    @workflow.update
    async def write(self, message: str, attempts: int) -> str:
        """Record a notification through the real activity; returns how it failed (or "written")."""
        event = TaskEvent(
            notifications=(
                NotificationRecord(
                    key=f"probe:{workflow.info().workflow_id}:{workflow.uuid4()}",
                    kind="probe",
                    message=message,
                    recipient_user="nobody",
                    workflow_id=workflow.info().workflow_id,
                    created_at=workflow.now(),
                ),
            )
        )
        try:
            await workflow.execute_activity(
                RECORD_TASK_EVENT,
                event,
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=10), maximum_attempts=attempts),
            )
        except ActivityError as err:
            cause = err.cause
            assert isinstance(cause, ApplicationError)
            return f"{cause.type} non_retryable={cause.non_retryable}: {cause.message}"
        return "written"

    @workflow.update
    async def flaky(self, succeed_at: int) -> str:
        """Run an activity that fails (retryably) until attempt `succeed_at`."""
        return await workflow.execute_activity(
            FLAKY_ACTIVITY,
            succeed_at,
            result_type=str,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=10), backoff_coefficient=1.0),
        )

    @workflow.signal
    def finish(self) -> None:
        """End the run."""
        self._done = True
