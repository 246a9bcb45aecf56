"""The console render bench's code path on a few tasks on the suite's servers, so it cannot rot (no timing asserted)."""

from __future__ import annotations

import uuid

from api.main import create_app
from bench.console_render import measure, report, seed, signed_in, unseed
from db.session import Database


async def test_console_render_bench_measures_the_inbox_and_the_ticket_page(env, db, settings, database_urls):
    owner = Database(database_urls.owner, pool_size=2)
    tag = uuid.uuid4().hex[:8]
    ticket_no = await seed(owner, 30, tag, mine=20)
    try:
        async with signed_in(create_app(settings, db=db, client=env.client), "engineer1") as client:
            inbox = await client.get("/console/inbox")
            assert inbox.status_code == 200 and 'data-testid="inbox-total"' in inbox.text
            page = await client.get(f"/console/tickets/{ticket_no}")
            assert page.status_code == 200 and "第39步" in page.text and "13812345678" not in page.text
            results = await measure(client, ticket_no, rounds=3)
    finally:
        await unseed(owner, tag, ticket_no)
        await owner.dispose()
    text = report(results, 30, 20)
    assert set(results) == {"inbox", "inbox rows (htmx poll)", "ticket page"}
    assert all(name in text for name in results) and "p95" in text
