"""The API's door to Temporal: starts and updates that fail fast with clear errors, never hang."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from core.tasks import RefusalCode, TaskRefused
from db import heartbeats
from db.session import Database

T = TypeVar("T")

_WORKER_CACHE_SECONDS = 1.0  # a live worker is re-checked at most once a second per API process
# An act that reaches a workflow still being set up is re-sent for up to this long, then answered 503.
_NOT_READY_WAIT_SECONDS = 5.0
_NOT_READY_FIRST_PAUSE = 0.05


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

    def __init__(
        self, client: Client, db: Database, *, task_queue: str, rpc_timeout: float, worker_stale_seconds: float
    ) -> None:
        self.client = client
        # Liveness is read on a connection of its own: a request already holding one of the main pool's connections
        # must never wait for a second one (fifty concurrent creates would starve the pool).
        self.db = db.side_pool()
        self._probing = asyncio.Lock()
        self.task_queue = task_queue
        self.rpc_timeout = timedelta(seconds=rpc_timeout)
        self.worker_stale_seconds = worker_stale_seconds
        self._worker_seen_at = -_WORKER_CACHE_SECONDS

    async def worker_alive(self, *, cached: bool = True) -> bool:
        """True when a worker on our task queue wrote a heartbeat within `worker_stale_seconds` (HeartbeatWorker).

        A positive answer is cached for a second (`cached=False` always asks); database errors propagate.
        """
        if cached and time.monotonic() - self._worker_seen_at < _WORKER_CACHE_SECONDS:
            return True
        async with self._probing:  # one probe at a time; those that queued behind a fresh answer take it
            if cached and time.monotonic() - self._worker_seen_at < _WORKER_CACHE_SECONDS:
                return True
            async with self.db.session() as session:
                age = await heartbeats.freshest_age(
                    session, namespace=self.client.namespace, task_queue=self.task_queue
                )
            alive = age is not None and age < self.worker_stale_seconds
            self._worker_seen_at = time.monotonic() if alive else -_WORKER_CACHE_SECONDS
            return alive

    async def close(self) -> None:
        """Release the liveness connection."""
        await self.db.dispose()

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
        except RuntimeError as err:
            raise _unreachable(err) from err

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
        """Send a human act as an update deduplicated on request_id; map refusals and outages.

        A workflow still being set up (its validator answers `not_ready`) is asked again for a few seconds, so an
        act sent right after the create is not refused for being early; it is answered 503 if it stays not ready.
        """
        await self._require_worker()
        deadline = time.monotonic() + _NOT_READY_WAIT_SECONDS
        pause = _NOT_READY_FIRST_PAUSE
        while True:
            try:
                return await self._update_once(workflow_id, update, arg, request_id=request_id, result_type=result_type)
            except TaskRefused as refused:
                if refused.code != RefusalCode.NOT_READY:
                    raise
                if time.monotonic() + pause > deadline:
                    raise TemporalUnavailable(f"{refused.message} (still not ready after a few seconds)") from None
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)

    async def _update_once(
        self, workflow_id: str, update: str, arg: Any, *, request_id: str, result_type: type[T]
    ) -> T:
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
        except RuntimeError as err:
            raise _unreachable(err) from err


def _unreachable(err: RuntimeError) -> Exception:
    """A lazy client that cannot connect raises RuntimeError("Failed client connect…"): Temporal is unreachable."""
    if str(err).startswith("Failed client connect"):
        return TemporalUnavailable("Temporal is unreachable; try again shortly")
    return err
