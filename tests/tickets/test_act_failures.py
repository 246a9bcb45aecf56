"""The act update fails alone: a payload that is no ticket act, or a handler's error, never fails the workflow."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import WorkflowUpdateFailedError

from core.tickets import LogProgress, Pause, ProgressKind, Resume, TicketStatus
from infra.worker_factory import build_worker
from tests.support import rid
from tests.tickets.broken_workflows import TicketWithBrokenResume
from tests.tickets.flow import ENGINEER, TicketFlow


async def test_a_payload_that_is_no_ticket_act_is_refused_as_invalid(env, worker, task_queue):
    flow = await TicketFlow.start(env, task_queue)
    bogus = {"type": "teleport", "request_id": rid(), "actor": ENGINEER.model_dump(mode="json")}
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await flow.handle.execute_update("act", bogus, id=bogus["request_id"])
    assert refused.value.cause.type == "invalid" and "not a ticket act" in refused.value.cause.message
    await flow.accept()
    assert (await flow.ticket()).status == TicketStatus.IN_PROGRESS
    await flow.finish()


async def test_a_handler_error_fails_that_act_and_the_ticket_takes_the_next(env, db, settings):
    queue = f"kx-broken-{uuid.uuid4().hex[:8]}"
    async with build_worker(env.client, db, settings, task_queue=queue, workflows=[TicketWithBrokenResume]):
        flow = await TicketFlow.start(env, queue)
        await flow.accept()
        await flow.act(Pause(request_id=rid(), actor=ENGINEER, kind="customer", reason="waiting for the customer"))
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await flow.act(Resume(request_id=rid(), actor=ENGINEER))
        cause = failed.value.cause
        assert cause.type == "conflict" and "resume: could not be applied (KeyError" in cause.message
        # The workflow task did not fail: the ticket answers and applies the next act.
        logged = await flow.act(LogProgress(request_id=rid(), actor=ENGINEER, kind=ProgressKind.ACTION, text="x"))
        assert logged.status == TicketStatus.WAITING_CUSTOMER
        await flow.finish()
