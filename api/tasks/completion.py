"""How each inbox task is completed: by a decision (its outcomes), or by an act on its subject (route and fields).

A task opened with outcomes is decided at `POST /api/tasks/{id}/decision`; a task without outcomes is completed by
the act that fulfils it: a department's answer on a resource check, a step completion or the review of a
provisioning order, a ticket's accept, plan or resolve. The table below names that act once per task kind, with
the fields its body takes (from the act's own model, so the hint cannot drift from what the route accepts) and
the values to send as they are (`body`: the act's `type`, the item and department a check task is about).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from pydantic import BaseModel, Field

from core.incidents import decision_data as incident_decision_data
from core.presales import REFINE, DemandRefinement
from core.provisioning import REVIEW, CompleteStep, ReviewOrder
from core.reports import TASK_DATA as REPORT_TASK_DATA
from core.resource_checks import AcceptResult, Answer, Recheck
from core.tickets import Accept, AmendIntake, LogProgress, Resolve
from db.models import TaskFields

_SERVER_FILLED = ("request_id", "actor", "type")


class CompletingAct(BaseModel):
    """One request that completes the task: where to send it, what to send as is, and what to fill in."""

    method: str = "POST"
    path: str
    body: dict[str, Any] = Field(default_factory=dict, description="send these values as they are")
    required: list[str] = Field(default_factory=list, description="body fields to fill in")
    optional: list[str] = Field(default_factory=list, description="body fields that may be given")
    data_required: list[str] = Field(default_factory=list, description="a decision's `data` keys to fill in")
    data_optional: list[str] = Field(default_factory=list, description="a decision's `data` keys that may be given")
    note: str | None = None


class TaskCompletion(BaseModel):
    """How the task is completed: `decision` (one of `outcomes`) or `act` (one of `acts` on its subject)."""

    by: str = Field(description="decision or act")
    outcomes: list[str] = Field(default_factory=list)
    acts: list[CompletingAct]


def _fields(act: type[BaseModel], *, given: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """(required, optional) body fields of an act, leaving out what the server or the hint fills in."""
    required, optional = _field_names(act, given)
    return list(required), list(optional)


@cache  # per act and given fields: every inbox row of a kind asks the same
def _field_names(act: type[BaseModel], given: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    skip = (*_SERVER_FILLED, *given)
    names = [(n, f.is_required()) for n, f in act.model_fields.items() if n not in skip]
    return tuple(n for n, req in names if req), tuple(n for n, req in names if not req)


def _act(path: str, act: type[BaseModel], *, body: dict[str, Any] | None = None, **extra: Any) -> CompletingAct:
    """The act as a request to `path`: its `type` (when it has one) and given values sent as they are."""
    sent = dict(body or {})
    if "type" in act.model_fields:
        sent = {"type": act.model_fields["type"].default, **sent}
    required, optional = _fields(act, given=tuple(sent))
    return CompletingAct(path=path, body=sent, required=required, optional=optional, **extra)


def _ticket(task: TaskFields) -> list[CompletingAct]:
    path = f"/api/tickets/{task.business_ref}/acts"
    match task.kind:
        case "complete_intake":
            return [_act(path, AmendIntake, note="or PATCH the TMF621 troubleTicket")]
        case "accept":
            return [_act(path, Accept)]
        case "plan":
            return [_act(path, LogProgress, body={"is_plan": True})]
        case "resolve":
            return [_act(path, Resolve)]
    return []


def _check(task: TaskFields) -> list[CompletingAct]:
    path = f"/api/resource-checks/{task.business_ref}/acts"
    match task.kind:
        case "rc_answer":
            # The subject reads "<check id>: item <item id>: …" (workflows/resource_checks.py opens it so).
            item = task.subject.removeprefix(f"{task.business_ref}: item ").split(":", 1)[0]
            return [_act(path, Answer, body={"item_id": item, "department": task.candidate_department})]
        case "rc_requester":
            return [_act(path, AcceptResult), _act(path, Recheck)]
    return []


def _order(task: TaskFields) -> list[CompletingAct]:
    # The order's act routes take the act's fields alone: the step rides in the path, the type in the route.
    path = f"/api/provisioning-orders/{task.business_ref}"
    if task.kind == REVIEW:
        required, optional = _fields(ReviewOrder)
        note = "return needs return_to and reason"
        return [CompletingAct(path=f"{path}/review", required=required, optional=optional, note=note)]
    required, optional = _fields(CompleteStep, given=("step",))
    note = "documents: base64 uploads {kind, filename, content_type, content_base64}; a completion order needs its"
    note += " completion_order and test_report"
    step = f"{path}/steps/{task.kind}/complete"
    return [CompletingAct(path=step, required=required, optional=optional, note=note)]


# Workflow id prefix → the acts that complete its tasks without outcomes.
_ACT_COMPLETED: dict[str, Callable[[TaskFields], list[CompletingAct]]] = {
    "ticket-": _ticket,
    "resource-check-": _check,
    "provisioning-": _order,
}
# The `data` some decisions take, by task kind: (required keys, optional keys). The refine decision carries the
# refinement (core.presales.DemandRefinement); the ticket's are checked by its workflow's check_decision_data.
_DECISION_DATA: dict[str, tuple[list[str], list[str]]] = {
    REFINE: ([], list(DemandRefinement.model_fields)),
    "coordinate": (["lead_department"], ["supporting_departments"]),
    "followup_assignment": (["assignee"], []),
    "rating_followup": ([], ["rating"]),
    **incident_decision_data(),
    **{kind: (list(keys), []) for kind, keys in REPORT_TASK_DATA.items()},
}


def completion_of(task: TaskFields) -> TaskCompletion:
    """How this task is completed, for its inbox row."""
    if task.outcomes:
        data_required, data_optional = _DECISION_DATA.get(task.kind, ([], []))
        decision = CompletingAct(
            path=f"/api/tasks/{task.task_id}/decision",
            required=["outcome"],
            optional=["comment", "data"],
            data_required=data_required,
            data_optional=data_optional,
        )
        return TaskCompletion(by="decision", outcomes=list(task.outcomes), acts=[decision])
    kind = next((how for prefix, how in _ACT_COMPLETED.items() if task.workflow_id.startswith(prefix)), None)
    return TaskCompletion(by="act", acts=kind(task) if kind else [])
