"""TMF645 Service Qualification API v4: create, get and list resource checks (`checkServiceQualification`).

Every error answers a TMF Error body naming the field or rule. The mapping between the TMF resource and our
check, with the extension names, is documented in api/tmf645.py; the people's acts use /api/resource-checks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status

from api.acts import IdempotencyKey
from api.deps import GatewayDep, Reader, SessionDep, require_roles
from api.resource_checking import check_of, load_row, register
from api.tmf import TmfRoute, project
from api.tmf645 import SQ_PATH, CheckServiceQualificationCreate, href, request_of, to_tmf
from core.resource_checks import CheckStatus, Qualification
from core.roles import Actor, Role
from db.resource_checks import find_checks

router = APIRouter(prefix=SQ_PATH, tags=["TMF645 service qualification"], route_class=TmfRoute)

Requester = Annotated[Actor, Depends(require_roles(Role.COORDINATOR, Role.DEPARTMENT, Role.SUPERVISOR))]
Fields = Annotated[str | None, Query(description="comma-separated attributes to return (id and href always)")]
TaskState = Literal["acknowledged", "inProgress", "done", "terminatedWithError"]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Request a resource check (checkServiceQualification)")
async def create_check(
    body: CheckServiceQualificationCreate,
    actor: Requester,
    session: SessionDep,
    gateway: GatewayDep,
    response: Response,
    request_id: IdempotencyKey = None,
) -> dict[str, Any]:
    """Register the check (the `id`) and start its workflow: the departments the rules name are asked at once."""
    check = await register(
        session=session, gateway=gateway, actor=actor, request=request_of(body), request_id=request_id
    )
    response.headers["Location"] = href(check.check_id)
    return to_tmf(check)


@router.get("", summary="List resource checks")
async def list_checks(
    actor: Reader,
    session: SessionDep,
    response: Response,
    fields: Fields = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    state: TaskState | None = None,
    check_status: Annotated[CheckStatus | None, Query(alias="checkStatus", description="our status")] = None,
    qualification_result: Annotated[Qualification | None, Query(alias="qualificationResult")] = None,
    customer_id: Annotated[str | None, Query(alias="relatedParty.id", description="the customer's id")] = None,
    external_id: Annotated[str | None, Query(alias="externalId")] = None,
    created_from: Annotated[datetime | None, Query(alias="checkServiceQualificationDate.gte")] = None,
    created_until: Annotated[datetime | None, Query(alias="checkServiceQualificationDate.lte")] = None,
) -> list[dict[str, Any]]:
    """Checks newest first from the read model; X-Total-Count and X-Result-Count headers."""
    total, rows = await find_checks(
        session,
        offset=offset,
        limit=limit,
        created_from=created_from,
        created_until=created_until,
        tmf_state=state,
        status=check_status,
        qualification_result=qualification_result,
        customer_id=customer_id,
        external_id=external_id,
    )
    response.headers["X-Total-Count"], response.headers["X-Result-Count"] = str(total), str(len(rows))
    return [project(to_tmf(check_of(row), last_update=row.updated_at), fields) for row in rows]


@router.get("/{id}", summary="One resource check")
async def get_check(id: str, actor: Reader, session: SessionDep, fields: Fields = None) -> dict[str, Any]:
    """The check by id (404 when unknown)."""
    row = await load_row(session, id)
    return project(to_tmf(check_of(row), last_update=row.updated_at), fields)
