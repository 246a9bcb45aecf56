"""The resource-check board (coordinators, departments): items by department with status and due time, chasing,
the Q&A thread per item, the department's answer, consolidation and result, joint review, reservations, rounds.

A new check goes through the TMF645 create (api/resource_checks/tmf645.create_check); every act through the API's
`perform` (api/resource_checks/service.py); a joint-review decision through the task decision of api/tasks. Which
forms a person sees is asked of the rules themselves (core.resource_checks.check_act), never decided here.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse
from pydantic import TypeAdapter, ValidationError
from sqlmodel import col
from starlette.datastructures import FormData

from api.console.errors import ConsoleRoute, split_errors
from api.console.pages import _acting, _gate, status_listing
from api.console.rendering import form_page, render
from api.console.session import ConsoleUser, SignedIn
from api.deps import STAFF_ROLES, DbDep, GatewayDep, SessionDep
from api.errors import field_errors
from api.resource_checks import tmf645
from api.resource_checks.service import check_of, load_row, perform
from api.tasks import routes as tasks
from core.circuits import CircuitType
from core.contacts import masked_contact
from core.resource_checks import (
    FINISHED,
    CheckAct,
    CheckStatus,
    Qualification,
    ResourceCheck,
    Round,
    check_act,
)
from core.roles import Actor, Role
from core.tasks import RefusalCode, TaskRefused
from db.models import ResourceCheckRow, utcnow
from db.reservations import with_current_reservations

router = APIRouter(prefix="/console/resource-checks", route_class=ConsoleRoute, include_in_schema=False)

BOARD_ROLES = (Role.COORDINATOR, Role.DEPARTMENT, Role.SUPERVISOR, Role.AUDITOR)
REQUESTERS = (Role.COORDINATOR, Role.DEPARTMENT, Role.SUPERVISOR)  # the TMF645 create's own gate
_ACTS: TypeAdapter[Any] = TypeAdapter(CheckAct)

# The new-check form, in order: (name, kind, choices). One item per check from the console.
CHECK_FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("customer_id", "text", ()),
    ("customer_name", "text", ()),
    ("contact", "text", ()),
    ("description", "textarea", ()),
    ("sites", "textarea", ()),
    ("service_type", "text", ()),
    ("circuit_type", "select", tuple(c.value for c in CircuitType)),
    ("bandwidth", "text", ()),
    ("wanted_date", "date", ()),
)
# Where the TMF645 create names each form field (most specific first): its refusals come back at the field.
_TMF_FIELDS = (
    ("relatedParty.0.id", "customer_id"),
    ("relatedParty.0.name", "customer_name"),
    ("relatedParty", "customer_name"),
    ("expectedServiceAvailabilityDate", "wanted_date"),
    ("circuitType", "circuit_type"),
    ("bandwidth", "bandwidth"),
    ("serviceType", "service_type"),
    ("service.place", "sites"),
    ("contact", "contact"),
    ("description", "description"),
)
# The department's answer form and the other line and check acts: (name, kind, choices).
ACT_FIELDS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "answer": (
        ("result", "select", tuple(q.value for q in Qualification)),
        ("proposal", "textarea", ()),
        ("reasons", "textarea", ()),
        ("resources", "textarea", ()),
        ("new_construction", "checkbox", ()),
        ("construction", "text", ()),
        ("construction_days", "text", ()),
        ("needs_procurement", "checkbox", ()),
    ),
    "ask": (("text", "textarea", ()),),
    "reply": (("text", "textarea", ()),),
    "chase": (("note", "text", ()),),
    "escalate": (("note", "text", ()),),
    "accept": (),
    "recheck": (("reason", "textarea", ()),),
    "cancel": (("reason", "textarea", ()),),
}
LINE_ACTS = ("answer", "ask", "reply", "chase", "escalate")
CHECK_ACTS = ("accept", "recheck", "cancel")
_SAMPLES: dict[str, dict[str, Any]] = {  # a well-formed act of each type, to ask the rules who may do it now
    "answer": {"result": "qualified"},
    "ask": {"text": "-"},
    "reply": {"text": "-"},
    "chase": {},
    "escalate": {},
    "accept": {},
    "recheck": {"reason": "-"},
    "cancel": {"reason": "-"},
}


def may(check: ResourceCheck, actor: Actor, act: str, now: datetime, **line: str) -> bool:
    """Whether the rules let this actor do `act` now (a refusal of the sample's values alone still admits it)."""
    try:
        message = _ACTS.validate_python({"type": act, **_SAMPLES[act], **line, "request_id": "probe", "actor": actor})
        check_act(check, message, now)
    except TaskRefused as refusal:
        return refusal.code == RefusalCode.INVALID
    except ValidationError:
        return False
    return True


def _line_state(line: Any, now: datetime) -> str:
    """answered, escalated, late or waiting: what the board's cell shows of a department's line."""
    if line.cancelled:
        return "cancelled"
    if line.answer is not None:
        return "answered"
    if line.escalated:
        return "escalated"
    return "late" if line.due_at is not None and line.due_at < now else "waiting"


def board(check: ResourceCheck, actor: Actor, now: datetime) -> dict[str, Any]:
    """The current round as a grid of items × departments, each cell with its line and the acts open to me."""
    current = check.round
    if current is None:
        return {"departments": [], "rows": []}
    departments = list(dict.fromkeys(line.department for line in current.lines))
    rows = []
    for item in current.items:
        cells: list[dict[str, Any] | None] = []
        for department in departments:
            line = current.line(item.item_id, department)
            if line is None:
                cells.append(None)
                continue
            key = {"item_id": item.item_id, "department": department}
            acts = [a for a in LINE_ACTS if may(check, actor, a, now, **key)]
            cells.append(
                {"line": line, "state": _line_state(line, now), "acts": acts, "key": f"{item.item_id}-{department}"}
            )
        rows.append({"item": item, "cells": cells, "result": current.item_results.get(item.item_id)})
    return {"departments": departments, "rows": rows}


def round_column(rnd: Round) -> dict[str, Any]:
    """One round as the side-by-side view shows it: its requirements, result per item, changes and the decision."""
    return {
        "round": rnd,
        "requirements": [
            {
                "item": item,
                "result": rnd.item_results.get(item.item_id),
                "feasibility": rnd.item_feasibility(item.item_id),
            }
            for item in rnd.items
        ],
        "answered": sum(1 for line in rnd.lines if line.answer),
        "lines": len(rnd.lines),
    }


def _masked(check: ResourceCheck) -> ResourceCheck:
    """The check as the console shows it: the contact masked."""
    request = check.request.model_copy(update={"contact": masked_contact(check.request.contact)})
    return check.model_copy(update={"request": request})


async def _check_page(
    request: Request,
    user: ConsoleUser,
    session: SessionDep,
    check_id: str,
    *,
    open_form: str | None = None,
    values: Any = None,
    errors: dict[str, str] | None = None,
    refusal: str | None = None,
    status_code: int = 200,
) -> Response:
    row = await load_row(session, check_id)
    [check] = await with_current_reservations(session, [check_of(row)])
    now = utcnow()
    reviews = await tasks.inbox_page(
        actor=user.actor,
        session=session,
        scope="candidate",
        task_status="open",
        overdue=None,
        kind="rc_review",
        workflow_id=None,
        business_ref=check_id,
        offset=0,
        limit=20,
    )
    current = check.round
    return render(
        request,
        "resource_check.html",
        {
            "user": user,
            "check": _masked(check),
            "current": current,
            "board": board(check, user.actor, now),
            "rounds": [round_column(r) for r in check.rounds],
            "check_acts": [a for a in CHECK_ACTS if may(check, user.actor, a, now)],
            "my_reviews": {t.task_id for t in reviews.items},
            "act_fields": ACT_FIELDS,
            "open_form": open_form,
            "values": values or {},
            "errors": errors or {},
            "refusal": refusal,
            "done": request.query_params.get("done"),
            "finished": check.status in FINISHED,
        },
        status_code=status_code,
    )


# ---- the list and a new check -------------------------------------------------------------------------------


@router.get("")
async def check_list(request: Request, user: SignedIn, session: SessionDep, db: DbDep, offset: int = 0) -> Response:
    """Resource checks, newest first, optionally of one status."""
    await _gate(request, user, db, *BOARD_ROLES)
    listing = await status_listing(
        request,
        session,
        ResourceCheckRow,
        CheckStatus,
        offset,
        col(ResourceCheckRow.created_at).desc(),
        col(ResourceCheckRow.check_id).desc(),
    )
    return render(
        request,
        "resource_checks.html",
        {
            "user": user,
            **listing,
            "may_request": user.actor.has_role(*REQUESTERS),
        },
    )


@router.get("/new")
async def new_check(request: Request, user: SignedIn, db: DbDep) -> Response:
    """The request form of a check with one item."""
    await _gate(request, user, db, *REQUESTERS)
    return form_page(request, "resource_check_new.html", {"user": user}, CHECK_FIELDS)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def tmf_create(form: FormData) -> dict[str, Any]:
    """The TMF645 create body the form fills in (empty fields left out: the API names what is missing)."""
    characteristics = [
        {"name": name, "value": value}
        for name, value in (("circuitType", _text(form, "circuit_type")), ("bandwidth", _text(form, "bandwidth")))
        if value
    ]
    item: dict[str, Any] = {
        "id": "1",
        "service": {
            "serviceType": _text(form, "service_type"),
            "place": [
                {"name": site.strip(), "role": "site"} for site in _text(form, "sites").splitlines() if site.strip()
            ],
            "serviceCharacteristic": characteristics,
        },
    }
    if wanted := _text(form, "wanted_date"):
        item["expectedServiceAvailabilityDate"] = wanted
    party = {"id": _text(form, "customer_id"), "name": _text(form, "customer_name") or None, "role": "customer"}
    body: dict[str, Any] = {
        "description": _text(form, "description"),
        "relatedParty": [party],
        "serviceQualificationItem": [item],
    }
    if contact := _text(form, "contact"):
        body["contact"] = contact
    return body


_PART = re.compile(r"^([^:]+): (.+)$")


def create_errors(detail: str) -> tuple[dict[str, str], list[str]]:
    """The TMF645 create's refusal ('path: why; …') at the form's fields; what names no field stays general."""
    at_field: dict[str, str] = {}
    general: list[str] = []
    for part in detail.split("; "):
        match = _PART.match(part)
        path = re.sub(r"\[(\d+)\]", r".\1", match.group(1)) if match else ""
        if match and path.endswith("serviceCharacteristic"):  # '…serviceCharacteristic: bandwidth is required'
            path = f"{path}.{match.group(2).split()[0]}"
        field = next((name for suffix, name in _TMF_FIELDS if suffix in path), None) if match else None
        if match and field:
            at_field.setdefault(field, match.group(2))
        else:
            general.append(part)
    return at_field, general


@router.post("/new")
async def request_check(
    request: Request, user: SignedIn, session: SessionDep, gateway: GatewayDep, db: DbDep
) -> Response:
    """Request a check through the TMF645 create itself; its refusals shown at the fields."""
    actor = await _gate(request, user, db, *REQUESTERS)
    form = await request.form()
    sent = {name: form.get(name) for name, _, _ in CHECK_FIELDS}
    try:
        body = tmf645.CheckServiceQualificationCreate.model_validate(tmf_create(form))
        created = await tmf645.create_check(body, actor, session, gateway, Response(), request_id=None)
    except ValidationError as err:
        errors, general = create_errors(field_errors(err.errors()))
        return form_page(request, "resource_check_new.html", {"user": user}, CHECK_FIELDS, (sent, errors, general), 422)
    except HTTPException as refused:
        errors, general = create_errors(str(refused.detail))
        return form_page(
            request,
            "resource_check_new.html",
            {"user": user},
            CHECK_FIELDS,
            (sent, errors, general),
            refused.status_code,
        )
    return RedirectResponse(f"/console/resource-checks/{created.id}?done=requested", status_code=303)


# ---- the board and its acts ---------------------------------------------------------------------------------


@router.get("/{check_id}")
async def check_page(request: Request, check_id: str, user: SignedIn, session: SessionDep, db: DbDep) -> Response:
    """The board of one check: the current round's items by department, the result, reviews, reservations, rounds."""
    await _gate(request, user, db, *BOARD_ROLES)
    return await _check_page(request, user, session, check_id)


def _resources(text: str) -> dict[str, str] | str:
    """'name: value' per line as the answer's resources; a line without ':' is sent back as the field's error."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            return f"resources: write one 'name: value' per line ({line.strip()[:40]!r} has no name)"
        found[name.strip()] = value.strip()
    return found


def act_values(act: str, form: FormData) -> dict[str, Any] | str:
    """The act the form filled in, as the API's act body; a message instead when a field cannot be read."""
    values: dict[str, Any] = {"type": act}
    for name, kind, _ in ACT_FIELDS[act]:
        if kind == "checkbox":
            values[name] = form.get(name) in ("on", "true", "1")
            continue
        text = _text(form, name)
        if name == "resources":
            resources = _resources(text)
            if isinstance(resources, str):
                return resources
            values[name] = resources
        elif text or (kind == "textarea" and name in ("text", "reason")):
            values[name] = text
    if act in LINE_ACTS:
        values |= {"item_id": _text(form, "item_id"), "department": _text(form, "department")}
    if act == "recheck":
        values["changes"] = requirement_changes(form)
    return values


def requirement_changes(form: FormData) -> list[dict[str, str]]:
    """A re-check's changed requirements: the `change.<item>.bandwidth` / `.wanted_date` fields filled in."""
    changes: dict[str, dict[str, str]] = {}
    for key, value in form.multi_items():
        parts = key.split(".")
        wanted = len(parts) == 3 and parts[0] == "change" and parts[2] in ("bandwidth", "wanted_date")
        if wanted and isinstance(value, str) and value.strip():
            changes.setdefault(parts[1], {"item_id": parts[1]})[parts[2]] = value.strip()
    return list(changes.values())


@router.post("/{check_id}/acts/{act}")
async def act_on_check(
    request: Request, check_id: str, act: str, user: SignedIn, session: SessionDep, gateway: GatewayDep, db: DbDep
) -> Response:
    """Deliver one act through the API's `perform`; a refusal re-shows the board with the form and the rule."""
    if act not in ACT_FIELDS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"act {act}: no such act")
    await _gate(request, user, db, *STAFF_ROLES)
    row = await load_row(session, check_id)
    form = await request.form()
    key = f"{_text(form, 'item_id')}-{_text(form, 'department')}" if act in LINE_ACTS else ""
    names = {name for name, _, _ in ACT_FIELDS[act]}
    values = act_values(act, form)
    try:
        if isinstance(values, str):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, values)
        await perform(_acting(user, session, gateway, db), row, values)
    except HTTPException as refused:
        errors, general = split_errors(str(refused.detail), names)
        return await _check_page(
            request,
            user,
            session,
            check_id,
            open_form=f"{act}:{key}",
            values={k: form.get(k) for k in form},
            errors=errors,
            refusal="; ".join(general) or None,
            status_code=refused.status_code,
        )
    return RedirectResponse(f"/console/resource-checks/{check_id}?done={act}", status_code=303)


@router.post("/{check_id}/reviews/{task_id}")
async def review_check(
    request: Request, check_id: str, task_id: str, user: SignedIn, session: SessionDep, gateway: GatewayDep, db: DbDep
) -> Response:
    """A department head's joint-review decision, through the API's task decision (four-eyes judged there)."""
    await _gate(request, user, db, *STAFF_ROLES)
    await load_row(session, check_id)
    form = await request.form()
    try:
        body = tasks.DecisionBody(outcome=_text(form, "outcome"), comment=_text(form, "comment") or None)
        await tasks.decide(task_id, body, _acting(user, session, gateway, db))
    except ValidationError as err:
        return await _check_page(request, user, session, check_id, refusal=field_errors(err.errors()), status_code=422)
    except HTTPException as refused:
        return await _check_page(
            request, user, session, check_id, refusal=str(refused.detail), status_code=refused.status_code
        )
    return RedirectResponse(f"/console/resource-checks/{check_id}?done={_text(form, 'outcome')}", status_code=303)
