"""Fixtures of the ticket tests."""

from __future__ import annotations

import contextlib

import pytest_asyncio
from temporalio.service import RPCError


@pytest_asyncio.fixture(loop_scope="session")
async def ends(env):
    """Workflow ids to terminate when the test is over (a closed ticket waits out its reopen window)."""
    ids: list[str] = []
    yield ids
    for workflow_id in ids:
        with contextlib.suppress(RPCError):  # already closed
            await env.client.get_workflow_handle(workflow_id).terminate("test over")
