"""Pre-sales demands (DOMAIN.md §4): start one, and see it with its tasks. Decisions go through /api/tasks."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.acts import IdempotencyKey, Subject, start_journaled
from api.deps import GatewayDep, Reader, SessionDep
from api.errors import QuietValidationRoute
from api.provisioning.tmf641 import Orderer
from api.schemas import TaskView
from api.tasks.routes import tasks_of
from core.bounds import AwareInstant
from core.circuits import CircuitTypeName
from core.contacts import masked_contact
from core.numbers import random_number
from core.presales import Demand, DemandInput
from core.provisioning import CircuitEnd
from core.resource_checks import CheckItem
from db.models import PresalesDemandRow, utcnow
from db.presales import upsert_demand
from workflows.common import BUSINESS_REF, ORDER_KIND

router = APIRouter(prefix="/api/presales-demands", tags=["pre-sales demands"], route_class=QuietValidationRoute)
CREATE_ACTION = "demand.create"


class DemandItem(CheckItem):
    """One item to check; its circuit type in the one vocabulary (core.circuits), aliases accepted."""

    circuit_type: CircuitTypeName | None = None


class DemandBody(BaseModel):
    """A customer's access demand as the response center refined it."""

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
    return data


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DemandView, summary="Start a pre-sales demand")
async def start_demand(
    body: DemandBody,
    actor: Orderer,
    session: SessionDep,
    gateway: GatewayDep,
    request_id: IdempotencyKey = None,
) -> DemandView:
    """Start the demand's workflow: product fit first; the check and the order follow as child workflows."""
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
    demand = Demand(demand_id=demand_id, workflow_id=f"presales-{demand_id}", request=start, created_at=now)
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
