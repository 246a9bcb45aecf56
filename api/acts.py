"""Delivering one person's act to a workflow: Idempotency-Key replay, refusal journaling and refusal → HTTP status.

Task decisions and claims (api/tasks/routes.py), ticket acts (api/tickets/routes.py, the TMF PATCH) and
survey answers all go through `deliver`, so they refuse, journal and deduplicate the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, Union, get_args
from uuid import uuid4

from fastapi import Depends, Header, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from api.deps import DbDep, GatewayDep, SessionDep, Staff, record_refusal
from api.gateway import TemporalGateway
from core.records import AuditRecord
from core.roles import Actor
from core.tasks import RefusalCode, TaskRefused
from db import audit as audit_journal
from db.models import AuditEntry, utcnow
from db.session import Database

T = TypeVar("T")

REFUSAL_STATUS = {
    RefusalCode.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    RefusalCode.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    RefusalCode.CONFLICT: status.HTTP_409_CONFLICT,
    RefusalCode.INVALID: status.HTTP_422_UNPROCESSABLE_CONTENT,
    RefusalCode.NOT_READY: status.HTTP_503_SERVICE_UNAVAILABLE,
}

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=128, description="repeat it to retry safely")
]


class Subject(BaseModel):
    """What an act is about, as the audit journal names it."""

    type: str
    id: str
    workflow_id: str


@dataclass(frozen=True)
class Acting:
    """Who acts, and what delivering their act takes: the request's session, Temporal, the database, its key."""

    actor: Actor
    session: AsyncSession
    gateway: TemporalGateway
    db: Database
    request_id: str | None  # the Idempotency-Key


async def staff_acting(
    actor: Staff, session: SessionDep, gateway: GatewayDep, db: DbDep, request_id: IdempotencyKey = None
) -> Acting:
    """A staff member's act (an auditor is refused, and the refusal journaled)."""
    return Acting(actor, session, gateway, db, request_id)


StaffActing = Annotated[Acting, Depends(staff_acting)]


async def already_done(session: AsyncSession, request_id: str) -> bool:
    """True when an act with this request id was already accepted (the workflow journaled it)."""
    found = await session.scalar(
        select(col(AuditEntry.id)).where(
            col(AuditEntry.request_id) == request_id, col(AuditEntry.outcome) == "accepted"
        )
    )
    return found is not None


async def registered_subject(session: AsyncSession, request_id: str, action: str) -> str | None:
    """The subject id an earlier create with this request id registered; 409 when the key served another request."""
    entry = await session.scalar(select(AuditEntry).where(col(AuditEntry.request_id) == request_id))
    if entry is None:
        return None
    if entry.action != action:
        raise HTTPException(status.HTTP_409_CONFLICT, "Idempotency-Key: already used for another request")
    return entry.subject_id


async def start_journaled(
    *,
    session: AsyncSession,
    gateway: TemporalGateway,
    actor: Actor,
    request_id: str,
    action: str,
    subject: Subject,
    workflow: str,
    arg: Any,
    search_attributes: Any,
    write_row: Callable[[], Awaitable[None]],
    fresh_key: bool = False,
) -> str | None:
    """Write a new subject's first read-model row, start its workflow and journal the create: all or nothing.

    Returns the subject id an earlier request with the same key registered (and does nothing), else None. A per-key
    lock makes a concurrent retry wait for the first request and then find what it registered. `fresh_key`: the
    request id was made for this request (no Idempotency-Key was sent), so no other request can hold it and neither
    the lock nor the look-up is needed.
    """
    if not fresh_key:
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"{action}:{request_id}"})
        if (known := await registered_subject(session, request_id, action)) is not None:
            await session.rollback()
            return known
    try:
        await write_row()
        await gateway.start(workflow, arg, workflow_id=subject.workflow_id, search_attributes=search_attributes)
        await audit_journal.append(
            session,
            AuditRecord.by(
                actor,
                action,
                subject.type,
                subject.id,
                at=utcnow(),
                request_id=request_id,
                workflow_id=subject.workflow_id,
            ),
        )
    except BaseException:
        await session.rollback()  # nothing is left behind: no row, no journal entry, no workflow
        raise
    await session.commit()
    return None


def act_body(act: type[BaseModel]) -> type[BaseModel]:
    """The request body of an act: its fields without request_id and actor (the server fills those in)."""
    fields: Any = {
        name: (f.annotation, f) for name, f in act.model_fields.items() if name not in ("request_id", "actor")
    }
    return create_model(f"{act.__name__}Body", __doc__=act.__doc__, __config__=ConfigDict(extra="forbid"), **fields)


def act_bodies(union: Any, *, exclude: tuple[type[BaseModel], ...] = ()) -> dict[type[BaseModel], type[BaseModel]]:
    """The request body of every act in a discriminated act union (`Annotated[A | B | …, Field(...)]`)."""
    return {act: act_body(act) for act in get_args(get_args(union)[0]) if act not in exclude}


def body_union(bodies: dict[type[BaseModel], type[BaseModel]]) -> Any:
    """The bodies as one request body, told apart by their `type`."""
    return Annotated[Union[tuple(bodies.values())], Field(discriminator="type")]  # noqa: UP007


def act_fields(body: BaseModel) -> dict[str, Any]:
    """An act body's fields as sent (nested models stay models), to complete into the act."""
    return {name: getattr(body, name) for name in type(body).model_fields}


async def journal_refusal(
    db: Database, actor: Actor, subject: Subject, action: str, refused: TaskRefused, request_id: str | None
) -> HTTPException:
    """Journal a refused act and return the HTTP error that answers it."""
    await record_refusal(
        db,
        actor,
        action=action,
        subject_type=subject.type,
        subject_id=subject.id,
        workflow_id=subject.workflow_id,
        reason=refused.message,
        request_id=request_id,
    )
    return HTTPException(REFUSAL_STATUS[refused.code], refused.message)


async def deliver(
    *,
    gateway: TemporalGateway,
    db: Database,
    session: AsyncSession,
    actor: Actor,
    subject: Subject,
    action: str,
    update: str,
    build: Callable[[str], Any],
    result_type: type[T],
    request_id: str | None,
    precheck: Callable[[], None] | None = None,
    fresh_key: bool = False,
) -> T | None:
    """Send one act as an update deduplicated on its request id; None when that request already took effect.

    Only a key the client sent (an Idempotency-Key) is looked up in the journal: one made here (`request_id` None,
    or `fresh_key`) cannot have been used. A refusal (by `precheck` or by the workflow's validator) changes nothing,
    is journaled, and is raised as HTTPException 403/404/409/422.
    """
    if not request_id:
        request_id, fresh_key = str(uuid4()), True
    if not fresh_key and await already_done(session, request_id):
        return None
    try:
        if precheck is not None:
            precheck()
        return await gateway.update(
            subject.workflow_id, update, build(request_id), request_id=request_id, result_type=result_type
        )
    except TaskRefused as refused:
        raise await journal_refusal(db, actor, subject, action, refused, request_id) from None
