"""Arbitration of cross-department disagreements that stall work (DOMAIN.md §7, seed 004 §6): pure rules.

Anyone party to a stalled step (a member of one of the disagreeing departments) or the center (a supervisor or a
coordinator) asks for arbitration on the stalled task of any ticket or order, naming the parties and their
positions and what is stalled. The arbiter named for the subject type in the versioned assignment rules (the
`arbitration` section; the office — supervisors — by default) decides which department takes the step, with
the reasons. The decision binds the workflow: the stalled task (and the step or assignment behind it) moves to
that department.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.roles import Actor, Role
from core.tasks import Candidates, HumanTask, RefusalCode, TaskRefused, TaskStatus

ARBITRATION_KIND = "arbitration"
DECIDE = "decide"
REQUEST_ROLES = (Role.SUPERVISOR, Role.COORDINATOR)  # the center may always ask; parties' staff too


class Arbiter(BaseModel):
    """Who decides: a department (its staff) or the holders of a role."""

    model_config = ConfigDict(frozen=True)

    title: str = Field(min_length=1, max_length=200)
    department: str | None = Field(default=None, max_length=64)
    role: Role | None = None

    @model_validator(mode="after")
    def _someone(self) -> Arbiter:
        if not self.department and self.role is None:
            raise ValueError("an arbiter names a department or a role")
        return self

    @property
    def candidates(self) -> Candidates:
        """The arbitration task's candidates."""
        return Candidates(department=self.department, roles=(self.role,) if self.role else ())


class ArbitrationRules(BaseModel):
    """The arbiter per subject type (audit subject types: ticket, resource_check, service_order, …)."""

    model_config = ConfigDict(frozen=True)

    default: Arbiter = Arbiter(title="the office (服务主管 supervisors)", role=Role.SUPERVISOR)
    by_subject: dict[str, Arbiter] = Field(default_factory=dict)

    def arbiter_for(self, subject_type: str) -> Arbiter:
        """The arbiter the rules name for this subject type."""
        return self.by_subject.get(subject_type, self.default)


class Party(BaseModel):
    """One side of the disagreement: a department and its position."""

    model_config = ConfigDict(frozen=True)

    department: str = Field(min_length=1, max_length=64)
    position: str = Field(min_length=1, max_length=2000)


class ArbitrationRequest(BaseModel):
    """Ask for arbitration on a stalled task (the payload of the `request_arbitration` update)."""

    model_config = ConfigDict(frozen=True)

    request_id: str = Field(min_length=1, max_length=128)
    actor: Actor
    task_id: str = Field(min_length=1, max_length=200)
    parties: tuple[Party, ...] = Field(min_length=2, max_length=8)
    stalled: str = Field(min_length=1, max_length=2000, description="what is stalled and why")


class Arbitration(BaseModel):
    """An arbitration as the workflow holds it: the request, the arbiter, and once decided the decision."""

    arbitration_id: str  # the arbitration task's id
    stalled_task_id: str
    stalled_kind: str
    parties: tuple[Party, ...]
    stalled: str
    requested_by: str
    requested_at: datetime
    arbiter: Arbiter
    rules_version: int | None = None
    decided_department: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    bound: bool = False  # the stalled task moved to the decided department


def check_request(task: HumanTask | None, request: ArbitrationRequest, pending: list[Arbitration]) -> None:
    """Refuse a request on an unknown or closed task, with fewer than two departments, from an outsider, or twice."""
    if task is None:
        raise TaskRefused(RefusalCode.NOT_FOUND, f"task_id: {request.task_id} is not a task of this workflow")
    if task.status != TaskStatus.OPEN:
        raise TaskRefused(RefusalCode.CONFLICT, f"task_id: {task.task_id} is already {task.status.value}")
    if task.kind == ARBITRATION_KIND:
        raise TaskRefused(RefusalCode.INVALID, "task_id: an arbitration is not itself arbitrated")
    departments = [p.department for p in request.parties]
    if len(set(departments)) < 2:
        raise TaskRefused(RefusalCode.INVALID, "parties: name at least two different departments")
    actor = request.actor
    if not (actor.has_role(*REQUEST_ROLES) or any(actor.in_department(d) for d in departments)):
        raise TaskRefused(RefusalCode.FORBIDDEN, "arbitration: asked by a party's staff, a supervisor or a coordinator")
    if any(a.stalled_task_id == task.task_id and a.decided_at is None for a in pending):
        raise TaskRefused(RefusalCode.CONFLICT, f"task_id: {task.task_id} is already waiting for arbitration")


def check_decision(arbitration: Arbitration, data: dict[str, object]) -> str:
    """The department the decision names, which must be one of the parties."""
    department = data.get("department")
    parties = [p.department for p in arbitration.parties]
    if not isinstance(department, str) or department not in parties:
        raise TaskRefused(
            RefusalCode.INVALID, f"department: name the department that takes the step ({', '.join(parties)})"
        )
    return department
