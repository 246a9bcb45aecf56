"""The workflow-backed subjects the API serves from their read models: tickets, resource checks, service orders.

Each feature describes its kind once (`SubjectKind`): table, state model, act union, journal names and when it
is closed. Loading a row (404 when unknown), reading its state and delivering an act are then the same for all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from uuid import uuid4

from fastapi import HTTPException, status
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from api.acts import Acting, Subject, deliver
from api.errors import field_errors
from core.tasks import RefusalCode, TaskRefused


class StateRow(Protocol):
    """A read-model row holding its workflow's whole state."""

    workflow_id: str
    detail: dict[str, Any]


log = logging.getLogger(__name__)

R = TypeVar("R", bound=StateRow)
S = TypeVar("S", bound=BaseModel)


@dataclass(frozen=True)
class SubjectKind(Generic[R, S]):
    """One kind of subject: where its rows live, what state they hold, which acts it takes and what they are called."""

    noun: str  # in messages: "ticket", "resource check", "service order"
    subject_type: str  # the journal's subject_type
    action_prefix: str  # the journal's action of an act: "<prefix>.<act type>"
    table: type[R]
    key: Callable[[R], str]  # the subject's id on its row
    state: type[S]
    acts: TypeAdapter[Any]  # the discriminated union of its acts
    result_type: type[Any]  # what the workflow's `act` update returns
    closed: Callable[[R], str | None]  # why the subject takes no more acts, None while it is open

    async def load_row(self, session: AsyncSession, subject_id: str) -> R:
        """The subject's read-model row; 404 when there is none."""
        row = await session.get(self.table, subject_id)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{self.noun} {subject_id} does not exist")
        return row

    def state_of(self, row: R) -> S:
        """The state a read-model row holds."""
        return self.state.model_validate(row.detail)

    def readable(self, rows: Sequence[R]) -> list[R]:
        """The rows whose state reads; a list leaves out the others, logged by id only (a list never 500s on one)."""
        out = []
        for row in rows:
            try:
                self.state.model_validate(row.detail)
            except ValidationError:
                log.warning("%s %s left out of a list: its stored state does not read", self.noun, self.key(row))
                continue
            out.append(row)
        return out

    def subject(self, row: R) -> Subject:
        """The subject as the audit journal names it."""
        return Subject(type=self.subject_type, id=self.key(row), workflow_id=row.workflow_id)

    async def perform(self, acting: Acting, row: R, act: dict[str, Any], *, rename: Callable[[str], str] = str) -> S:
        """Send one act (given without request id and actor) to the subject's workflow; its state after the act.

        A malformed act is a 422; an act on a closed subject a journaled 409; the workflow's own refusals come back
        as `deliver` maps them.
        """
        request_id = acting.request_id or str(uuid4())
        try:
            message = self.acts.validate_python({**act, "request_id": request_id, "actor": acting.actor})
        except ValidationError as err:
            detail = field_errors(err.errors(), rename, skip=1)
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from None

        def still_open() -> None:
            if (why := self.closed(row)) is not None:
                raise TaskRefused(RefusalCode.CONFLICT, why)

        await deliver(
            gateway=acting.gateway,
            db=acting.db,
            session=acting.session,
            actor=acting.actor,
            action=f"{self.action_prefix}.{message.type}",
            update="act",
            subject=self.subject(row),
            build=lambda _: message,
            result_type=self.result_type,
            request_id=request_id,
            precheck=still_open,
            fresh_key=not acting.request_id,
        )
        await acting.session.refresh(row)  # the workflow wrote the read model before answering
        return self.state_of(row)
