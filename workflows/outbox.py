"""OutboxDispatcher: delivers the outbox (core/outbox.py), lane by lane, forever.

One long-running instance. Each round asks which lane heads are due on the workflow's clock and delivers them
side by side (one message per lane, so each lane keeps its order; since ROUND_PATCH all in one activity); then it
waits for a `kick` (the worker's waker relays the outbox's PostgreSQL NOTIFY), for the next backoff to end, or for
the idle interval. Backoff, retry budget and dead letters are decided by the delivery activity on the time this
workflow passes it; the activity's own retry policy only covers outages (the database, a crash mid-attempt).
Continues as new every few hundred rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from core.outbox import (
        DISPATCHER_WORKFLOW,
        KICK_SIGNAL,
        OUTBOX_DELIVER,
        OUTBOX_DELIVER_ROUND,
        OUTBOX_DUE,
        ROUND_CONCURRENCY,
        ROUND_PATCH,
        DeliveryOutcome,
        DeliveryRequest,
        DispatcherState,
        DueMessages,
        DueQuery,
        RoundOutcome,
        RoundRequest,
    )
    from workflows.common import DB_WRITE_RETRY, DB_WRITE_TIMEOUT

# An attempt talks to an outside system; the channel adapters time out before this does. It heartbeats while it
# sends, so an attempt whose worker died is retried (same message id) after the heartbeat timeout.
DELIVERY_TIMEOUT = timedelta(seconds=60)
DELIVERY_HEARTBEAT_TIMEOUT = timedelta(seconds=10)


@workflow.defn(name=DISPATCHER_WORKFLOW)
class OutboxDispatcherWorkflow:
    """Delivers every due outbox message, waiting between rounds for a kick, a backoff's end or the idle interval."""

    def __init__(self) -> None:
        self._kicked = False

    @workflow.run
    async def run(self, state: DispatcherState) -> None:
        """Deliver, wait, repeat; continue as new after `rounds_per_run` rounds or when Temporal suggests it."""
        for _ in range(state.rounds_per_run):
            self._kicked = False
            due = await workflow.execute_activity(
                OUTBOX_DUE,
                DueQuery(now=workflow.now()),
                result_type=DueMessages,
                start_to_close_timeout=DB_WRITE_TIMEOUT,
                retry_policy=DB_WRITE_RETRY,
            )
            if due.ids:
                if workflow.patched(ROUND_PATCH):
                    outcomes = await self._deliver_round(due.ids, state)
                else:
                    outcomes = await asyncio.gather(*(self._deliver(message_id, state) for message_id in due.ids))
                if all(outcomes):
                    continue  # more may be due at once; a failed delivery waits for the next kick or look instead
            wait = timedelta(minutes=state.idle_minutes)
            if due.next_due_at is not None:
                wait = min(wait, max(due.next_due_at - workflow.now(), timedelta(seconds=1)))
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._kicked, timeout=wait, timeout_summary="outbox idle")
            if workflow.info().is_continue_as_new_suggested():
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(state)

    async def _deliver_round(self, ids: tuple[int, ...], state: DispatcherState) -> list[DeliveryOutcome | None]:
        """The round's messages in one activity (three events and one wake-up instead of those per message)."""
        try:
            done: RoundOutcome = await workflow.execute_activity(
                OUTBOX_DELIVER_ROUND,
                RoundRequest(message_ids=ids, now=workflow.now(), budget=state.budget),
                result_type=RoundOutcome,
                start_to_close_timeout=DELIVERY_TIMEOUT * -(-len(ids) // ROUND_CONCURRENCY),
                heartbeat_timeout=DELIVERY_HEARTBEAT_TIMEOUT,
                retry_policy=DB_WRITE_RETRY,
            )
        except ActivityError:
            workflow.logger.warning("outbox round of %d message(s) could not be attempted", len(ids))
            return [None]
        return list(done.outcomes)

    async def _deliver(self, message_id: int, state: DispatcherState) -> DeliveryOutcome | None:
        """One attempt; None when the activity itself failed for good (one bad message never stops the others)."""
        try:
            outcome: DeliveryOutcome = await workflow.execute_activity(
                OUTBOX_DELIVER,
                DeliveryRequest(message_id=message_id, now=workflow.now(), budget=state.budget),
                result_type=DeliveryOutcome,
                start_to_close_timeout=DELIVERY_TIMEOUT,
                heartbeat_timeout=DELIVERY_HEARTBEAT_TIMEOUT,
                retry_policy=DB_WRITE_RETRY,
            )
        except ActivityError:
            workflow.logger.warning("outbox message %s could not be attempted", message_id)
            return None
        return outcome

    @workflow.signal(name=KICK_SIGNAL)
    def kick(self) -> None:
        """There is new work (or a resend): look now."""
        self._kicked = True
