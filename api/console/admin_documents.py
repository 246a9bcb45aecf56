"""Administration: SLA policies, assignment rules and provisioning rules — versions, the changes between any two,
and publishing an edited version after reviewing its changes against the version in use.

Reviewing and publishing go through the API's own kinds (api/platform/config.py: the same model, review and
journal row as `POST /api/sla-policies/{name}` and the others); the changes are core/versions.changes.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, Response, status
from sqlalchemy import func, select
from sqlmodel import col

from api.console.errors import ConsoleRoute
from api.console.pages import _gate
from api.console.rendering import render, templates
from api.console.session import ConsoleUser, SignedIn
from api.console.vocabulary import N_
from api.deps import DbDep, SessionDep
from api.platform.config import ASSIGNMENT_RULES, PROVISIONING_RULES, SLA_POLICIES
from api.platform.versioned import VersionedKind, VersionOut
from core.roles import Role
from core.versions import IDENTITY, Change, changes

router = APIRouter(prefix="/console/admin/documents", route_class=ConsoleRoute, include_in_schema=False)

KINDS: dict[str, tuple[VersionedKind, str]] = {
    "sla-policies": (SLA_POLICIES, N_("SLA policies")),
    "assignment-rules": (ASSIGNMENT_RULES, N_("Assignment rules")),
    "provisioning-rules": (PROVISIONING_RULES, N_("Provisioning rules")),
}
templates.env.globals["DOCUMENT_KINDS"] = {kind: title for kind, (_, title) in KINDS.items()}  # the admin nav
_MAX_DOCUMENT = 200_000  # characters of JSON: the largest rules document is a few kilobytes


def _kind(kind: str) -> VersionedKind:
    if kind not in KINDS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{kind}: no such kind of document")
    return KINDS[kind][0]


def editable(spec: dict[str, Any]) -> str:
    """A stored document as the admin edits it: pretty JSON without its name and version (the publish sets them)."""
    return json.dumps({k: v for k, v in spec.items() if k not in IDENTITY}, ensure_ascii=False, indent=2)


def parse_document(text: str) -> dict[str, Any]:
    """The edited JSON as a document body; ValueError saying what is wrong with it."""
    if len(text) > _MAX_DOCUMENT:
        raise ValueError(f"document: longer than {_MAX_DOCUMENT} characters")
    try:
        body = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"document: not JSON ({err.msg} at line {err.lineno}, column {err.colno})") from None
    if not isinstance(body, dict):
        raise ValueError("document: a JSON object is required")
    return body


async def _versions(session: SessionDep, kind: VersionedKind, name: str) -> list[Any]:
    rows = list(
        await session.scalars(
            select(kind.table).where(col(kind.table.name) == name).order_by(col(kind.table.version).desc())
        )
    )
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{kind.noun} {name} does not exist")
    return rows


@router.get("/{kind}")
async def documents(request: Request, kind: str, user: SignedIn, session: SessionDep, db: DbDep) -> Response:
    """Every document of a kind with its latest version."""
    await _gate(request, user, db, Role.ADMIN)
    chosen = _kind(kind)
    rows = await session.execute(
        select(col(chosen.table.name), func.max(col(chosen.table.version)))
        .group_by(col(chosen.table.name))
        .order_by(col(chosen.table.name))
    )
    context = {"user": user, "kind": kind, "title": KINDS[kind][1], "documents": list(rows)}
    return render(request, "admin_documents.html", context)


async def _document_page(
    request: Request,
    user: ConsoleUser,
    session: SessionDep,
    kind: str,
    name: str,
    *,
    compare: tuple[int, int] | None = None,
    text: str | None = None,
    proposed: list[Change] | None = None,
    warnings: list[str] | None = None,
    refusal: str | None = None,
    published: VersionOut | None = None,
    status_code: int = 200,
) -> Response:
    rows = await _versions(session, _kind(kind), name)
    latest = rows[0]
    by_version = {r.version: r for r in rows}
    if compare is None and len(rows) > 1:
        compare = (rows[1].version, latest.version)
    compared = None
    if compare and compare[0] in by_version and compare[1] in by_version:
        old, new = by_version[compare[0]], by_version[compare[1]]
        compared = {"old": old, "new": new, "changes": changes(old.spec, new.spec)}
    return render(
        request,
        "admin_document.html",
        {
            "user": user,
            "kind": kind,
            "title": KINDS[kind][1],
            "name": name,
            "latest": latest,
            "versions": rows,
            "compared": compared,
            "text": text if text is not None else editable(latest.spec),
            "proposed": proposed,
            "warnings": warnings or [],
            "refusal": refusal,
            "published": published,
        },
        status_code=status_code,
    )


@router.get("/{kind}/{name}")
async def document_page(
    request: Request,
    kind: str,
    name: str,
    user: SignedIn,
    session: SessionDep,
    db: DbDep,
    old: int | None = None,
    new: int | None = None,
) -> Response:
    """A document's versions, the changes between two of them (by default the latest two) and the edit form."""
    await _gate(request, user, db, Role.ADMIN)
    compare = (old, new) if old is not None and new is not None else None
    return await _document_page(request, user, session, kind, name, compare=compare)


async def _checked(
    session: SessionDep, kind: VersionedKind, name: str, document: str, base: int
) -> tuple[list[Change], list[str]]:
    """The changes the edited document makes to the version in use, and its warnings; 409 when `base` is no longer
    the version in use, 422 when the document is refused."""
    latest = (await _versions(session, kind, name))[0]
    if latest.version != base:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"{kind.noun} {name}: v{latest.version} was published since you opened v{base}; review the changes again",
        )
    try:
        body = parse_document(document)
    except ValueError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from None
    checked, warnings = kind.check(name, base + 1, body)
    return changes(latest.spec, checked.model_dump(mode="json")), warnings


@router.post("/{kind}/{name}/review")
async def review_document(
    request: Request,
    kind: str,
    name: str,
    user: SignedIn,
    session: SessionDep,
    db: DbDep,
    document: Annotated[str, Form(max_length=_MAX_DOCUMENT)] = "",
    base: Annotated[int, Form(ge=1)] = 1,
) -> Response:
    """Check the edited document as the publish would and show its changes against the version in use; stores
    nothing."""
    await _gate(request, user, db, Role.ADMIN)
    try:
        proposed, warnings = await _checked(session, _kind(kind), name, document, base)
    except HTTPException as refused:
        return await _refusal_page(request, user, session, kind, name, document, refused)
    return await _document_page(request, user, session, kind, name, text=document, proposed=proposed, warnings=warnings)


async def _refusal_page(
    request: Request,
    user: ConsoleUser,
    session: SessionDep,
    kind: str,
    name: str,
    document: str,
    refused: HTTPException,
) -> Response:
    """The document page again with the edited text and the refusal; an unknown document stays a 404."""
    if refused.status_code == status.HTTP_404_NOT_FOUND:
        raise refused
    return await _document_page(
        request, user, session, kind, name, text=document, refusal=str(refused.detail), status_code=refused.status_code
    )


@router.post("/{kind}/{name}/publish")
async def publish_document(
    request: Request,
    kind: str,
    name: str,
    user: SignedIn,
    session: SessionDep,
    db: DbDep,
    document: Annotated[str, Form(max_length=_MAX_DOCUMENT)] = "",
    base: Annotated[int, Form(ge=1)] = 1,
) -> Response:
    """Publish the reviewed document as the next version through the API's publishing path; refusals shown."""
    admin = await _gate(request, user, db, Role.ADMIN)
    chosen = _kind(kind)
    try:
        proposed, _ = await _checked(session, chosen, name, document, base)
        if not proposed:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "document: no change to the version in use")
        published = await chosen.publish(session, name, parse_document(document), admin)
    except HTTPException as refused:
        await session.rollback()
        return await _refusal_page(request, user, session, kind, name, document, refused)
    return await _document_page(
        request, user, session, kind, name, compare=(base, published.version), published=published
    )
