"""The one workflow runner (infra/sandbox.py): the sandbox still refuses non-deterministic calls, payloads still
cross the codec with the same serialization contexts, and worker and replayer use it."""

from __future__ import annotations

import uuid

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, Worker
from temporalio.worker.workflow_sandbox._runner import _Instance

import audit.replay
from infra import sandbox
from tests.unit.sandbox_workflows import SandboxProbeWorkflow, echo


async def _probe_history(env, runner) -> tuple[list[str], WorkflowHistory]:
    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client, task_queue=queue, workflows=[SandboxProbeWorkflow], activities=[echo], workflow_runner=runner
    ):
        handle = await env.client.start_workflow(
            SandboxProbeWorkflow.run, "ping", id=f"sandbox-probe-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        result = await handle.result()
        return result, await handle.fetch_history()


async def test_the_runner_refuses_the_wall_clock_and_round_trips_payloads(env, converter):
    """datetime.now() in workflow code is refused, the activity's encrypted input and result decode, the
    history replays under the same runner."""
    result, history = await _probe_history(env, sandbox.workflow_runner())
    assert result == ["RestrictedWorkflowAccessError", "PING"]
    replayer = Replayer(
        workflows=[SandboxProbeWorkflow], data_converter=converter, workflow_runner=sandbox.workflow_runner()
    )
    replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None


async def test_payload_contexts_are_the_ones_the_sdk_sandbox_gives(env):
    """The direct look-up answers exactly what the SDK's look-up through the sandbox's importer answers."""
    seen: list[tuple[object, object]] = []
    original = sandbox._ContextLookupInstance.get_serialization_context

    def both(self, command_info):
        ours = original(self, command_info)
        seen.append((ours, _Instance.get_serialization_context(self, command_info)))
        return ours

    sandbox._ContextLookupInstance.get_serialization_context = both  # type: ignore[method-assign]
    try:
        result, _ = await _probe_history(env, sandbox.workflow_runner())
    finally:
        sandbox._ContextLookupInstance.get_serialization_context = original  # type: ignore[method-assign]
    assert result[1] == "PING"
    assert seen and all(ours == sdk for ours, sdk in seen)
    assert any(type(ours).__name__ == "ActivitySerializationContext" for ours, _ in seen)


def test_worker_and_replayer_share_the_runner(monkeypatch):
    """Both build their runner with infra.sandbox.workflow_runner; core passes through, workflows do not."""
    assert isinstance(sandbox.workflow_runner(), sandbox.KexiangSandboxRunner)
    assert "core" in sandbox.RESTRICTIONS.passthrough_modules
    assert not sandbox.RESTRICTIONS.passthrough_all_modules
    assert not any(name.startswith("workflows") for name in sandbox.RESTRICTIONS.passthrough_modules)
    assert audit.replay.workflow_runner is sandbox.workflow_runner
    import infra.worker_factory

    assert infra.worker_factory.workflow_runner is sandbox.workflow_runner
