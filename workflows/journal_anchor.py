"""JournalAnchorWorkflow: every few minutes, record the audit chain's head in Temporal's history.

One long-running instance (started by the worker, id from settings). Each round's activity result,
(row id, row hash), lands in the history; the newest anchors stay in the workflow's state, carried across
continue-as-new, and `/api/audit/verify` reads them through the `anchors` query.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core.journal_anchor import ANCHORS_QUERY, JOURNAL_HEAD, KEPT_ANCHORS, AnchorState, JournalAnchor, JournalHead
    from workflows.common import DB_WRITE_RETRY, DB_WRITE_TIMEOUT


@workflow.defn(name="JournalAnchor")
class JournalAnchorWorkflow:
    """Anchors the journal's head at an interval, forever (a fresh run every `rounds_per_run` rounds)."""

    def __init__(self) -> None:
        self._anchors: list[JournalAnchor] = []

    @workflow.run
    async def run(self, state: AnchorState) -> None:
        """Record the head, wait the interval, repeat; continue as new with the kept anchors."""
        self._anchors = list(state.anchors)
        for _ in range(state.rounds_per_run):
            head = (
                await workflow.execute_activity(
                    JOURNAL_HEAD,
                    result_type=JournalHead,
                    start_to_close_timeout=DB_WRITE_TIMEOUT,
                    retry_policy=DB_WRITE_RETRY,
                )
            ).anchor
            if head is not None and (not self._anchors or self._anchors[-1] != head):
                self._anchors = [*self._anchors, head][-KEPT_ANCHORS:]
            await workflow.sleep(timedelta(minutes=state.interval_minutes))
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(state.model_copy(update={"anchors": self._anchors}))

    @workflow.query(name=ANCHORS_QUERY)
    def anchors(self) -> list[JournalAnchor]:
        """The kept anchors, oldest first."""
        return self._anchors
