"""The baselines (bench only): the smallest workflow doing a ticket's start → wait → decide → complete cycle, and
the timer storm's plain sleeper (BenchTimer).

Like a ticket it records itself when it parks and when it is decided (one row, one activity each), so
"parked" can be observed the same way as a routed ticket; unlike a ticket it has no policy, routing,
human-task book, ladder timers or journal. It runs on the bench's own task queue, never in the product worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.common import DB_WRITE_RETRY, DB_WRITE_TIMEOUT

BASELINE_WORKFLOW = "BenchBaseline"
BASELINE_PARKED = "bench_baseline_parked"
BASELINE_DECIDED = "bench_baseline_decided"


@workflow.defn(name=BASELINE_WORKFLOW)
class BenchBaselineWorkflow:
    """Record the row, wait for the `decide` update, complete."""

    def __init__(self) -> None:
        self._deciding = False
        self._decided_by: str | None = None

    @workflow.run
    async def run(self) -> str:
        """Park until decided; the result is who decided."""
        await workflow.execute_activity(
            BASELINE_PARKED,
            workflow.info().workflow_id,
            start_to_close_timeout=DB_WRITE_TIMEOUT,
            retry_policy=DB_WRITE_RETRY,
        )
        await workflow.wait_condition(lambda: self._decided_by is not None)
        return self._decided_by or ""

    @workflow.update(name="decide")
    async def decide(self, who: str) -> str:
        """Record the decision, then let the run complete."""
        self._deciding = True  # a second decide is refused from here on
        await workflow.execute_activity(
            BASELINE_DECIDED,
            workflow.info().workflow_id,
            start_to_close_timeout=DB_WRITE_TIMEOUT,
            retry_policy=DB_WRITE_RETRY,
        )
        self._decided_by = who
        return "decided"

    @decide.validator
    def _validate_decide(self, who: str) -> None:
        if self._deciding:
            raise ValueError("already decided")


BASELINE_TIMER_WORKFLOW = "BenchTimer"
BASELINE_TIMER_FIRED = "bench_timer_fired"


@dataclass(frozen=True)
class TimerFired:
    """What a baseline timer records when it fires: its due instant and the workflow's clock at arming and firing."""

    workflow_id: str
    due_at: datetime
    armed_at: datetime
    fired_at: datetime


@workflow.defn(name=BASELINE_TIMER_WORKFLOW)
class BenchTimerWorkflow:
    """The timer storm's bare side: one plain `workflow.sleep` until the due instant, one row when it fired."""

    @workflow.run
    async def run(self, due_at: datetime) -> None:
        """Sleep until `due_at`, then record the firing (one activity, as a ticket's breach is one write)."""
        armed_at = workflow.now()
        if due_at > armed_at:
            await workflow.sleep(due_at - armed_at)
        fired = TimerFired(
            workflow_id=workflow.info().workflow_id, due_at=due_at, armed_at=armed_at, fired_at=workflow.now()
        )
        await workflow.execute_activity(
            BASELINE_TIMER_FIRED, fired, start_to_close_timeout=DB_WRITE_TIMEOUT, retry_policy=DB_WRITE_RETRY
        )
