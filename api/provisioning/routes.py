"""Provisioning orders over plain JSON: the order with its tasks, step completion with documents, review, the ledger."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import col

from api.acts import IdempotencyKey, StaffActing
from api.deps import GatewayDep, Reader, SessionDep
from api.errors import QuietValidationRoute
from api.provisioning.service import closure_spec, load_row, perform, register_order
from api.provisioning.tmf641 import Orderer, href, row_to_tmf, to_tmf
from api.schemas import Offset, TaskView
from api.tasks.routes import tasks_of
from core.bounds import AwareInstant
from core.provisioning import Cutover, DocumentRef
from db.models import CircuitLedgerRow, OrderDocument, utcnow

router = APIRouter(prefix="/api/provisioning-orders", tags=["provisioning orders"], route_class=QuietValidationRoute)
ledger_router = APIRouter(prefix="/api/circuit-ledger", tags=["provisioning orders"], route_class=QuietValidationRoute)

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


class OrderDetail(BaseModel):
    """An order (its TMF641 representation) and every human task it opened."""

    order: dict[str, Any]
    tasks: list[TaskView]


class Upload(BaseModel):
    """A document uploaded with a step: only its metadata and SHA-256 are kept."""

    kind: str = Field(min_length=1, max_length=64, description="completion_order, test_report, ...")
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=100)
    content_base64: str = Field(min_length=1, description="the file, base64-encoded")


class CompleteStepBody(BaseModel):
    """Report a step done (the completion order needs the completion_order and test_report documents)."""

    note: str = Field(default="", max_length=2000)
    documents: list[Upload] = Field(default_factory=list, max_length=20)


class ReviewBody(BaseModel):
    """Approve the work, or return it to a named step with a reason."""

    outcome: Literal["approve", "return"]
    return_to: str | None = Field(default=None, max_length=64)
    reason: str = Field(default="", max_length=2000)


class ClosureBody(BaseModel):
    """Close a circuit (拆机): by when, and why."""

    requested_completion: AwareInstant
    description: str | None = Field(default=None, max_length=2000)
    external_id: str | None = Field(default=None, max_length=100)


class DocumentView(BaseModel):
    """A stored document's metadata."""

    step: str
    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class LedgerView(BaseModel):
    """A circuit-ledger row."""

    circuit_id: str
    order_id: str
    status: str
    circuit_type: str
    a_end: dict[str, Any]
    z_end: dict[str, Any]
    bandwidth: str
    ordered_at: datetime
    requested_completion: datetime
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    closed_at: datetime | None
    closure_order_id: str | None
    on_time: bool | None
    cycle_seconds: float | None
    documents: list[dict[str, Any]]
    steps: list[dict[str, Any]]


def _document(index: int, upload: Upload) -> DocumentRef:
    """Hash an upload; the content itself is not kept."""
    try:
        content = base64.b64decode(upload.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"documents.{index}.content_base64: not valid base64"
        ) from None
    if len(content) > MAX_DOCUMENT_BYTES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"documents.{index}: larger than {MAX_DOCUMENT_BYTES} bytes"
        )
    return DocumentRef(
        kind=upload.kind,
        filename=upload.filename,
        content_type=upload.content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )


@router.get("/{order_id}", response_model=OrderDetail, summary="An order with its tasks")
async def get_order(order_id: str, actor: Reader, session: SessionDep) -> OrderDetail:
    """The order and its tasks (open and done) from the read models."""
    row = await load_row(session, order_id)
    return OrderDetail(order=row_to_tmf(row), tasks=await tasks_of(session, order_id))


@router.get("/{order_id}/documents", response_model=list[DocumentView], summary="The order's documents")
async def order_documents(order_id: str, actor: Reader, session: SessionDep) -> list[DocumentView]:
    """Metadata and hashes of every document uploaded with the order's steps."""
    await load_row(session, order_id)
    rows = await session.scalars(
        select(OrderDocument).where(col(OrderDocument.order_id) == order_id).order_by(col(OrderDocument.id))
    )
    return [DocumentView.model_validate(r, from_attributes=True) for r in rows]


@router.post("/{order_id}/steps/{step}/complete", summary="Report a step done, with its documents")
async def complete_step(
    order_id: str,
    step: str,
    body: CompleteStepBody,
    acting: StaffActing,
) -> dict[str, Any]:
    """Deliver the completion to the order's workflow; a refusal (403/409/422) changes nothing and is journaled."""
    row = await load_row(acting.session, order_id)
    documents = [_document(i, d) for i, d in enumerate(body.documents)]
    act = {"type": "complete_step", "step": step, "note": body.note, "documents": documents}
    return to_tmf(await perform(acting, row, act))


@router.post("/{order_id}/review", summary="Approve the order, or return it to a step")
async def review_order(
    order_id: str,
    body: ReviewBody,
    acting: StaffActing,
) -> dict[str, Any]:
    """Reviewers only, and never someone who did a step of the order (four-eyes)."""
    row = await load_row(acting.session, order_id)
    return to_tmf(await perform(acting, row, {"type": "review", **body.model_dump()}))


@router.post("/{order_id}/cutover", summary="Mark a step as a cut-over and tell the customers")
async def mark_cutover(order_id: str, body: Cutover, acting: StaffActing) -> dict[str, Any]:
    """Coordinators: the step (not yet started) cuts over in the window; the notice period starts now."""
    row = await load_row(acting.session, order_id)
    if body.window_start <= utcnow():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "windowStart: must be in the future")
    act = {"type": "mark_cutover", "cutover": body.model_dump(mode="json")}
    return to_tmf(await perform(acting, row, act))


@ledger_router.get("", response_model=list[LedgerView], summary="The circuit ledger")
async def circuit_ledger(
    actor: Reader,
    session: SessionDep,
    order_id: str | None = None,
    ledger_status: Annotated[Literal["active", "cancelled", "closed"] | None, Query(alias="status")] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[LedgerView]:
    """Ledger rows, newest order first."""
    query = select(CircuitLedgerRow)
    if order_id is not None:
        query = query.where(col(CircuitLedgerRow.order_id) == order_id)
    if ledger_status is not None:
        query = query.where(col(CircuitLedgerRow.status) == ledger_status)
    rows = await session.scalars(query.order_by(col(CircuitLedgerRow.ordered_at).desc()).offset(offset).limit(limit))
    return [LedgerView.model_validate(r, from_attributes=True) for r in rows]


class StepTimeliness(BaseModel):
    """How one kind of step fared across the orders counted."""

    done: int
    on_time: int
    rework: int


class Timeliness(BaseModel):
    """Activation timeliness rate and cycle time (DOMAIN.md §6) over the circuits completed in a period."""

    completed: int
    on_time: int
    timeliness_rate: float | None
    average_cycle_hours: float | None
    cancelled: int
    steps: dict[str, StepTimeliness]


@ledger_router.get("/timeliness", response_model=Timeliness, summary="Activation timeliness rate and cycle time")
async def timeliness(
    actor: Reader,
    session: SessionDep,
    completed_from: Annotated[datetime | None, Query(description="completed at or after")] = None,
    completed_before: Annotated[datetime | None, Query(description="completed before")] = None,
) -> Timeliness:
    """Share of circuits completed by their requested date, average order-to-completion time, per-step timeliness."""
    query = select(CircuitLedgerRow)
    if completed_from is not None:
        query = query.where(col(CircuitLedgerRow.completed_at) >= completed_from)
    if completed_before is not None:
        query = query.where(col(CircuitLedgerRow.completed_at) < completed_before)
    rows = list(await session.scalars(query))
    done = [r for r in rows if r.status == "active"]
    steps: dict[str, StepTimeliness] = {}
    for row in done:
        for step in row.steps:
            tally = steps.setdefault(step["step"], StepTimeliness(done=0, on_time=0, rework=0))
            tally.done += 1
            tally.on_time += bool(step.get("on_time"))
            tally.rework += int(step.get("rework") or 0)
    on_time = sum(1 for r in done if r.on_time)
    cycles = [r.cycle_seconds for r in done if r.cycle_seconds is not None]
    return Timeliness(
        completed=len(done),
        on_time=on_time,
        timeliness_rate=on_time / len(done) if done else None,
        average_cycle_hours=sum(cycles) / len(cycles) / 3600 if cycles else None,
        cancelled=sum(1 for r in rows if r.status == "cancelled"),
        steps=steps,
    )


@ledger_router.get("/{circuit_id}", response_model=LedgerView, summary="One circuit's ledger row")
async def circuit(circuit_id: str, actor: Reader, session: SessionDep) -> LedgerView:
    """A circuit by id (404 when unknown)."""
    row = await session.get(CircuitLedgerRow, circuit_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"circuit {circuit_id} does not exist")
    return LedgerView.model_validate(row, from_attributes=True)


@ledger_router.post("/{circuit_id}/closure", status_code=status.HTTP_201_CREATED, summary="Close a circuit")
async def close_circuit(
    circuit_id: str,
    body: ClosureBody,
    actor: Orderer,
    session: SessionDep,
    gateway: GatewayDep,
    response: Response,
    request_id: IdempotencyKey = None,
) -> dict[str, Any]:
    """Start a service-closure order of an active circuit (TMF641 `action: delete`); its completion closes the row."""
    spec = await closure_spec(session, circuit_id, body.requested_completion, field="circuit_id", request_id=request_id)
    order = await register_order(
        session=session,
        gateway=gateway,
        actor=actor,
        spec=spec,
        request_id=request_id,
        description=body.description,
        external_id=body.external_id,
    )
    response.headers["Location"] = href(order.order_id)
    return to_tmf(order)
