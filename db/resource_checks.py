"""The resource-check read model and ledger (台帐)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.resource_checks import TMF_STATE, CheckNeeds, CheckStatus, Feasibility, ResourceCheck, check_needs
from db.models import ResourceCheckLedger, ResourceCheckRow, utcnow
from db.readmodel import upsert_newer


def check_row_values(check: ResourceCheck) -> dict[str, Any]:
    """Read-model columns for a check state."""
    request, current = check.request, check.round
    return dict(
        check_id=check.check_id,
        workflow_id=check.workflow_id,
        status=check.status.value,
        tmf_state=TMF_STATE[check.status],
        qualification_result=check.tmf_result.value if check.tmf_result else None,
        feasibility=check.feasibility.value if check.feasibility else None,
        customer_id=request.customer_id,
        customer_name=request.customer_name,
        contact=request.contact,
        external_id=request.external_id,
        created_by=check.created_by,
        created_at=check.created_at,
        due_at=current.due_at if current else None,
        finished_at=check.finished_at,
        on_time=check.on_time,
        rounds=len(check.rounds),
        revision=check.revision,
        detail=check.model_dump(mode="json"),
        updated_at=utcnow(),
    )


def ledger_values(check: ResourceCheck) -> dict[str, Any]:
    """The ledger row of a finished check: every round's item results and every reservation, with timeliness;
    the result as one of the three (feasible, feasible after construction, not feasible) and what must be built."""
    lines = [line for rnd in check.rounds for line in rnd.lines if line.answer is not None]
    items = [
        {
            **item.model_dump(mode="json"),
            "results": [rnd.item_results.get(item.item_id) for rnd in check.rounds],
            "feasibility": [rnd.item_feasibility(item.item_id) for rnd in check.rounds],
        }
        for item in check.items
    ]
    needs = check_needs(check)
    reported = [rnd.reported_at for rnd in check.rounds if rnd.reported_at]
    return dict(
        check_id=check.check_id,
        customer_id=check.request.customer_id,
        customer_name=check.request.customer_name,
        outcome="cancelled" if check.status == CheckStatus.CANCELLED else "accepted",
        qualification_result=check.tmf_result.value if check.tmf_result else None,
        feasibility=check.feasibility.value if check.feasibility else None,
        construction=[need.model_dump(mode="json") for need in needs.construction],
        items=items,
        reservations=[r.model_dump(mode="json") for rnd in check.rounds for r in rnd.reservations],
        requested_at=check.created_at,
        reported_at=reported[-1] if reported else None,
        finished_at=check.finished_at or utcnow(),
        rounds=len(check.rounds),
        on_time=check.on_time,
        lines_total=len(lines),
        lines_on_time=sum(1 for line in lines if line.on_time),
        cancel_reason=check.cancel_reason,
        revision=check.revision,
        updated_at=utcnow(),
    )


async def upsert_check(session: AsyncSession, check: ResourceCheck, *, ledger: bool = False) -> None:
    """Write the check's state (and its ledger row) unless a newer revision is stored (the caller commits)."""
    await upsert_newer(session, ResourceCheckRow, "check_id", check_row_values(check))
    if ledger:
        await upsert_newer(session, ResourceCheckLedger, "check_id", ledger_values(check))


async def load_check_needs(session: AsyncSession, check_id: str, item_id: str | None = None) -> CheckNeeds | None:
    """What a check's answers ask an order to do first (construction, procurement), from its read model; None when
    the check is unknown. The one place orders read a check's construction and procurement answers."""
    row = await session.get(ResourceCheckRow, check_id)
    return check_needs(ResourceCheck.model_validate(row.detail), item_id) if row is not None else None


async def order_check_refusal(session: AsyncSession, check_id: str, customer_id: str | None) -> tuple[int, str] | None:
    """Why an order may not follow this check (HTTP status, message): unknown (400), another customer's (400),
    not accepted by its requester or found not feasible (409). None when it may."""
    row = await session.get(ResourceCheckRow, check_id)
    if row is None:
        return 400, f"resource check {check_id} does not exist"
    check = ResourceCheck.model_validate(row.detail)
    if customer_id and check.request.customer_id != customer_id:
        return 400, f"resource check {check_id} is another customer's"
    if check.status != CheckStatus.ACCEPTED:
        return 409, f"resource check {check_id} is {check.status.value}, not accepted"
    if check.feasibility == Feasibility.NOT_FEASIBLE:
        return 409, f"resource check {check_id} found the service not feasible"
    return None
