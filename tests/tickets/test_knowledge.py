"""The knowledge base on the real PostgreSQL: archiving is idempotent; search by number, customer, category, time,
text (Chinese too).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from sqlalchemy import func, select, text

from core.sla import Priority
from core.tickets import Category, Channel, Intake, Resolution, Ticket, TicketStatus
from db import knowledge
from db.models import KnowledgeEntry

BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def closed_ticket(
    ticket_no: str,
    *,
    customer_id: str,
    description: str,
    cause: str = "光模块老化",
    solution: str = "更换光模块",
    categories=(Category.AFTERSALES_HARDWARE,),
    closed_days: int = 0,
    **intake,
) -> Ticket:
    """A hand-built closed ticket (the archive does not need the workflow)."""
    opened = BASE + timedelta(days=closed_days)
    return Ticket(
        ticket_no=ticket_no,
        workflow_id=f"ticket-{ticket_no}",
        status=TicketStatus.CLOSED,
        created_at=opened,
        created_by="agent1",
        first_responder="agent1",
        handler="engineer1",
        intake=Intake(
            customer_id=customer_id,
            customer_name=intake.pop("customer_name", "华信物流有限公司"),
            contact="13812345678",
            description=description,
            scenario="机房断电后",
            categories=tuple(categories),
            priority=Priority.MEDIUM,
            **intake,
        ),
        resolution=Resolution(
            cause=cause, solution=solution, advice="定期巡检 check the optics yearly", channel=Channel.PHONE
        ),
        closed_at=opened + timedelta(hours=5),
    )


def number() -> str:
    """A ticket number of a day no real intake uses, unique per call."""
    return f"CS2001{uuid.uuid4().int % 10**8:08d}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def archive(db):
    """Four archived tickets of one fresh customer, plus one of another customer."""
    customer = f"KB-{uuid.uuid4().hex[:8]}"
    tickets = {
        "outage": closed_ticket(number(), customer_id=customer, description="客户反映网络中断两小时，专线不通"),
        "router": closed_ticket(
            number(),
            customer_id=customer,
            description="Router reboots every night",
            cause="Firmware bug",
            solution="Upgrade the firmware to 2.4",
            categories=(Category.AFTERSALES_SOFTWARE,),
            closed_days=10,
        ),
        "apart": closed_ticket(number(), customer_id=customer, description="网络质量差，偶尔中断", closed_days=20),
        "complaint": closed_ticket(
            number(),
            customer_id=customer,
            description="账单金额有误",
            cause="计费错误",
            solution="退还差额",
            categories=(Category.COMPLAINT, Category.OTHER),
            complaint_type="billing",
            closed_days=30,
        ),
    }
    other = closed_ticket(
        number(),
        customer_id=f"KB-{uuid.uuid4().hex[:8]}",
        customer_name=f"远东银行{uuid.uuid4().hex[:6]}分行",
        description="网络中断",
    )
    async with db.session() as session:
        for ticket in [*tickets.values(), other]:
            await knowledge.upsert_entry(session, ticket)
        await session.commit()
    return customer, {k: t.ticket_no for k, t in tickets.items()}, other


async def find(db, **filters) -> list[str]:
    async with db.session() as session:
        _, entries = await knowledge.search(session, **filters)
    return [e.ticket_no for e in entries]


def test_search_terms_are_words_and_cjk_bigrams():
    assert knowledge.search_terms("客户反映网络中断 Router-E1 LOS") == (
        "客户 户反 反映 映网 网络 络中 中断 router e1 los 客 户 反 映 网 络 中 断"
    )


async def test_chinese_text_finds_the_ticket(db, archive):
    customer, numbers, other = archive
    assert await find(db, customer=customer, text="网络中断") == [numbers["outage"]]  # not "网络…中断" apart
    assert await find(db, customer=customer, text="中断") == [numbers["apart"], numbers["outage"]]
    assert set(await find(db, text="网络中断 两小时")) >= {numbers["outage"]}
    assert await find(db, customer=customer, text="偶") == [numbers["apart"]]  # one character
    assert await find(db, customer=customer, text="光模块") == [numbers["apart"], numbers["outage"]]  # the cause
    assert set(await find(db, text="网络中断")) >= {numbers["outage"], other.ticket_no}
    assert await find(db, customer=customer, text="网络故障") == []


async def test_english_words_match_case_insensitively(db, archive):
    customer, numbers, _ = archive
    assert await find(db, customer=customer, text="ROUTER firmware") == [numbers["router"]]
    assert await find(db, customer=customer, text="router 网络") == []  # every term must match
    assert await find(db, customer=customer, text="optics") == list(reversed(numbers.values()))  # the advice
    assert await find(db, customer=customer, text="!!! ，。") == []


async def test_filters_by_number_customer_category_and_closing_time(db, archive):
    customer, numbers, other = archive
    assert await find(db, ticket_no=numbers["router"].lower()) == [numbers["router"]]
    assert await find(db, customer=customer) == list(reversed(numbers.values()))  # most recently closed first
    assert await find(db, customer=other.intake.customer_name[4:10]) == [other.ticket_no]  # part of the name
    assert await find(db, customer=other.intake.customer_id) == [other.ticket_no]
    assert await find(db, customer=customer, category="complaint") == [numbers["complaint"]]
    assert await find(db, customer=customer, category="other") == [numbers["complaint"]]
    window = dict(closed_from=BASE + timedelta(days=5), closed_to=BASE + timedelta(days=25))
    assert await find(db, customer=customer, **window) == [numbers["apart"], numbers["router"]]
    assert await find(db, customer=customer, text="中断", **window) == [numbers["apart"]]
    async with db.session() as session:
        total, page = await knowledge.search(session, customer=customer, offset=1, limit=2)
    assert total == 4 and [e.ticket_no for e in page] == [numbers["apart"], numbers["router"]]


async def test_archiving_again_overwrites(db, archive):
    customer, numbers, _ = archive
    ticket = closed_ticket(
        numbers["router"],
        customer_id=customer,
        description="Router reboots every night",
        cause="Power supply",
        solution="Replace the PSU",
        categories=(Category.AFTERSALES_HARDWARE,),
        closed_days=10,
    )
    async with db.session() as session:
        await knowledge.upsert_entry(session, ticket)
        await knowledge.upsert_entry(session, ticket)
        await session.commit()
        count = await session.scalar(
            select(func.count()).select_from(KnowledgeEntry).where(KnowledgeEntry.ticket_no == ticket.ticket_no)
        )
        entry = await session.get(KnowledgeEntry, ticket.ticket_no)
    assert count == 1 and entry.cause == "Power supply" and entry.categories == ["aftersales_hardware"]
    assert await find(db, customer=customer, text="firmware") == []
    assert await find(db, customer=customer, text="PSU") == [ticket.ticket_no]


async def test_entry_carries_the_resolution_and_no_contact(db, archive):
    _, numbers, _ = archive
    async with db.session() as session:
        entry = await session.get(KnowledgeEntry, numbers["outage"])
        # The generated column tokenises our terms the same way whatever the server's locale.
        lexemes = await session.scalar(
            text("SELECT array_length(tsvector_to_array(search_vector), 1) FROM knowledge_entry WHERE ticket_no = :n"),
            {"n": entry.ticket_no},
        )
    assert (entry.title, entry.cause, entry.solution, entry.handler) == (
        "客户反映网络中断两小时，专线不通",
        "光模块老化",
        "更换光模块",
        "engineer1",
    )
    assert entry.symptom == "客户反映网络中断两小时，专线不通\n机房断电后"
    assert entry.closed_at - entry.opened_at == timedelta(hours=5)
    assert lexemes and "13812345678" not in entry.search_terms and "5678" not in entry.search_terms


async def test_knowledge_api(http, login, archive):
    customer, numbers, _ = archive
    response = await http.get(
        "/api/knowledge", params={"customer": customer, "text": "网络中断"}, headers=await login("auditor1")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 1 and body["items"][0]["ticket_no"] == numbers["outage"]
    assert body["items"][0]["solution"] == "更换光模块" and "contact" not in body["items"][0]
    paged = await http.get(
        "/api/knowledge", params={"customer": customer, "limit": 1, "offset": 3}, headers=await login("engineer1")
    )
    assert paged.json()["total"] == 4 and [i["ticket_no"] for i in paged.json()["items"]] == [numbers["outage"]]
    bad = await http.get("/api/knowledge", params={"category": "hardware"}, headers=await login("engineer1"))
    assert bad.status_code == 422 and "category" in bad.text
