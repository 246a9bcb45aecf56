"""Knowledge base: archived tickets, searchable by number, customer, category, time and free text (Chinese too)."""

from __future__ import annotations

import re

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.tickets import Ticket
from db.models import KnowledgeEntry

_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[0-9A-Za-z]+")


def search_terms(text: str) -> str:
    """Lower-cased words plus overlapping CJK bigrams (and single characters), for the 'simple' text-search config."""
    terms = [w.lower() for w in _WORD.findall(text)]
    for run in _CJK_RUN.findall(text):
        terms += list(run) if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
    return " ".join(terms)


async def upsert_entry(session: AsyncSession, ticket: Ticket) -> None:
    """Archive a closed ticket (a repeated archive of the same ticket overwrites, never duplicates)."""
    intake, resolution = ticket.intake, ticket.resolution
    symptom = "\n".join(filter(None, [intake.description, intake.scenario]))
    values = dict(
        ticket_no=ticket.ticket_no, customer_id=intake.customer_id, customer_name=intake.customer_name,
        categories=[c.value for c in intake.categories], priority=intake.priority.value if intake.priority else None,
        title=(intake.description or ticket.ticket_no)[:200], symptom=symptom,
        cause=resolution.cause if resolution else "", solution=resolution.solution if resolution else "",
        advice=resolution.advice if resolution else "", handler=ticket.handler,
        opened_at=ticket.created_at, closed_at=ticket.closed_at or ticket.created_at,
    )
    values["search_terms"] = search_terms(" ".join(str(values[k] or "") for k in ("ticket_no", "customer_name", "title", "symptom", "cause", "solution", "advice")))
    stmt = insert(KnowledgeEntry).values(**values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["ticket_no"], set_={k: stmt.excluded[k] for k in values if k != "ticket_no"}))
