"""The knowledge base of archived tickets: search by number, customer, category, closing time and free text."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import Reader, SessionDep
from api.schemas import Offset, Page
from core.bounds import Instant
from core.contacts import mask_contacts_in
from core.tickets import Category
from db import knowledge
from db.models import KnowledgeEntry

router = APIRouter(prefix="/api/knowledge", tags=["knowledge"])


class KnowledgeView(BaseModel):
    """One archived ticket: what went wrong, why, and what fixed it."""

    ticket_no: str
    title: str
    symptom: str
    cause: str
    solution: str
    advice: str
    categories: list[str]
    priority: str | None
    customer_id: str | None
    customer_name: str | None
    handler: str | None
    opened_at: datetime
    closed_at: datetime


def _fields(entry: KnowledgeEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in KnowledgeView.model_fields}


@router.get("", response_model=Page[KnowledgeView], summary="Search the knowledge base")
async def search_knowledge(
    actor: Reader,
    session: SessionDep,
    ticket_no: str | None = Query(default=None, max_length=20),
    customer: str | None = Query(default=None, max_length=200, description="customer id, or part of the name"),
    category: Category | None = None,
    closed_from: Instant | None = Query(default=None, description="closed at or after"),
    closed_to: Instant | None = Query(default=None, description="closed before"),
    text: str | None = Query(default=None, max_length=200, description="words and Chinese text, e.g. 网络中断"),
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[KnowledgeView]:
    """Entries matching every given filter: best text matches first, else the most recently closed."""
    total, entries = await knowledge.search(
        session,
        ticket_no=ticket_no,
        customer=customer,
        category=category,
        closed_from=closed_from,
        closed_to=closed_to,
        text=text,
        offset=offset,
        limit=limit,
    )
    # Entries archived before free text was masked at archiving are masked here (the reveal is the ticket's).
    items = [KnowledgeView.model_validate(mask_contacts_in(_fields(e))) for e in entries]
    return Page(items=items, total=total, offset=offset, limit=limit)
