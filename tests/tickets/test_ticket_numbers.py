"""Ticket numbers: CS + YYYYMMDD (Asia/Shanghai) + 4-digit daily serial, never shared under concurrent intake."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from db.models import TicketRow, utcnow
from db.tickets import allocate_ticket_no
from tests.support import SHANGHAI

NUMBER = re.compile(r"^CS(\d{8})(\d{4})$")


def days_around(before: datetime, after: datetime) -> set[str]:
    """The Shanghai dates a number allocated between two instants may carry."""
    return {f"{at.astimezone(SHANGHAI):%Y%m%d}" for at in (before, after)}


async def test_fifty_concurrent_allocations_are_distinct(db):
    """50 separate sessions allocate at once on the real database."""

    async def allocate(at: datetime) -> str:
        async with db.session() as session:
            number = await allocate_ticket_no(session, at)
            await session.commit()
            return number

    at = datetime(2001, 1, 1, 16, 30, tzinfo=UTC)  # 2001-01-02 00:30 in Shanghai: a day of its own
    numbers = await asyncio.gather(*(allocate(at) for _ in range(50)))
    assert len(set(numbers)) == 50
    assert all(NUMBER.match(n) and n[2:10] == "20010102" for n in numbers)
    serials = sorted(int(n[-4:]) for n in numbers)
    assert serials == list(range(serials[0], serials[0] + 50))  # no gaps when nothing fails
    # The day follows Shanghai, not UTC: one minute earlier is still 2001-01-01 there.
    async with db.session() as session:
        assert (await allocate_ticket_no(session, at - timedelta(minutes=31)))[2:10] == "20010101"
        await session.rollback()


async def test_fifty_concurrent_intakes_over_http(http, login, sync_session):
    """50 agents register at once through the TMF API: 50 tickets, 50 distinct numbers, 50 read-model rows."""
    headers = await login("agent1")
    customer = f"NUM-{uuid.uuid4().hex[:8]}"
    body = {"description": "并发登记", "severity": "minor", "ticketType": "presales", "customerId": customer}
    before = utcnow()
    responses = await asyncio.gather(
        *(http.post("/tmf-api/troubleTicket/v4/troubleTicket", json=body, headers=headers) for _ in range(50))
    )
    after = utcnow()
    assert [r.status_code for r in responses] == [201] * 50, [r.text for r in responses if r.status_code != 201][:3]
    numbers = [r.json()["id"] for r in responses]
    assert len(set(numbers)) == 50
    for number in numbers:
        match = NUMBER.match(number)
        assert match and match.group(1) in days_around(before, after), number
    with sync_session() as s:
        stored = s.scalar(select(func.count()).select_from(TicketRow).where(TicketRow.customer_id == customer))
        workflow_ids = set(s.scalars(select(TicketRow.workflow_id).where(TicketRow.customer_id == customer)))
    assert stored == 50 and workflow_ids == {f"ticket-{n}" for n in numbers}
