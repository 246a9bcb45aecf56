"""The workflow runner: one definition for the worker and the replayer (audit/replay.py).

What the sandbox re-imports for every run (and every replayed history): only the workflow modules
(`workflows.*`). Everything else passes through from the host process, once:
- the SDK's default pass-through set: the standard library, `temporalio`, `pydantic` and the other
  libraries the SDK knows to be deterministic at import;
- `core` (the pure rules: pydantic models and functions of their arguments, no I/O, no clocks, no module
  state that changes after import), listed here as well as in the workflows' `imports_passed_through()`
  blocks so an import outside such a block cannot make each run re-import it.
The workflow modules themselves stay sandboxed: their `datetime`, `random`, `asyncio` and `os` are the
sandbox's restricted proxies, so a non-deterministic call in workflow code is refused in tests and in
replay. Passing them through (`passthrough_all_modules`) would skip that check and share their module state
between runs; measured, it would save about a fifth of a sandboxed replay (bench/README.md, replay speed).

The one change to the SDK's sandbox: the serialization context of each payload (which the SDK asks the
workflow instance for before encoding or decoding any payload) is read from the sandboxed instance
directly instead of through a new `exec` under the sandbox's importer. That lookup runs only SDK code
(it reads the run's info and pending commands and builds a context dataclass), never workflow code, so
it needs none of the sandbox's restrictions; through the importer it cost a fifth of a replay.
"""

from __future__ import annotations

from dataclasses import dataclass

import temporalio.converter
from temporalio.converter._extstore import StorageDriverStoreContext
from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox._runner import _Instance

# Deterministic, side-effect-free modules the sandbox need not re-import per run (see the module docstring).
PASSED_THROUGH = ("core",)
RESTRICTIONS = SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
_IN_SANDBOX = "__temporal_in_sandbox"  # the SDK's name for the sandboxed instance in the sandbox's globals


class _ContextLookupInstance(_Instance):
    """The SDK's sandboxed instance, answering the serialization-context look-ups without re-entering the
    sandbox (they run SDK code only)."""

    def get_serialization_context(
        self, command_info: CommandInfo | None
    ) -> temporalio.converter.SerializationContext | None:
        """The context the sandboxed instance gives for `command_info`."""
        return self.globals_and_locals[_IN_SANDBOX].get_serialization_context(command_info)  # type: ignore[attr-defined,no-any-return]

    def get_external_store_context(self, command_info: CommandInfo | None) -> StorageDriverStoreContext:
        """The external-store context the sandboxed instance gives for `command_info`."""
        return self.globals_and_locals[_IN_SANDBOX].get_external_store_context(command_info)  # type: ignore[attr-defined,no-any-return]


@dataclass(frozen=True)
class KexiangSandboxRunner(SandboxedWorkflowRunner):
    """The SDK's sandboxed runner with kexiang's restrictions and the direct context look-up."""

    restrictions: SandboxRestrictions = RESTRICTIONS

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        """A sandboxed instance of the run (its workflow modules freshly imported in its own sandbox)."""
        return _ContextLookupInstance(det, self.runner_class, self.restrictions)


def workflow_runner(*, sandboxed: bool = True) -> WorkflowRunner:
    """The runner for workers and for replay; `sandboxed=False` only for bulk replay (`audit.cli replay
    --unsandboxed`), never for a worker."""
    return KexiangSandboxRunner() if sandboxed else UnsandboxedWorkflowRunner()
