"""The benchmark's code path with a handful of tickets on the suite's servers, so it cannot rot (no timing asserted)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus

from bench.intake_and_decision import Target, measure, report
from core.tickets import Ticket
from db.session import Database
from db.tickets import workflow_id_for

TICKETS = 4


@pytest_asyncio.fixture
async def bench_db(database_urls) -> AsyncIterator[Database]:
    """The bench creates its baseline's own table: the owner role may, the app role (the `db` fixture) may not."""
    database = Database(database_urls.owner, pool_size=5)
    yield database
    await database.dispose()


async def test_bench_measures_both_sides_and_prints_figures(env, worker, api_url, bench_db, capsys):
    """Every item is created, settles and is decided on both sides; the report prints every figure and ratio."""
    queue = f"bench-smoke-{uuid.uuid4().hex[:8]}"
    figures = await measure(
        Target(api_url, env.client, bench_db, baseline_queue=queue),
        tickets=TICKETS,
        concurrency=2,
        decisions=TICKETS,
        decision_concurrency=2,
        warmup=0,
        say=print,
        cpu=lambda: {"bench": time.process_time()},
    )
    print(report(figures))

    for side in (figures.kexiang, figures.baseline):
        assert not side.intake.failures and not side.decisions.failures
        assert len(side.ids) == len(side.intake.latencies) == len(side.decisions.latencies) == TICKETS
        assert side.settled_seconds >= side.intake.elapsed > 0
    printed = capsys.readouterr().out
    assert f"decisions: kexiang, {TICKETS} of {TICKETS} open" in printed
    assert set(figures.cpu) == {"kexiang intake", "baseline intake", "baseline decisions", "kexiang decisions"}
    for figure in (
        "CPU ms per item",
        "intake created/s",
        "intake settled/s",
        "decision p50 ms",
        "decision p95 ms",
        "decision p99 ms",
        ">= 0.90",  # created/s
        ">= 0.80",  # settled/s
        "<= 1.5",  # decision p50
        "<= 2.0",  # decision p99 and CPU per ticket
        "CPU ms per ticket (intake + decision)",
    ):
        assert figure in printed
    for workflow_id in figures.baseline.ids:  # the decision completed each baseline run
        assert (
            await env.client.get_workflow_handle(workflow_id).describe()
        ).status == WorkflowExecutionStatus.COMPLETED
    for number in figures.kexiang.ids:  # each ticket was accepted by the engineer (teardown ends them)
        handle = env.client.get_workflow_handle(workflow_id_for(number))
        assert (await handle.query("ticket", result_type=Ticket)).handler == "engineer1"
