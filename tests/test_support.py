"""The suite's isolation machinery: every workflow started through a client is recorded, and ending them reaches
the children a parent abandoned, leaving nothing running."""

from __future__ import annotations

from contextlib import suppress

from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from core.resource_checks import workflow_id_for as check_workflow_id
from infra.worker_factory import build_worker
from tests.provisioning.presales_flow import PRESALES, DemandFlow
from tests.support import StartedWorkflows, end_running, eventually, time_skipping_server


async def test_started_workflows_and_their_abandoned_children_are_ended(converter, db, settings):
    started = StartedWorkflows()
    async with time_skipping_server(converter, started) as env, build_worker(env.client, db, settings):
        demand = await DemandFlow.start(env, settings.temporal_task_queue)
        await demand.refine()
        await demand.decide("product_fit", PRESALES, "fit")  # starts the resource check as an abandoned child

        async def check_started() -> str | None:
            return (await demand.demand()).check_id

        check = env.client.get_workflow_handle(check_workflow_id(await eventually(check_started, what="child")))

        async def child_running() -> bool:
            with suppress(RPCError):
                return (await check.describe()).status == WorkflowExecutionStatus.RUNNING
            return False

        await eventually(child_running, what="child running")
        assert started.ids == [demand.handle.id]  # the child was started by the workflow, not through the client

        assert sorted(await end_running(env.client, started.ids)) == sorted([demand.handle.id, check.id])
        for handle in (demand.handle, check):
            assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
        assert await end_running(env.client, started.ids) == []  # nothing is left to end
