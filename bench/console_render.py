"""Server-side render time of the console's inbox and ticket page with many open tasks (issue 14: ≤ 150 ms p95).

```sh
.venv/bin/python -m bench.console_render --tasks 10000 --rounds 200
```

Starts an embedded PostgreSQL of its own under .data/bench/, migrates and seeds it, writes `--tasks` open tasks
(by default every one in engineer1's inbox, the worst case; `--mine N` puts N there and spreads the rest over
other departments) and one ticket with
a long progress log, then asks the app in-process (ASGI, no network) for My work and the ticket page as
engineer1, one request at a time, and prints p50/p95/max of each. The database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import delete, insert
from sqlmodel import col

from api.main import create_app
from core.roles import Role
from core.sla import Priority
from core.tickets import Category, Channel, Intake, ProgressEntry, ProgressKind, SlaCycle, Ticket, TicketStatus
from db.models import TaskRow, TicketRow, utcnow
from db.seed import DEMO_PASSWORD
from db.session import Database
from db.tickets import ticket_row_values
from infra.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


OTHER_DEPARTMENTS = ("operations", "fixed-network", "mobile-network", "construction", "procurement", "hq-operations")


async def seed(db: Database, tasks: int, tag: str, mine: int | None = None) -> str:
    """Write `tasks` open tasks, `mine` of them (all by default) in engineer1's inbox and the rest spread over other
    departments, and one worked ticket (its number); all ids carry `tag`."""
    mine = tasks if mine is None else mine
    now = utcnow()
    ticket_no = f"CS2099{tag[:8].upper()}"[:20]
    intake = Intake(
        customer_id="C-BENCH",
        customer_name="华信物流有限公司",
        industry="logistics",
        contact="13812345678",
        channel=Channel.PHONE,
        occurred_at=now.replace(second=0, microsecond=0) - timedelta(hours=3),
        scenario="机房断电后",
        description="专线中断，路由器告警 LOS，请回电 13812345678",
        categories=(Category.AFTERSALES_HARDWARE,),
        priority=Priority.MEDIUM,
    )
    ticket = Ticket(
        ticket_no=ticket_no,
        workflow_id=f"bench-{tag}",
        intake=intake,
        status=TicketStatus.IN_PROGRESS,
        created_at=now - timedelta(hours=2),
        created_by="agent1",
        first_responder="agent1",
        policy_name="standard",
        policy_version=1,
        calendar_name="cn-mainland",
        calendar_version=1,
        handler="engineer1",
        candidates_department="hardware-engineering",
        cycles=[
            SlaCycle(
                number=1,
                started_at=now - timedelta(hours=2),
                response_due=now + timedelta(hours=2),
                plan_due=now + timedelta(hours=20),
                resolution_cap=now + timedelta(days=4),
                resolution_due=now + timedelta(days=3),
                responded_at=now - timedelta(hours=1),
            )
        ],
        log=[
            ProgressEntry(at=now - timedelta(minutes=i), author="engineer1", kind=ProgressKind.ACTION, text=f"第{i}步")
            for i in range(40)
        ],
        status_history=[(now - timedelta(hours=2), TicketStatus.PENDING_ASSIGNMENT, "registered")],
    )
    rows: list[dict[str, Any]] = [
        {
            "task_id": f"bench-{tag}:{i}",
            "workflow_id": f"bench-{tag}-{i // 4}",
            "kind": "resolve" if i % 3 else "accept",
            "subject": f"CS2099{i:06d}: resolve the customer's problem",
            "business_ref": ticket_no if i < 5 else f"CS2099{i:06d}",
            "candidate_roles": [Role.ENGINEER.value] if i < mine else [Role.DEPARTMENT.value],
            "candidate_department": "hardware-engineering" if i < mine else OTHER_DEPARTMENTS[i % 6],
            "priority": 100 if i % 50 == 0 else 20,
            "status": "open",
            "opened_at": now - timedelta(hours=1 + i % 30),
            "due_at": now + timedelta(minutes=(i % 600) - 120),
            "outcomes": [],
        }
        for i in range(tasks)
    ]
    async with db.session() as session:
        for start in range(0, len(rows), 2000):
            await session.execute(insert(TaskRow), rows[start : start + 2000])
        await session.execute(insert(TicketRow).values(**ticket_row_values(ticket)))
        await session.commit()
    return ticket_no


async def unseed(db: Database, tag: str, ticket_no: str) -> None:
    """Remove what `seed` wrote."""
    async with db.session() as session:
        await session.execute(delete(TaskRow).where(col(TaskRow.task_id).like(f"bench-{tag}:%")))
        await session.execute(delete(TicketRow).where(col(TicketRow.ticket_no) == ticket_no))
        await session.commit()


@asynccontextmanager
async def signed_in(app: FastAPI, username: str) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of the app (its lifespan run), signed in to the console."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            page = await client.get("/console/login")
            csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            answer = await client.post(
                "/console/login", data={"csrf": csrf, "username": username, "password": DEMO_PASSWORD}
            )
            assert answer.status_code == 303, answer.text
            yield client


def figures(samples: list[float]) -> dict[str, float]:
    """p50, p95 and max in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return {"p50": statistics.median(ordered) * 1000, "p95": p95 * 1000, "max": ordered[-1] * 1000}


async def measure(client: httpx.AsyncClient, ticket_no: str, rounds: int) -> dict[str, dict[str, float]]:
    """Render My work (page and the polled rows) and the ticket page `rounds` times each, after a warm-up."""
    targets = {
        "inbox": ("/console/inbox", {}),
        "inbox rows (htmx poll)": ("/console/inbox", {"HX-Request": "true", "HX-Target": "rows"}),
        "ticket page": (f"/console/tickets/{ticket_no}", {}),
    }
    results = {}
    for name, (path, headers) in targets.items():
        for _ in range(5):
            (await client.get(path, headers=headers)).raise_for_status()
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
            samples.append(time.perf_counter() - started)
            response.raise_for_status()
        results[name] = figures(samples)
    return results


def report(results: dict[str, dict[str, float]], tasks: int, mine: int, target_ms: float = 150.0) -> str:
    """The figures as lines, each against the target."""
    load = os.getloadavg()[0]
    lines = [
        f"console render, {tasks} open tasks, {mine} of them in engineer1's inbox "
        f"(server side, in-process; load average {load:.1f} on {os.cpu_count()} cores):"
    ]
    for name, f in results.items():
        verdict = "ok" if f["p95"] <= target_ms else "OVER"
        lines.append(f"  {name:24} p50 {f['p50']:7.1f} ms  p95 {f['p95']:7.1f} ms  max {f['max']:7.1f} ms  {verdict}")
    return "\n".join(lines)


async def run(tasks: int, rounds: int, mine: int | None = None) -> str:
    """Own embedded PostgreSQL, seeded; measure; drop it."""
    from db.migrate import migrate_and_seed
    from db.roles import APP_ROLE, OWNER_ROLE, provision, role_url
    from infra.embedded_pg import drop_database, sqlalchemy_url, start_embedded_postgres

    server = start_embedded_postgres(ROOT / ".data" / "bench" / "console-pg")
    uri, name = server.get_uri(), f"kexiang_console_bench_{os.getpid()}"
    provision(uri, name)
    url = sqlalchemy_url(uri, name)
    owner, app_url = role_url(url, OWNER_ROLE, None), role_url(url, APP_ROLE, None)
    try:
        migrate_and_seed(owner, calendar_name="cn-mainland", policy_name="standard", demo_users=True)
        settings = Settings(kexiang_env="test", database_url=app_url, migration_database_url=owner)
        db = Database(app_url, pool_size=5, journal_keys=settings.journal_key_ring)
        tag = uuid.uuid4().hex[:8]
        owner_db = Database(owner)
        ticket_no = await seed(owner_db, tasks, tag, mine)
        await owner_db.dispose()
        async with signed_in(create_app(settings, db=db), "engineer1") as client:
            results = await measure(client, ticket_no, rounds)
        await db.dispose()
        return report(results, tasks, tasks if mine is None else mine)
    finally:
        drop_database(uri, name)


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=10_000, help="open tasks to seed (default 10000)")
    parser.add_argument("--rounds", type=int, default=200, help="requests per page (default 200)")
    parser.add_argument("--mine", type=int, default=None, help="of which in engineer1's inbox (default: all)")
    args = parser.parse_args()
    print(asyncio.run(run(args.tasks, args.rounds, args.mine)))


if __name__ == "__main__":
    main()
