"""My work's capped count: past the cap the inbox says "N+" instead of counting every open task."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, insert
from sqlmodel import col

from api.tasks.routes import inbox_page
from db.models import TaskRow, utcnow
from infra.security import actor_of


async def test_the_inbox_count_stops_past_its_cap_and_the_page_is_the_same(db):
    department = f"count-{uuid.uuid4().hex[:8]}"
    now = utcnow()
    rows = [
        {
            "task_id": f"{department}:{i}",
            "workflow_id": f"{department}-wf",
            "kind": "resolve",
            "subject": f"CS{i}: resolve",
            "candidate_roles": [],
            "candidate_department": department,
            "priority": 20,
            "status": "open",
            "opened_at": now,
            "due_at": now + timedelta(minutes=i),
            "outcomes": [],
        }
        for i in range(7)
    ]
    actor = actor_of("someone", ["department"], department)
    query = {"scope": "candidate", "task_status": "open", "overdue": None, "kind": None, "workflow_id": None}
    async with db.session() as session:
        await session.execute(insert(TaskRow), rows)
        await session.commit()
        try:
            exact = await inbox_page(actor, session, **query, business_ref=None, offset=0, limit=3)
            capped = await inbox_page(actor, session, **query, business_ref=None, offset=0, limit=3, count_cap=5)
            under = await inbox_page(actor, session, **query, business_ref=None, offset=0, limit=3, count_cap=10)
        finally:
            await session.execute(delete(TaskRow).where(col(TaskRow.candidate_department) == department))
            await session.commit()
    assert (exact.total, exact.total_capped) == (7, False)
    assert (capped.total, capped.total_capped) == (5, True)  # "5+": more than the cap of 5
    assert (under.total, under.total_capped) == (7, False)
    assert (
        [t.task_id for t in capped.items] == [t.task_id for t in exact.items] == [f"{department}:{i}" for i in range(3)]
    )
