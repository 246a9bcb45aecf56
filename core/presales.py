"""Pre-sales demands (DOMAIN.md §4): product fit → resource check → solution (joint review when complex) →
contract signed → provisioning order. Any "no" ends the demand with its reason recorded.

Pure contracts shared by the `PreSalesDemand` workflow, its activities and the API.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.circuits import CircuitType
from core.provisioning import CircuitEnd
from core.records import AuditRecord, PolicyRef
from core.resource_checks import CheckItem, CheckStatus, Qualification, ResourceCheck
from core.roles import Actor

PRODUCT_SUPPORT = "product-support"  # decides whether existing products fit
CONTRACT_DEPARTMENT = "group-customer"  # signs the contract with the customer


class DemandStatus(StrEnum):
    """Where a demand stands."""

    PRODUCT_FIT = "product_fit"
    RESOURCE_CHECK = "resource_check"
    SOLUTION = "solution"
    JOINT_REVIEW = "joint_review"
    CONTRACT = "contract"
    ORDERED = "ordered"  # the provisioning order runs on its own
    ENDED = "ended"  # a "no" ended it


class DemandInput(BaseModel):
    """A customer's access demand as the response center refined it: what to check and the circuit to build."""

    model_config = ConfigDict(frozen=True)

    demand_id: str = Field(min_length=1, max_length=32)
    customer_id: str = Field(min_length=1, max_length=64)
    customer_name: str = Field(min_length=1, max_length=200)
    contact: str | None = Field(default=None, max_length=200, description="stored whole, always shown masked")
    description: str = Field(min_length=1, max_length=4000)
    items: tuple[CheckItem, ...] = Field(min_length=1, description="what the resource check verifies")
    circuit_type: CircuitType
    a_end: CircuitEnd
    z_end: CircuitEnd
    bandwidth: str = Field(min_length=1, max_length=32)
    requested_completion: datetime
    complex: bool = False  # the solution needs a joint review even if the check did not say so
    created_by: Actor
    request_id: str = Field(min_length=1, max_length=128)
    policy: PolicyRef = PolicyRef()


class Stage(BaseModel):
    """One stage passed (or failed): what was decided, by whom, when, and why."""

    stage: str
    outcome: str
    by: str
    at: datetime
    reason: str | None = None


class CheckSummary(BaseModel):
    """What the pre-sales flow needs from its resource check once the requester accepted (or it was cancelled)."""

    model_config = ConfigDict(frozen=True)

    check_id: str
    finished: bool
    status: CheckStatus
    result: Qualification | None = None
    reservation_ids: tuple[str, ...] = ()
    new_construction: bool = False
    needs_procurement: bool = False
    complex: bool = False
    departments: tuple[str, ...] = ()

    @classmethod
    def of(cls, check: ResourceCheck) -> CheckSummary:
        """Summarise a check's current round."""
        current = check.round
        lines = current.lines if current else []
        return cls(
            check_id=check.check_id,
            finished=check.status in (CheckStatus.ACCEPTED, CheckStatus.CANCELLED),
            status=check.status,
            result=check.result,
            reservation_ids=tuple(r.reservation_id for r in current.reservations) if current else (),
            new_construction=any(line.answer is not None and line.answer.new_construction for line in lines),
            needs_procurement=any(line.answer is not None and line.answer.needs_procurement for line in lines),
            complex=bool(current and current.complex),
            departments=tuple(dict.fromkeys(line.department for line in lines)),
        )


class Demand(BaseModel):
    """The demand as its workflow holds it (and as the read model shows it)."""

    demand_id: str
    workflow_id: str
    request: DemandInput
    status: DemandStatus = DemandStatus.PRODUCT_FIT
    created_at: datetime
    stages: list[Stage] = Field(default_factory=list)
    check_id: str | None = None
    check: CheckSummary | None = None
    solution: str | None = None
    solution_by: str | None = None
    order_id: str | None = None
    end_reason: str | None = None
    ended_at: datetime | None = None
    revision: int = 0


class DemandSave(BaseModel):
    """A demand state for the read model, with the audit row of the act that produced it."""

    model_config = ConfigDict(frozen=True)

    demand: Demand
    audit: AuditRecord | None = None


class DemandOutcome(BaseModel):
    """How a demand ended: ordered (with the order id) or ended with a reason."""

    demand_id: str
    status: Literal["ordered", "ended"]
    order_id: str | None = None
    reason: str | None = None
