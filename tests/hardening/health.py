"""The health check every hardening test ends with: no workflow wedged, failed or retrying an activity."""

from __future__ import annotations

from collections.abc import Iterable

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from tests.support import eventually

MAX_ATTEMPT = 3
_BAD_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED: "a workflow task failed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "the workflow failed",
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: "a workflow task timed out",
}
_BUSY_LAST = {EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED}


async def workflow_problems(client: Client, workflow_id: str) -> list[str]:
    """What is wrong with one workflow once its in-flight workflow task finished: [] when it is healthy."""
    handle = client.get_workflow_handle(workflow_id)

    async def settled():
        events = (await handle.fetch_history()).events
        wedged = any(e.event_type in _BAD_EVENTS for e in events)  # a failing task never settles: report it now
        return events if wedged or events[-1].event_type not in _BUSY_LAST else None

    events = await eventually(settled, what=f"{workflow_id} idle")
    problems = sorted({f"{workflow_id}: {_BAD_EVENTS[e.event_type]}" for e in events if e.event_type in _BAD_EVENTS})
    description = await handle.describe()
    if description.status == WorkflowExecutionStatus.RUNNING:
        for pending in description.raw_description.pending_activities:
            if pending.attempt > MAX_ATTEMPT or pending.HasField("last_failure"):
                problems.append(
                    f"{workflow_id}: activity {pending.activity_type.name} retrying, attempt {pending.attempt}"
                )
    return problems


async def assert_healthy(client: Client, workflow_ids: Iterable[str]) -> int:
    """Assert every workflow is healthy; returns how many were checked."""
    ids = list(workflow_ids)
    problems = [p for workflow_id in ids for p in await workflow_problems(client, workflow_id)]
    assert not problems, problems
    return len(ids)
