"""Auditors' tools: list workflows, export a history, a workflow's timeline, replay histories, verify the journal.

Everything here reads; nothing changes a workflow or a journal row. Listing goes to Temporal
visibility (the read model only knows tickets and tasks); histories come straight from Temporal.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio.client import Client, WorkflowHistory, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import READ_ONLY, Auditor, DbDep, GatewayDep, SessionDep, SettingsDep
from api.errors import ApiError
from api.gateway import TemporalGateway
from audit.history import (
    SAFE_VALUE,
    WorkflowFilter,
    WorkflowRun,
    decode_history,
    fetch_history,
    history_document,
    list_runs,
)
from audit.journal_anchor import recorded_anchors
from audit.replay import (
    ReplayReport,
    histories_closed_between,
    histories_in,
    histories_of_workflow,
    replay,
    replay_progress,
)
from audit.timeline import JournalRow, Kind, Timeline, build_timeline
from core.bounds import AwareInstant
from core.records import AuditRecord
from core.roles import Actor
from db import audit as audit_journal
from db.models import AuditEntry, TaskRow, TicketRow, utcnow
from db.session import Database
from infra.codec import UnknownKeyError

router = APIRouter(prefix="/api/audit", tags=["audit"])


def _temporal_error(err: RPCError, what: str) -> HTTPException:
    """Map a Temporal RPC error to the HTTP answer an auditor can act on."""
    if err.status == RPCStatusCode.NOT_FOUND:
        return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found in Temporal")
    if err.status == RPCStatusCode.UNIMPLEMENTED:
        return HTTPException(status.HTTP_501_NOT_IMPLEMENTED, f"this Temporal server cannot {what}: {err.message}")
    if err.status == RPCStatusCode.INVALID_ARGUMENT:
        return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, err.message)
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal is unavailable: {err.message}")


class RunPage(BaseModel):
    """A page of workflow runs; pass next_page_token back for the next one."""

    items: list[WorkflowRun]
    next_page_token: str | None


@router.get(
    "/workflows",
    response_model=RunPage,
    summary="List workflows (Temporal visibility)",
    responses={501: {"model": ApiError, "description": "the Temporal server has no visibility API"}},
)
async def list_workflows(
    actor: Auditor,
    gateway: GatewayDep,
    settings: SettingsDep,
    where: Annotated[WorkflowFilter, Query()],
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
    page_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> RunPage:
    """Runs by business reference (ticket number, order id), type, status and start/close time, newest first."""
    try:
        token = unseal_page_token(page_token, settings.token_secret) if page_token else None
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "page_token: not a token this API issued") from None
    try:
        runs, next_token = await list_runs(gateway.client, where, page_size=page_size, page_token=token)
    except RPCError as err:
        raise _temporal_error(err, "list workflows") from err
    sealed = seal_page_token(next_token, settings.token_secret) if next_token else None
    return RunPage(items=runs, next_page_token=sealed)


_TAG_BYTES = 16


def _page_tag(token: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode(), b"visibility-page:" + token, hashlib.sha256).digest()[:_TAG_BYTES]


def seal_page_token(token: bytes, secret: str) -> str:
    """Temporal's next-page token, signed: a token we did not issue is refused before Temporal sees it."""
    return base64.urlsafe_b64encode(_page_tag(token, secret) + token).decode()


def unseal_page_token(text: str, secret: str) -> bytes:
    """The Temporal token inside a page token this API issued; ValueError for anything else."""
    try:
        raw = base64.b64decode(text, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    tag, token = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
    if not token or not hmac.compare_digest(tag, _page_tag(token, secret)):
        raise ValueError("not a token this API issued")
    return token


async def _history(gateway: TemporalGateway, workflow_id: str, run_id: str | None, *, decode: bool) -> WorkflowHistory:
    """A run's history from Temporal, its payloads decrypted when `decode`; Temporal errors as HTTP answers."""
    try:
        history = await fetch_history(gateway.client, workflow_id, run_id)
    except RPCError as err:
        raise _temporal_error(err, f"workflow {workflow_id}") from err
    codec = gateway.client.data_converter.payload_codec
    if not decode or codec is None:
        return history
    try:
        return await decode_history(history, codec)
    except UnknownKeyError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{exc}; export with raw=true") from None


@router.get(
    "/workflows/{workflow_id}/history", summary="Export a workflow's history (temporal workflow show --output json)"
)
async def export_history(
    workflow_id: str,
    actor: Auditor,
    gateway: GatewayDep,
    db: DbDep,
    run_id: str | None = Query(default=None, description="a specific run; the latest when omitted"),
    raw: bool = Query(default=False, description="payloads as stored (encrypted) instead of decoded"),
) -> JSONResponse:
    """The full history as JSON; payloads decoded for the auditor unless `raw=true`. Decoded exports are journaled."""
    history = await _history(gateway, workflow_id, run_id, decode=not raw)
    if not raw:
        await _journal_export(db, actor, history)
    return JSONResponse(history_document(history), headers={"X-Workflow-Id": workflow_id, "X-Run-Id": history.run_id})


async def _journal_export(db: Database, actor: Actor, history: WorkflowHistory) -> None:
    """Who read which decrypted history, and when: reading customer data is itself auditable."""
    record = AuditRecord.by(
        actor,
        "history.export",
        "workflow",
        history.workflow_id[:200],
        at=utcnow(),
        request_id=f"export:{history.run_id}:{actor.username}:{utcnow().isoformat()}",
        workflow_id=history.workflow_id[:200],
    )
    async with db.session() as session:
        await audit_journal.append(session, record)
        await session.commit()


class LabelledHistory(BaseModel):
    """A history document and the workflow it belongs to (replay depends on the workflow id)."""

    workflow_id: str = Field(min_length=1, max_length=200)
    history: dict[str, Any]


class ReplayRequest(BaseModel):
    """What to replay: uploaded histories, one workflow from Temporal, or every workflow closed in a time range."""

    histories: list[LabelledHistory] | None = Field(default=None, max_length=500)
    workflow_id: str | None = Field(default=None, pattern=SAFE_VALUE, description="fetch this workflow from Temporal")
    run_id: str | None = None
    closed_since: AwareInstant | None = None
    closed_until: AwareInstant | None = None
    workflow_type: str | None = Field(default=None, pattern=SAFE_VALUE, description="with a time range")
    limit: int = Field(default=200, ge=1, le=1000, description="most runs replayed from a time range")

    @model_validator(mode="after")
    def _one_source(self) -> ReplayRequest:
        ranged = self.closed_since is not None or self.closed_until is not None
        if sum([self.histories is not None, self.workflow_id is not None, ranged]) != 1:
            raise ValueError("give exactly one of: histories, workflow_id, or closed_since/closed_until")
        return self


@router.post(
    "/replay",
    response_model=ReplayReport,
    summary="Replay histories against the current workflow code",
    openapi_extra=READ_ONLY,
)
async def replay_histories(
    body: ReplayRequest,
    actor: Auditor,
    gateway: GatewayDep,
    progress: bool = Query(
        default=False, description="stream NDJSON: one line per verdict as it is reached, then the summary"
    ),
) -> ReplayReport | StreamingResponse:
    """A verdict per run (replays cleanly, or the first diverging event and why) and a summary."""
    client = gateway.client
    sources = _replay_sources(body, client)
    if progress:
        lines = (
            json.dumps(item, ensure_ascii=False) + "\n"
            async for item in replay_progress(sources, converter=client.data_converter)
        )
        return StreamingResponse(lines, media_type="application/x-ndjson")
    try:
        return await replay(sources, converter=client.data_converter)
    except RPCError as err:
        raise _temporal_error(err, "fetch the histories") from err


def _replay_sources(body: ReplayRequest, client: Client) -> list[WorkflowHistory] | AsyncIterator[WorkflowHistory]:
    """The histories a replay request names; malformed uploads are refused with 422."""
    if body.histories is not None:
        try:
            return [h for item in body.histories for h in histories_in(item.model_dump(), name=item.workflow_id)]
        except (ValueError, TypeError) as exc:  # protobuf's ParseError is a ValueError
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"histories: {exc}") from None
    if body.workflow_id is not None:
        return histories_of_workflow(client, body.workflow_id, body.run_id)
    return histories_closed_between(
        client, body.closed_since, body.closed_until, workflow_type=body.workflow_type, limit=body.limit
    )


KindsQuery = Annotated[list[Kind] | None, Query(description="only entries of these kinds (default: all)")]


@router.get("/workflows/{workflow_id}/timeline", response_model=Timeline, summary="Who did what, when and why")
async def workflow_timeline(
    workflow_id: str,
    actor: Auditor,
    gateway: GatewayDep,
    session: SessionDep,
    run_id: str | None = Query(default=None, description="a specific run; the latest when omitted"),
    kinds: KindsQuery = None,
) -> Timeline:
    """Human acts (refused ones from the journal), deadlines, reminders, breaches, escalations, pauses and
    activity results of one workflow run, oldest first; customer contact masked."""
    history = await _history(gateway, workflow_id, run_id, decode=True)
    rows = await session.scalars(
        select(AuditEntry).where(col(AuditEntry.workflow_id) == workflow_id).order_by(col(AuditEntry.id))
    )
    journal = [JournalRow.model_validate(row, from_attributes=True) for row in rows]
    return build_timeline(history, journal, kinds=kinds)


@router.get(
    "/timeline",
    response_model=Timeline,
    summary="The timeline of a ticket or order, by its business reference",
    responses={404: {"model": ApiError, "description": "no ticket or order has this reference"}},
)
async def timeline_by_ref(
    actor: Auditor,
    gateway: GatewayDep,
    session: SessionDep,
    ref: Annotated[str, Query(pattern=SAFE_VALUE, description="ticket number (CS…) or order id")],
    kinds: KindsQuery = None,
) -> Timeline:
    """Resolve the reference to its workflow, then as GET /api/audit/workflows/{workflow_id}/timeline."""
    workflow_id = await workflow_of(session, gateway, ref)
    return await workflow_timeline(workflow_id, actor, gateway, session, None, kinds)


async def workflow_of(session: AsyncSession, gateway: TemporalGateway, ref: str) -> str:
    """The one workflow a business reference names: the ticket table, the tasks' references, then visibility."""
    found = set(await session.scalars(select(col(TicketRow.workflow_id)).where(col(TicketRow.ticket_no) == ref)))
    found = found or set(
        await session.scalars(select(col(TaskRow.workflow_id)).where(col(TaskRow.business_ref) == ref).distinct())
    )
    if not found:
        try:
            runs, _ = await list_runs(gateway.client, WorkflowFilter(business_ref=ref), page_size=10)
            found = {run.workflow_id for run in runs}
        except RPCError as err:
            if err.status != RPCStatusCode.UNIMPLEMENTED:  # the time-skipping test server cannot list
                raise _temporal_error(err, "list workflows") from err
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"ref: no ticket or order {ref}")
    if len(found) > 1:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"ref: {ref} names several workflows ({', '.join(sorted(found))}); "
            "ask for one by /api/audit/workflows/{workflow_id}/timeline",
        )
    return found.pop()


class ChainReport(audit_journal.ChainCheck):
    """The journal's hash chain: intact, or the first broken link; note the head to detect a later truncation."""

    anchors_note: str | None = Field(default=None, description="why no anchor was compared, if none was")


@router.get("/verify", response_model=ChainReport, summary="Verify the audit journal's chain and its anchors")
async def verify_journal(
    actor: Auditor, session: SessionDep, gateway: GatewayDep, settings: SettingsDep
) -> ChainReport:
    """Walk the journal in order against Temporal's anchors; report the first bad link, seal or anchor."""
    note = None
    try:
        anchors = await recorded_anchors(
            gateway.client, settings.journal_anchor_workflow_id, rpc_timeout=gateway.rpc_timeout
        )
        if anchors is None:
            note = f"no anchor workflow {settings.journal_anchor_workflow_id}: links and seals checked alone"
        elif not anchors:
            note = "no anchor recorded yet: links and seals checked alone"
    except (RPCError, WorkflowQueryFailedError) as err:
        anchors, note = None, f"anchors unavailable from Temporal ({err}): links and seals checked alone"
    check = await audit_journal.verify_chain(session, anchors or ())
    return ChainReport(**check.model_dump(), anchors_note=note)
