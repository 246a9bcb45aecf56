"""The API's lists count their total up to the list count cap: past it they report the cap and say so
(`X-Total-Count-Capped: true` on TMF lists, `total_capped` on `GET /api/tasks`); at or under it the total is exact."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete
from sqlmodel import col

from core.tickets import Channel, Intake, Ticket, TicketStatus
from db.models import TaskRow, TicketRow, utcnow
from db.tickets import ticket_row_values
from infra.settings import Settings

CAP = 3
TT = "/tmf-api/troubleTicket/v4/troubleTicket"


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """This module's API counts at most CAP rows."""
    return settings.model_copy(update={"list_count_cap": CAP})


def _ticket(ticket_no: str, customer: str) -> TicketRow:
    now = utcnow()
    intake = Intake(customer_id=customer, customer_name="计数客户", channel=Channel.PHONE, description="计数")
    ticket = Ticket(
        ticket_no=ticket_no,
        workflow_id=f"ticket-{ticket_no}",
        intake=intake,
        status=TicketStatus.IN_PROGRESS,
        created_at=now,
        created_by="agent1",
        first_responder="agent1",
    )
    return TicketRow(**ticket_row_values(ticket))


def _task(task_id: str, ref: str, minutes: int) -> TaskRow:
    now = utcnow()
    return TaskRow(
        task_id=task_id,
        workflow_id=f"ticket-{ref}",
        kind="resolve",
        subject=f"{ref}: resolve",
        business_ref=ref,
        candidate_roles=["engineer"],
        outcomes=["done"],
        priority=1,
        status="open",
        opened_at=now,
        due_at=now + timedelta(minutes=minutes),
    )


@pytest.fixture
def rows(sync_session):
    """CAP + 1 tickets (and tasks) of one customer (ticket), CAP of another: (over, at the cap)."""
    run = uuid.uuid4().hex[:6].upper()
    over, at = f"CUST-OVER-{run}", f"CUST-AT-{run}"
    numbers = {over: [f"CC{run}{i}" for i in range(CAP + 1)], at: [f"CD{run}{i}" for i in range(CAP)]}
    with sync_session() as s:
        for customer, tickets in numbers.items():
            s.add_all(_ticket(n, customer) for n in tickets)
        s.add_all(_task(f"ticket-{over}:{i}", over, i) for i in range(CAP + 1))
        s.add_all(_task(f"ticket-{at}:{i}", at, i) for i in range(CAP))
        s.commit()
    yield over, at
    with sync_session() as s:
        s.execute(delete(TaskRow).where(col(TaskRow.business_ref).in_([over, at])))
        s.execute(delete(TicketRow).where(col(TicketRow.customer_id).in_([over, at])))
        s.commit()


async def test_a_tmf_list_past_the_cap_sends_the_cap_and_says_so(http, login, rows):
    over, at = rows
    headers = await login("supervisor1")
    capped = await http.get(TT, params={"customerId": over, "limit": 2}, headers=headers)
    assert capped.status_code == 200, capped.text
    assert (capped.headers["X-Total-Count"], capped.headers["X-Result-Count"]) == (str(CAP), "2")
    assert capped.headers["X-Total-Count-Capped"] == "true"
    whole = await http.get(TT, params={"customerId": over}, headers=headers)
    assert len(whole.json()) == CAP + 1  # the page is not capped, only the count
    exact = await http.get(TT, params={"customerId": at}, headers=headers)
    assert (exact.headers["X-Total-Count"], exact.headers["X-Result-Count"]) == (str(CAP), str(CAP))
    assert "X-Total-Count-Capped" not in exact.headers


async def test_the_inbox_past_the_cap_reports_total_capped(http, login, rows):
    over, at = rows
    headers = await login("supervisor1")
    capped = await http.get("/api/tasks", params={"scope": "all", "business_ref": over}, headers=headers)
    assert capped.status_code == 200, capped.text
    body = capped.json()
    assert (body["total"], body["total_capped"], len(body["items"])) == (CAP, True, CAP + 1)
    assert [t["task_id"] for t in body["items"]] == [f"ticket-{over}:{i}" for i in range(CAP + 1)]
    exact = (await http.get("/api/tasks", params={"scope": "all", "business_ref": at}, headers=headers)).json()
    assert (exact["total"], exact["total_capped"], len(exact["items"])) == (CAP, False, CAP)


async def test_the_openapi_documents_the_capped_count(http):
    spec = (await http.get("/openapi.json")).json()
    listed = spec["paths"][TT]["get"]["responses"]["200"]["headers"]
    assert {"X-Total-Count", "X-Total-Count-Capped"} <= set(listed)
    page = spec["components"]["schemas"]["Page_TaskView_"]["properties"]
    assert page["total_capped"]["type"] == "boolean"
