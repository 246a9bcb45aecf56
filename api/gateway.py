"""The API's door to Temporal: starts and updates that fail fast with clear errors, never hang."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from core.tasks import RefusalCode, TaskRefused

T = TypeVar("T")

# A live worker re-polls at least every ~70 s (60 s long polls); older pollers are gone.
_POLLER_FRESH_SECONDS = 75.0
_POLLER_CACHE_SECONDS = 2.0


# Failure types that mean the act's data was at fault (the worker's DATA_FAILURES and activities/guard.py).
_DATA_FAILURE_TYPES = frozenset(
    {"ValueError", "ValidationError", "OverflowError", "ZeroDivisionError", "DataError", "IntegrityError"}
)


def data_failure(cause: BaseException | None) -> str | None:
    """The failure type when an update failed on its data (in the workflow or in an activity it ran), else None."""
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type in _DATA_FAILURE_TYPES:
            return cause.type
        cause = cause.__cause__
    return None


class TemporalUnavailable(Exception):
    """Temporal or the worker cannot serve the call right now (HTTP 503)."""


class TemporalGateway:
    """Wraps the Temporal client with a worker-liveness check and error mapping."""

    def __init__(self, client: Client, *, task_queue: str, rpc_timeout: float) -> None:
        self.client = client
        self.task_queue = task_queue
        self.rpc_timeout = timedelta(seconds=rpc_timeout)
        self._worker_seen_at = 0.0

    async def worker_alive(self) -> bool:
        """True when some worker polled the task queue recently (cached briefly)."""
        if time.monotonic() - self._worker_seen_at < _POLLER_CACHE_SECONDS:
            return True
        try:
            response = await self.client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=self.client.namespace,
                    task_queue=TaskQueue(name=self.task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                ),
                timeout=self.rpc_timeout,
            )
        except RPCError as err:
            # A server without DescribeTaskQueue (the time-skipping test server) cannot tell: do not refuse work.
            return err.status == RPCStatusCode.UNIMPLEMENTED
        except RuntimeError:  # a lazy client that cannot connect
            return False
        now = time.time()
        fresh = any(now - p.last_access_time.ToSeconds() < _POLLER_FRESH_SECONDS for p in response.pollers)
        if fresh:
            self._worker_seen_at = time.monotonic()
        return fresh

    async def _require_worker(self) -> None:
        if not await self.worker_alive():
            raise TemporalUnavailable("no kexiang worker is polling; try again shortly")

    async def start(self, workflow: str, arg: Any, *, workflow_id: str, **options: Any) -> None:
        """Start a workflow; raises TemporalUnavailable when it cannot be started now."""
        await self._require_worker()
        try:
            await self.client.start_workflow(
                workflow, arg, id=workflow_id, task_queue=self.task_queue, rpc_timeout=self.rpc_timeout, **options
            )
        except WorkflowAlreadyStartedError:
            raise
        except RPCError as err:
            raise TemporalUnavailable(f"Temporal did not accept the start: {err.message}") from err

    async def exists(self, workflow_id: str) -> bool:
        """True when Temporal knows a workflow with this id (running or closed)."""
        try:
            await self.client.get_workflow_handle(workflow_id).describe(rpc_timeout=self.rpc_timeout)
        except RPCError as err:
            if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                return False
            raise TemporalUnavailable(f"Temporal is unavailable: {err.message}") from err
        return True

    async def update(self, workflow_id: str, update: str, arg: Any, *, request_id: str, result_type: type[T]) -> T:
        """Send a human act as an update deduplicated on request_id; map refusals and outages."""
        await self._require_worker()
        handle = self.client.get_workflow_handle(workflow_id)
        try:
            result: T = await handle.execute_update(
                update, arg, id=request_id, result_type=result_type, rpc_timeout=self.rpc_timeout
            )
            return result
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type and cause.type in RefusalCode._value2member_map_:
                raise TaskRefused(RefusalCode(cause.type), cause.message) from err
            if (kind := data_failure(cause)) is not None:
                # Never the message: a validation error quotes the value, which may be customer data.
                raise TaskRefused(RefusalCode.INVALID, f"the act's data cannot be processed ({kind})") from err
            raise TaskRefused(RefusalCode.CONFLICT, str(cause or err)) from err
        except WorkflowUpdateRPCTimeoutOrCancelledError as err:
            raise TemporalUnavailable("the workflow did not answer in time; try again") from err
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise TaskRefused(RefusalCode.CONFLICT, "the workflow is no longer running") from err
            raise TemporalUnavailable(f"Temporal is unavailable: {err.message}") from err
