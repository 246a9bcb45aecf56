"""Knowledge base: archived tickets, searchable by number, customer, category, closing time and free text.

PostgreSQL has no Chinese parser here (and may run in the C locale), so the archive indexes its own terms:
lower-cased words, the overlapping bigrams of every CJK run in reading order, then the run's single
characters. `search_vector` is `to_tsvector('simple', search_terms)` (a generated column). A query
matches all its words, each CJK run as a phrase of its bigrams (so 网络中断 finds …网络中断… but not
网络…中断 apart), and a single CJK character through the trailing unigrams.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import reduce
from typing import Any

from sqlalchemy import ColumnElement, cast, false, func, or_
from sqlalchemy.dialects.postgresql import REGCONFIG, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.contacts import mask_contacts
from core.tickets import Ticket
from db.models import KnowledgeEntry
from db.readmodel import page_of

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W_{_CJK}]+)")
_SIMPLE = cast("simple", REGCONFIG)


def _bigrams(run: str) -> list[str]:
    """Overlapping character pairs of a CJK run (the character itself for a run of one)."""
    return [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]


def search_terms(text: str) -> str:
    """Index terms for a text: words and CJK bigrams in reading order, then every CJK character once."""
    terms: list[str] = []
    singles: dict[str, None] = {}
    for match in _TOKEN.finditer(text):
        if run := match.group("cjk"):
            terms += _bigrams(run)
            singles.update(dict.fromkeys(run))
        else:
            terms.append(match.group("word").lower())
    return " ".join(terms + list(singles))


def _text_query(text: str) -> ColumnElement[Any] | None:
    """A tsquery matching every word and every CJK run (as a phrase of its bigrams) of the text, or None."""
    words: list[str] = []
    phrases: list[ColumnElement[Any]] = []
    for match in _TOKEN.finditer(text):
        if run := match.group("cjk"):
            phrases.append(func.phraseto_tsquery(_SIMPLE, " ".join(_bigrams(run))))
        else:
            words.append(match.group("word").lower())
    parts: list[ColumnElement[Any]] = [func.plainto_tsquery(_SIMPLE, " ".join(words))] if words else []
    parts += phrases
    return reduce(lambda a, b: a.op("&&")(b), parts) if parts else None


def _title(ticket: Ticket) -> str:
    """The entry's title: the ticket's name, else the first line of its description."""
    intake = ticket.intake
    first_line = (intake.description or "").strip().splitlines()[0:1]
    return (intake.name or (first_line[0] if first_line else "") or ticket.ticket_no)[:500]


# The entry's free text, masked when archived; the index is built from the masked text.
MASKED_TEXTS = ("title", "symptom", "cause", "solution", "advice")
_INDEXED = ("ticket_no", "customer_id", "customer_name", "title", "symptom", "cause", "solution", "advice", "handler")


def entry_terms(entry: Mapping[str, Any]) -> str:
    """The index terms of an entry (its columns by name): identifiers, names, its text and categories."""
    return search_terms(" ".join([*(str(entry[k] or "") for k in _INDEXED), *(entry["categories"] or [])]))


async def upsert_entry(session: AsyncSession, ticket: Ticket) -> None:
    """Archive a closed ticket, contact details in its text masked; archiving it again (after a reopen) overwrites.

    Masked before indexing too: a phone number finds no entry. The caller commits.
    """
    intake, resolution = ticket.intake, ticket.resolution
    values: dict[str, Any] = dict(
        ticket_no=ticket.ticket_no,
        customer_id=intake.customer_id,
        customer_name=intake.customer_name,
        categories=[c.value for c in intake.categories],
        priority=intake.priority.value if intake.priority else None,
        title=_title(ticket),
        symptom="\n".join(filter(None, [intake.description, intake.scenario]))[:4000],
        cause=resolution.cause if resolution else "",
        solution=resolution.solution if resolution else "",
        advice=resolution.advice if resolution else "",
        handler=ticket.handler,
        opened_at=ticket.created_at,
        closed_at=ticket.closed_at or ticket.created_at,
    )
    for text in MASKED_TEXTS:
        values[text] = mask_contacts(str(values[text]))
    values["search_terms"] = entry_terms(values)
    stmt = insert(KnowledgeEntry).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["ticket_no"], set_={k: stmt.excluded[k] for k in values if k != "ticket_no"}
        )
    )


def _like(value: str) -> str:
    """A LIKE pattern matching `value` anywhere, its wildcards escaped."""
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def search(
    session: AsyncSession,
    *,
    ticket_no: str | None = None,
    customer: str | None = None,
    category: str | None = None,
    closed_from: datetime | None = None,
    closed_to: datetime | None = None,
    text: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[int, list[KnowledgeEntry]]:
    """(total, page) of entries matching every given filter; best text matches first, else most recently closed."""
    conditions: list[ColumnElement[bool]] = []
    if ticket_no:
        conditions.append(col(KnowledgeEntry.ticket_no) == ticket_no.strip().upper())
    if customer:
        conditions.append(
            or_(
                col(KnowledgeEntry.customer_id) == customer.strip(),
                col(KnowledgeEntry.customer_name).ilike(_like(customer.strip()), escape="\\"),
            )
        )
    if category:
        conditions.append(col(KnowledgeEntry.categories).contains([category]))
    if closed_from:
        conditions.append(col(KnowledgeEntry.closed_at) >= closed_from)
    if closed_to:
        conditions.append(col(KnowledgeEntry.closed_at) < closed_to)
    order: list[ColumnElement[Any]] = [col(KnowledgeEntry.closed_at).desc(), col(KnowledgeEntry.ticket_no).asc()]
    if text and text.strip():
        query = _text_query(text)
        if query is None:  # nothing searchable in it (punctuation only): nothing matches
            conditions.append(false())
        else:
            conditions.append(col(KnowledgeEntry.search_vector).op("@@")(query))
            order.insert(0, func.ts_rank(col(KnowledgeEntry.search_vector), query).desc())
    return await page_of(session, KnowledgeEntry, conditions, *order, offset=offset, limit=limit)
