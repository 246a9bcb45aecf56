"""One router shape for versioned configuration documents (calendars, SLA policies).

Each edit creates a new immutable version; running workflows keep the version they started with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from api.deps import Admin, Reader, SessionDep
from api.schemas import VersionNumber
from core.records import AuditRecord
from core.roles import Actor
from db import audit as audit_journal
from db.models import VersionedSpec, utcnow
from db.policies import next_version


class VersionOut(BaseModel):
    """One stored version of a document (`warnings`: what its publisher was told to look at, when just published)."""

    name: str
    version: int
    spec: dict[str, Any]
    created_by: str
    created_at: datetime
    warnings: list[str] = []


# Checks a document beyond its model as of `now`: raises ValueError to refuse it, returns warnings to publish it.
Review = Callable[[Any, datetime], list[str]]


def only_document(name: str, noun: str) -> Review:
    """The review of a kind the center keeps one document of: any other name is refused."""

    def review(document: Any, now: datetime) -> list[str]:
        if document.name != name:
            raise ValueError(f"name: {noun} are published as {name!r}")
        return []

    return review


def _out(row: Any, warnings: list[str] | None = None) -> VersionOut:
    return VersionOut(
        name=row.name,
        version=row.version,
        spec=row.spec,
        created_by=row.created_by,
        created_at=row.created_at,
        warnings=warnings or [],
    )


def check_version(
    model: type[BaseModel], review: Review | None, name: str, version: int, body: dict[str, Any]
) -> tuple[BaseModel, list[str]]:
    """The document `body` would be as version `version` of `name`, and its warnings; 422 when it is refused."""
    try:
        document = model.model_validate({**body, "name": name, "version": version})
        warnings = review(document, utcnow()) if review else []
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{where}: {first['msg']}") from None
    except ValueError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from None
    return document, warnings


async def publish_version(
    session: AsyncSession,
    *,
    table: type[VersionedSpec],
    model: type[BaseModel],
    tag: str,
    noun: str,
    name: str,
    body: dict[str, Any],
    admin: Actor,
    review: Review | None = None,
) -> VersionOut:
    """Validate a document, store it as the next version of `name` and journal the publication with any warnings.

    A document the model or `review` refuses answers 422 and stores nothing.
    """
    version = await next_version(session, table, name)
    document, warnings = check_version(model, review, name, version, body)
    row = table(name=name, version=version, spec=document.model_dump(mode="json"), created_by=admin.username)
    session.add(row)
    await audit_journal.append(
        session,
        AuditRecord.by(
            admin,
            f"{tag}.publish",
            noun,
            f"{name}@v{version}",
            at=utcnow(),
            request_id=f"{tag}.publish:{name}:{version}",
            reason="; ".join(warnings) or None,
            details={"warnings": warnings} if warnings else None,
        ),
    )
    try:
        await session.commit()
    except IntegrityError:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"{noun} {name} v{version} was published concurrently; retry"
        ) from None
    return _out(row, warnings)


@dataclass(frozen=True)
class VersionedKind:
    """One kind of versioned document: where its routes live, its table and model, journal tag, noun and review."""

    prefix: str
    tag: str
    table: type[VersionedSpec]
    model: type[BaseModel]
    noun: str
    review: Review | None = None

    def check(self, name: str, version: int, body: dict[str, Any]) -> tuple[BaseModel, list[str]]:
        """What `body` would be as that version, with its warnings (422 when refused); nothing stored."""
        return check_version(self.model, self.review, name, version, body)

    async def publish(self, session: AsyncSession, name: str, body: dict[str, Any], admin: Actor) -> VersionOut:
        """Publish `body` as the next version of `name` (publish_version with this kind's parameters)."""
        return await publish_version(
            session,
            table=self.table,
            model=self.model,
            tag=self.tag,
            noun=self.noun,
            name=name,
            body=body,
            admin=admin,
            review=self.review,
        )

    def router(self) -> APIRouter:
        """The API routes of this kind (versioned_router)."""
        return versioned_router(
            prefix=self.prefix, tag=self.tag, table=self.table, model=self.model, noun=self.noun, review=self.review
        )


class VersionSummary(BaseModel):
    """A document name with its latest version number."""

    name: str
    latest_version: int


def versioned_router(
    *,
    prefix: str,
    tag: str,
    table: type[VersionedSpec],
    model: type[BaseModel],
    noun: str,
    review: Review | None = None,
) -> APIRouter:
    """List, read and create versions of one kind of document stored in `table` and validated by `model`."""
    router = APIRouter(prefix=prefix, tags=[tag])
    out = _out

    async def get_row(session: SessionDep, name: str, version: int | None) -> Any:
        query = select(table).where(col(table.name) == name)
        query = (
            query.where(col(table.version) == version)
            if version
            else query.order_by(col(table.version).desc()).limit(1)
        )
        row = await session.scalar(query)
        if row is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"{noun} {name}{f' v{version}' if version else ''} does not exist"
            )
        return row

    @router.get("", response_model=list[VersionSummary], summary=f"List {noun}s")
    async def list_documents(actor: Reader, session: SessionDep) -> list[VersionSummary]:
        """Every name with its latest version."""
        rows = await session.execute(
            select(col(table.name), func.max(col(table.version))).group_by(col(table.name)).order_by(col(table.name))
        )
        return [VersionSummary(name=name, latest_version=version) for name, version in rows]

    @router.get("/{name}", response_model=VersionOut, summary=f"Latest version of a {noun}")
    async def latest(name: str, actor: Reader, session: SessionDep) -> VersionOut:
        """The version new workflows start with."""
        return out(await get_row(session, name, None))

    @router.get("/{name}/versions", response_model=list[VersionOut], summary=f"Every version of a {noun}")
    async def versions(name: str, actor: Reader, session: SessionDep) -> list[VersionOut]:
        """All versions, newest first."""
        rows = list(
            await session.scalars(select(table).where(col(table.name) == name).order_by(col(table.version).desc()))
        )
        if not rows:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{noun} {name} does not exist")
        return [out(r) for r in rows]

    @router.get("/{name}/versions/{version}", response_model=VersionOut, summary=f"One version of a {noun}")
    async def one_version(name: str, version: VersionNumber, actor: Reader, session: SessionDep) -> VersionOut:
        """A specific version, as running workflows may still use it."""
        return out(await get_row(session, name, version))

    @router.post(
        "/{name}",
        response_model=VersionOut,
        status_code=status.HTTP_201_CREATED,
        summary=f"Publish a new {noun} version",
    )
    async def publish(name: str, body: dict[str, Any], admin: Admin, session: SessionDep) -> VersionOut:
        """Validate the document and store it as the next version; workflows already running are unaffected."""
        return await publish_version(
            session, table=table, model=model, tag=tag, noun=noun, name=name, body=body, admin=admin, review=review
        )

    return router
