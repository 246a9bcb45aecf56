"""Pre-sales demands (DOMAIN.md §4): raise one, and see it with its tasks. Decisions go through /api/tasks.

The group-customer department raises demands (a coordinator then refines them through the `refine` task);
the response center (coordinators, supervisors, admins) may raise one already refined.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.acts import IdempotencyKey, Subject, start_journaled
from api.deps import GatewayDep, Reader, SessionDep, require_roles
from api.errors import QuietValidationRoute
from api.schemas import TaskView
from api.tasks.routes import tasks_of
from core.bounds import AwareInstant
from core.circuits import CircuitTypeName
from core.contacts import masked_contact
from core.numbers import random_number
from core.presales import RAISING_DEPARTMENTS, Demand, DemandInput, DemandStatus, raised_by_center
from core.provisioning import ORDER_ROLES, CircuitEnd
from core.resource_checks import CheckItem
from core.roles import Actor
from db.models import PresalesDemandRow, utcnow
from db.presales import upsert_demand
from workflows.common import BUSINESS_REF, ORDER_KIND

router = APIRouter(prefix="/api/presales-demands", tags=["pre-sales demands"], route_class=QuietValidationRoute)
CREATE_ACTION = "demand.create"
Raiser = Annotated[Actor, Depends(require_roles(*ORDER_ROLES, departments=RAISING_DEPARTMENTS))]


class DemandItem(CheckItem):
    """One item to check; its circuit type in the one vocabulary (core.circuits), aliases accepted."""

    circuit_type: CircuitTypeName | None = None


class DemandBody(BaseModel):
    """A customer's access demand: as the department raised it (a coordinator refines it) or as the center did."""

    customer_id: str = Field(min_length=1, max_length=64)
    customer_name: str = Field(min_length=1, max_length=200)
    contact: str | None = Field(default=None, max_length=200, description="stored whole, always shown masked")
    description: str = Field(min_length=1, max_length=4000)
    items: list[DemandItem] = Field(min_length=1, description="what the resource check verifies")
    circuit_type: CircuitTypeName
    a_end: CircuitEnd
    z_end: CircuitEnd
    bandwidth: str = Field(min_length=1, max_length=32)
    requested_completion: AwareInstant
    complex: bool = False


class DemandView(BaseModel):
    """A demand (contact masked) and every task it opened."""

    demand: dict[str, Any]
    tasks: list[TaskView]


def _view(demand: Demand) -> dict[str, Any]:
    data = demand.model_dump(mode="json")
    data["request"]["contact"] = masked_contact(demand.request.contact)
    if demand.raised is not None:
        data["raised"]["contact"] = masked_contact(demand.raised.contact)
    return data


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DemandView, summary="Raise a pre-sales demand")
async def start_demand(
    body: DemandBody,
    actor: Raiser,
    session: SessionDep,
    gateway: GatewayDep,
    request_id: IdempotencyKey = None,
) -> DemandView:
    """Start the demand's workflow: refinement (when the department raised it), product fit; then the check and the
    order as child workflows."""
    fresh_key = request_id is None  # no Idempotency-Key: the id made here is new
    request_id = request_id or str(uuid4())
    now = utcnow()
    if body.requested_completion <= now:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "requested_completion: must be in the future")
    demand_id = random_number("PS", now)
    start = DemandInput(
        demand_id=demand_id,
        created_by=actor,
        request_id=request_id,
        **{**body.model_dump(), "items": tuple(CheckItem(**item.model_dump(mode="json")) for item in body.items)},
    )
    first = DemandStatus.PRODUCT_FIT if raised_by_center(actor) else DemandStatus.REFINING
    demand = Demand(
        demand_id=demand_id, workflow_id=f"presales-{demand_id}", request=start, status=first, created_at=now
    )
    known = await start_journaled(
        session=session,
        gateway=gateway,
        actor=actor,
        request_id=request_id,
        action=CREATE_ACTION,
        subject=Subject(type="presales_demand", id=demand_id, workflow_id=demand.workflow_id),
        workflow="PreSalesDemand",
        arg=start,
        write_row=lambda: upsert_demand(session, demand),
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(ORDER_KIND, "presales"), SearchAttributePair(BUSINESS_REF, demand_id)]
        ),
        fresh_key=fresh_key,
    )
    if known is not None:
        return await get_demand(known, actor, session)
    return DemandView(demand=_view(demand), tasks=[])


@router.get("/{demand_id}", response_model=DemandView, summary="A demand with its tasks")
async def get_demand(demand_id: str, actor: Reader, session: SessionDep) -> DemandView:
    """The demand (stages, check summary, solution, order id or end reason) and its tasks."""
    row = await session.get(PresalesDemandRow, demand_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"pre-sales demand {demand_id} does not exist")
    return DemandView(demand=_view(Demand.model_validate(row.detail)), tasks=await tasks_of(session, demand_id))
