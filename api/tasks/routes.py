"""Human-task inboxes and the acts people perform on tasks (claim, release, decide)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import and_, false, func, or_, select

from api.acts import IdempotencyKey, Subject, deliver
from api.deps import DbDep, GatewayDep, Reader, SessionDep, Staff
from api.schemas import Page, TaskView
from core.roles import Actor, Role
from core.tasks import ActResult, ClaimInput, DecisionInput, RefusalCode, TaskRefused
from db.models import TaskRow, utcnow

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

OVERSEERS = (Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR)


def task_view(row: TaskRow) -> TaskView:
    """The inbox view of a read-model row."""
    overdue = row.status == "open" and row.due_at < utcnow()
    return TaskView(**row.model_dump(exclude={"updated_at", "revision"}), overdue=overdue)


async def tasks_of(session: SessionDep, business_ref: str) -> list[TaskView]:
    """Every task (open and done) of one ticket or order, oldest first, from the read model."""
    rows = await session.scalars(
        select(TaskRow).where(TaskRow.business_ref == business_ref).order_by(TaskRow.opened_at, TaskRow.task_id)
    )
    return [task_view(r) for r in rows]


def _candidate_filter(actor: Actor) -> Any:
    """Rows the actor may pick up: named, their department, or one of their roles (as `Candidates.admits` rules)."""
    clauses = [TaskRow.assignee == actor.username, TaskRow.candidate_roles.overlap([r.value for r in actor.roles])]
    if actor.department and not actor.has_role(Role.AUDITOR):
        clauses.append(TaskRow.candidate_department == actor.department)
    return or_(*clauses) if clauses else false()


@router.get("", response_model=Page[TaskView], summary="My inbox: tasks I hold, may pick up, or oversee")
async def inbox(
    actor: Reader,
    session: SessionDep,
    scope: Annotated[
        Literal["mine", "candidate", "all"],
        Query(description="mine: claimed by or assigned to me; candidate: I may act; all: overseers only"),
    ] = "candidate",
    task_status: Annotated[Literal["open", "done", "cancelled", "any"], Query(alias="status")] = "open",
    overdue: bool | None = None,
    kind: str | None = None,
    workflow_id: str | None = None,
    business_ref: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[TaskView]:
    """Tasks ordered green channel first (priority), then by due time."""
    if scope == "all" and not actor.has_role(*OVERSEERS):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "scope=all: supervisor, admin or auditor role required")
    conditions = []
    if scope == "mine":
        conditions.append(or_(TaskRow.claimed_by == actor.username, TaskRow.assignee == actor.username))
    elif scope == "candidate":
        conditions.append(_candidate_filter(actor))
    if task_status != "any":
        conditions.append(TaskRow.status == task_status)
    if overdue is not None:
        late = and_(TaskRow.status == "open", TaskRow.due_at < utcnow())
        conditions.append(late if overdue else ~late)
    for column, value in (
        (TaskRow.kind, kind),
        (TaskRow.workflow_id, workflow_id),
        (TaskRow.business_ref, business_ref),
    ):
        if value is not None:
            conditions.append(column == value)
    where = and_(*conditions) if conditions else None
    count_query = select(func.count()).select_from(TaskRow)
    rows_query = (
        select(TaskRow).order_by(TaskRow.priority.desc(), TaskRow.due_at, TaskRow.task_id).offset(offset).limit(limit)
    )
    if where is not None:
        count_query, rows_query = count_query.where(where), rows_query.where(where)
    total = await session.scalar(count_query) or 0
    rows = await session.scalars(rows_query)
    return Page(items=[task_view(r) for r in rows], total=total, offset=offset, limit=limit)


async def _row(session: SessionDep, task_id: str) -> TaskRow:
    row = await session.get(TaskRow, task_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"task {task_id} does not exist")
    return row


@router.get("/{task_id}", response_model=TaskView, summary="One task")
async def get_task(task_id: str, actor: Reader, session: SessionDep) -> TaskView:
    """A task by id."""
    return task_view(await _row(session, task_id))


class DecisionBody(BaseModel):
    """A decision on a task."""

    outcome: str = Field(min_length=1, max_length=64, description="one of the task's outcomes, e.g. approve / reject")
    comment: str | None = Field(default=None, max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict, description="outcome-specific payload")


class ClaimBody(BaseModel):
    """Claim or release."""

    release: bool = False


async def _act(
    *,
    task_id: str,
    action: str,
    update: str,
    build: Any,
    actor: Actor,
    request_id: str | None,
    session: SessionDep,
    gateway: GatewayDep,
    db: DbDep,
) -> TaskView:
    """Send one human act to the task's workflow; journal a refusal; replay a duplicate request."""
    row = await _row(session, task_id)

    def still_open() -> None:  # the workflow may have finished with its task: refuse without asking it
        if row.status != "open":
            raise TaskRefused(RefusalCode.CONFLICT, f"task {task_id} is already {row.status}")

    await deliver(
        gateway=gateway,
        db=db,
        session=session,
        actor=actor,
        action=action,
        update=update,
        build=build,
        subject=Subject(type="task", id=task_id, workflow_id=row.workflow_id),
        result_type=ActResult,
        request_id=request_id,
        precheck=still_open,
    )
    await session.refresh(row)
    return task_view(row)


@router.post("/{task_id}/decision", response_model=TaskView, summary="Decide a task (approve, reject, …)")
async def decide(
    task_id: str,
    body: DecisionBody,
    actor: Staff,
    session: SessionDep,
    gateway: GatewayDep,
    db: DbDep,
    request_id: IdempotencyKey = None,
) -> TaskView:
    """Deliver a decision as a validated update; refused decisions change nothing and are journaled."""
    return await _act(
        task_id=task_id,
        action=f"task.{body.outcome}",
        update="decide",
        actor=actor,
        request_id=request_id,
        session=session,
        gateway=gateway,
        db=db,
        build=lambda rid: DecisionInput(
            task_id=task_id, request_id=rid, actor=actor, outcome=body.outcome, comment=body.comment, data=body.data
        ),
    )


@router.post("/{task_id}/claim", response_model=TaskView, summary="Claim a task, or release it")
async def claim(
    task_id: str,
    actor: Staff,
    session: SessionDep,
    gateway: GatewayDep,
    db: DbDep,
    body: ClaimBody | None = None,
    request_id: IdempotencyKey = None,
) -> TaskView:
    """Claim so colleagues see who holds the task; `release: true` hands it back."""
    release = bool(body and body.release)
    return await _act(
        task_id=task_id,
        action="task.release" if release else "task.claim",
        update="claim",
        actor=actor,
        request_id=request_id,
        session=session,
        gateway=gateway,
        db=db,
        build=lambda rid: ClaimInput(task_id=task_id, request_id=rid, actor=actor, release=release),
    )
