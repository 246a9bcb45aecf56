"""The open-items bench's code path with a handful of tickets on the suite's servers, so it cannot rot (no timing
asserted)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bench.intake_and_decision import Target
from bench.open_tickets import measure_open, report
from bench.stack import Memory
from core.tickets import Ticket
from db.session import Database
from db.tickets import workflow_id_for

OPEN = 4


@pytest_asyncio.fixture
async def bench_db(database_urls) -> AsyncIterator[Database]:
    """The bench creates its baseline's own table: the owner role may, the app role (the `db` fixture) may not."""
    database = Database(database_urls.owner, pool_size=5)
    yield database
    await database.dispose()


def _own_memory() -> dict[str, Memory]:
    status = Path(f"/proc/{os.getpid()}/status").read_text().splitlines()
    rss = int(next(line for line in status if line.startswith("VmRSS")).split()[1])
    return {"bench": Memory(rss=rss, pss=rss)}


async def test_open_bench_fills_decides_and_reports_memory(env, worker, api_url, bench_db, capsys):
    """Both sides fill to N open and settle; a random and a newest set are decided; the report has every figure."""
    queue = f"bench-open-{uuid.uuid4().hex[:8]}"
    figures = await measure_open(
        Target(api_url, env.client, bench_db, baseline_queue=queue),
        open_items=OPEN,
        concurrency=2,
        backlog=2,
        decisions=2,
        decision_concurrency=2,
        warmup=0,
        progress=0.0,
        memory=_own_memory,
        cpu=lambda: {"bench": time.process_time()},
    )
    print(report(figures, project=100))

    for name, filled in figures.fills.items():
        assert not filled.run.failures, name
        assert len(filled.ids) == OPEN and filled.seconds > 0
    for (side, kind), run in figures.decisions.items():
        assert not run.failures and len(run.latencies) == 2, (side, kind)
    assert set(figures.decisions) == {(s, k) for s in ("kexiang", "baseline") for k in ("random", "newest")}
    assert {s.filling for s in figures.samples} == {"kexiang", "baseline"}
    assert figures.samples[-1].settled == {"kexiang": OPEN, "baseline": OPEN}
    assert figures.disk["postgres"] > 0
    printed = capsys.readouterr().out
    for figure in (
        "fill: items settled/s",
        "p50 ms",
        "p99 ms",
        "<= 1.5",
        "<= 2.0",
        "memory per open item",
        "PROJECTION",
    ):
        assert figure in printed
    decided = {figures.fills["kexiang"].ids[i] for i in range(OPEN)}  # 2 random + the 2 newest others = all four
    for number in decided:
        handle = env.client.get_workflow_handle(workflow_id_for(number))
        assert (await handle.query("ticket", result_type=Ticket)).handler == "engineer1"
