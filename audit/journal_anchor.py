"""The client side of journal anchoring: keep the JournalAnchor workflow running, read what it recorded."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from core.journal_anchor import ANCHORS_QUERY, AnchorState, JournalAnchor
from workflows.journal_anchor import JournalAnchorWorkflow


async def ensure_anchoring(client: Client, *, workflow_id: str, task_queue: str, interval_minutes: int) -> None:
    """Start the anchor workflow unless it is already running (safe to call from every worker start)."""
    await client.start_workflow(
        JournalAnchorWorkflow.run,
        AnchorState(interval_minutes=interval_minutes),
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def recorded_anchors(
    client: Client, workflow_id: str, *, rpc_timeout: timedelta | None = None
) -> list[JournalAnchor] | None:
    """The anchors the workflow holds, or None when there is no anchor workflow."""
    try:
        anchors: list[JournalAnchor] = await client.get_workflow_handle(workflow_id).query(
            ANCHORS_QUERY, result_type=list[JournalAnchor], rpc_timeout=rpc_timeout
        )
        return anchors
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
