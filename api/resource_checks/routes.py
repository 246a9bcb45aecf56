"""Resource checks over plain REST: the people's acts, the check with its tasks, and the ledger (台帐).

Department answers, questions and replies, chases, the requester's accept / re-check and cancel are acts;
joint-review decisions go through the generic task route (POST /api/tasks/{task_id}/decision).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict
from sqlmodel import col

from api.acts import StaffActing, act_bodies, act_fields, body_union
from api.deps import Reader, SessionDep
from api.errors import QuietValidationRoute
from api.resource_checks.service import load_row, perform
from api.resource_checks.tmf645 import rows_to_tmf, to_tmf
from api.schemas import Offset, Page, TaskView
from api.tasks.routes import tasks_of
from core.resource_checks import CheckAct, Feasibility
from db.models import ResourceCheckLedger
from db.readmodel import page_of
from db.reservations import current_states, with_current_reservations

router = APIRouter(prefix="/api/resource-checks", tags=["resource checks"], route_class=QuietValidationRoute)

BODIES = act_bodies(CheckAct)
if TYPE_CHECKING:  # the union is built at import time; to the type checker a body is a model
    ActBody = BaseModel
else:
    ActBody = body_union(BODIES)


class CheckDetail(BaseModel):
    """A check (its TMF645 representation, contact masked) and every human task it opened."""

    check: dict[str, Any]
    tasks: list[TaskView]


class LedgerView(BaseModel):
    """One ledger row: customer, items with each round's result, reservations, dates, timeliness."""

    model_config = ConfigDict(from_attributes=True)

    check_id: str
    customer_id: str
    customer_name: str
    outcome: str
    qualification_result: str | None
    feasibility: str | None  # feasible | feasible_after_construction | not_feasible
    construction: list[Any]  # what must be built per item and department, its estimate and ready date
    items: list[Any]
    reservations: list[Any]  # as they stand now (claimed by an order, released, expired)
    requested_at: datetime
    reported_at: datetime | None
    finished_at: datetime
    rounds: int
    on_time: bool | None
    lines_total: int
    lines_on_time: int
    cancel_reason: str | None


@router.get("/ledger", response_model=Page[LedgerView], summary="The resource-check ledger (台帐)")
async def ledger(
    actor: Reader,
    session: SessionDep,
    customer_id: str | None = None,
    feasibility: Feasibility | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[LedgerView]:
    """Finished checks, newest first, optionally for one customer or of one of the three results."""
    where = [col(ResourceCheckLedger.customer_id) == customer_id] if customer_id else []
    if feasibility:
        where.append(col(ResourceCheckLedger.feasibility) == feasibility.value)
    total, rows = await page_of(
        session, ResourceCheckLedger, where, col(ResourceCheckLedger.finished_at).desc(), offset=offset, limit=limit
    )
    states = await current_states(session, (r["reservation_id"] for row in rows for r in row.reservations))
    views = [
        LedgerView.model_validate(row).model_copy(
            update={
                "reservations": [
                    states[r["reservation_id"]].model_dump(mode="json") if r["reservation_id"] in states else r
                    for r in row.reservations
                ]
            }
        )
        for row in rows
    ]
    return Page(items=views, total=total, offset=offset, limit=limit)


@router.get("/{check_id}", response_model=CheckDetail, summary="A resource check with its tasks")
async def get_check(check_id: str, actor: Reader, session: SessionDep) -> CheckDetail:
    """The check and its tasks (department answers, joint reviews, the requester's) from the read models."""
    row = await load_row(session, check_id)
    [check] = await rows_to_tmf(session, [row])
    return CheckDetail(check=check, tasks=await tasks_of(session, check_id))


@router.post("/{check_id}/acts", summary="Act on a check: answer, ask, reply, chase, accept, recheck, cancel")
async def act_on_check(
    check_id: str,
    body: Annotated[ActBody, Body()],
    acting: StaffActing,
) -> dict[str, Any]:
    """Deliver the act to the check's workflow; a refusal (403/404/409/422) changes nothing and is journaled."""
    row = await load_row(acting.session, check_id)
    check = await perform(acting, row, act_fields(body))
    [current] = await with_current_reservations(acting.session, [check])
    return to_tmf(current, last_update=row.updated_at)
