"""Human-task inboxes and the acts people perform on tasks (claim, release, decide)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import and_, false, or_, select
from sqlmodel import col

from api.acts import Acting, StaffActing, Subject, deliver
from api.deps import Reader, SessionDep, SettingsDep
from api.schemas import Offset, Page, TaskView
from api.tasks.completion import completion_of
from core.contacts import contact_texts, mask_contacts_in
from core.roles import Actor, Role
from core.tasks import ActResult, ClaimInput, DecisionInput, RefusalCode, TaskRefused
from db.models import TaskFields, TaskRow, utcnow
from db.readmodel import capped_total, page_of

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

OVERSEERS = (Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR)
_TASK_PAGE = Page[TaskView]


_TASK_FIELDS = tuple(TaskFields.model_fields)


def _view_fields(row: TaskRow, now: datetime) -> dict[str, Any]:
    """The fields of a row's inbox view, unvalidated: a page validates all of its rows in one pass."""
    shown = {name: getattr(row, name) for name in _TASK_FIELDS}
    shown.update(mask_contacts_in({"subject": row.subject, "comment": row.comment}))  # free text only; ids stay whole
    shown["overdue"] = row.status == "open" and row.due_at < now
    shown["completion"] = completion_of(row)
    return shown


def task_view(row: TaskRow) -> TaskView:
    """The inbox view of a read-model row, contact details in its subject and comment masked."""
    return TaskView.model_validate(_view_fields(row, utcnow()))


async def tasks_of(session: SessionDep, business_ref: str) -> list[TaskView]:
    """Every task (open and done) of one ticket or order, oldest first, from the read model."""
    rows = await session.scalars(
        select(TaskRow)
        .where(col(TaskRow.business_ref) == business_ref)
        .order_by(col(TaskRow.opened_at), col(TaskRow.task_id))
    )
    return [task_view(r) for r in rows]


async def task_texts(session: SessionDep, business_ref: str) -> dict[str, str]:
    """The task subjects and comments of a ticket or order that views show masked, whole (for the audited reveal)."""
    rows = await session.scalars(select(TaskRow).where(col(TaskRow.business_ref) == business_ref))
    shown = {f"tasks[{r.task_id}]": {"subject": r.subject, "comment": r.comment} for r in rows}
    return dict(contact_texts(shown))


def _candidate_filter(actor: Actor) -> Any:
    """Rows the actor may pick up: named, their department, or one of their roles (as `Candidates.admits` rules)."""
    clauses = [
        col(TaskRow.assignee) == actor.username,
        # ARRAY's comparator (overlap) is not visible through Mapped[list[str]] in SQLAlchemy's stubs.
        col(TaskRow.candidate_roles).overlap([r.value for r in actor.roles]),  # type: ignore[attr-defined]
    ]
    if actor.department and not actor.has_role(Role.AUDITOR):
        clauses.append(col(TaskRow.candidate_department) == actor.department)
    return or_(*clauses) if clauses else false()


@router.get("", response_model=Page[TaskView], summary="My inbox: tasks I hold, may pick up, or oversee")
async def inbox(
    actor: Reader,
    session: SessionDep,
    settings: SettingsDep,
    scope: Annotated[
        Literal["mine", "candidate", "all"],
        Query(description="mine: claimed by or assigned to me; candidate: I may act; all: overseers only"),
    ] = "candidate",
    task_status: Annotated[Literal["open", "done", "cancelled", "any"], Query(alias="status")] = "open",
    overdue: bool | None = None,
    kind: str | None = None,
    workflow_id: str | None = None,
    business_ref: str | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[TaskView]:
    """Tasks ordered green channel first (priority), then by due time; the total counted up to the list count cap."""
    return await inbox_page(
        actor,
        session,
        scope=scope,
        task_status=task_status,
        overdue=overdue,
        kind=kind,
        workflow_id=workflow_id,
        business_ref=business_ref,
        offset=offset,
        limit=limit,
        count_cap=settings.list_count_cap,
    )


async def inbox_page(
    actor: Actor,
    session: SessionDep,
    *,
    scope: Literal["mine", "candidate", "all"],
    task_status: Literal["open", "done", "cancelled", "any"],
    overdue: bool | None,
    kind: str | None,
    workflow_id: str | None,
    business_ref: str | None,
    offset: int,
    limit: int,
    count_cap: int | None = None,
) -> Page[TaskView]:
    """The inbox query behind `GET /api/tasks` and the console's My work; the total stops at `count_cap`."""
    if scope == "all" and not actor.has_role(*OVERSEERS):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "scope=all: supervisor, admin or auditor role required")
    conditions = []
    if scope == "mine":
        conditions.append(or_(col(TaskRow.claimed_by) == actor.username, col(TaskRow.assignee) == actor.username))
    elif scope == "candidate":
        conditions.append(_candidate_filter(actor))
    if task_status != "any":
        conditions.append(col(TaskRow.status) == task_status)
    if overdue is not None:
        late = and_(col(TaskRow.status) == "open", col(TaskRow.due_at) < utcnow())
        conditions.append(late if overdue else ~late)
    for column, value in (
        (col(TaskRow.kind), kind),
        (col(TaskRow.workflow_id), workflow_id),
        (col(TaskRow.business_ref), business_ref),
    ):
        if value is not None:
            conditions.append(column == value)
    total, rows = await page_of(
        session,
        TaskRow,
        conditions,
        col(TaskRow.priority).desc(),
        col(TaskRow.due_at),
        col(TaskRow.task_id),
        offset=offset,
        limit=limit,
        count_cap=count_cap,
    )
    shown, capped = capped_total(total, count_cap)
    now = utcnow()
    # One validation of the whole page (in pydantic-core) instead of a SQLModel validation per row.
    page = {"total": shown, "total_capped": capped, "offset": offset, "limit": limit}
    return _TASK_PAGE.model_validate(page | {"items": [_view_fields(r, now) for r in rows]})


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


async def _act(acting: Acting, task_id: str, *, action: str, update: str, build: Callable[[str], Any]) -> TaskView:
    """Send one human act to the task's workflow; journal a refusal; replay a duplicate request."""
    row = await _row(acting.session, task_id)

    def still_open() -> None:  # the workflow may have finished with its task: refuse without asking it
        if row.status != "open":
            raise TaskRefused(RefusalCode.CONFLICT, f"task {task_id} is already {row.status}")

    await deliver(
        gateway=acting.gateway,
        db=acting.db,
        session=acting.session,
        actor=acting.actor,
        action=action,
        update=update,
        build=build,
        subject=Subject(type="task", id=task_id, workflow_id=row.workflow_id),
        result_type=ActResult,
        request_id=acting.request_id,
        precheck=still_open,
    )
    await acting.session.refresh(row)
    return task_view(row)


@router.post("/{task_id}/decision", response_model=TaskView, summary="Decide a task (approve, reject, …)")
async def decide(task_id: str, body: DecisionBody, acting: StaffActing) -> TaskView:
    """Deliver a decision as a validated update; refused decisions change nothing and are journaled."""
    return await _act(
        acting,
        task_id,
        action=f"task.{body.outcome}",
        update="decide",
        build=lambda rid: DecisionInput(
            task_id=task_id,
            request_id=rid,
            actor=acting.actor,
            outcome=body.outcome,
            comment=body.comment,
            data=body.data,
        ),
    )


@router.post("/{task_id}/claim", response_model=TaskView, summary="Claim a task, or release it")
async def claim(task_id: str, acting: StaffActing, body: ClaimBody | None = None) -> TaskView:
    """Claim so colleagues see who holds the task; `release: true` hands it back."""
    release = bool(body and body.release)
    return await _act(
        acting,
        task_id,
        action="task.release" if release else "task.claim",
        update="claim",
        build=lambda rid: ClaimInput(task_id=task_id, request_id=rid, actor=acting.actor, release=release),
    )
