"""Provisioning orders (coordinator, HQ operations, departments, reviewer): the step plan as a Gantt chart (planned
vs actual, jeopardy and breach marked), step completion with documents, the review (approve or return to a named
step), milestones, the circuit ledger; and the pre-sales demands with their stage.

Completion and review go through the API's own route functions (api/provisioning/routes.py: documents hashed
and checked there, the acts judged by core.provisioning.check_act in the workflow); which forms a person sees is
asked of that same check_act.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import TypeAdapter, ValidationError
from sqlmodel import col
from starlette.datastructures import FormData, UploadFile

from api.console.board_words import say
from api.console.errors import ConsoleRoute, split_errors
from api.console.pages import BOARD_PAGE_SIZE, _acting, _gate, status_listing
from api.console.rendering import gettext_for, language_of, render
from api.console.session import ConsoleUser, SignedIn
from api.deps import STAFF_ROLES, DbDep, GatewayDep, SessionDep
from api.errors import field_errors
from api.provisioning import routes as orders
from api.provisioning.service import load_row, order_of
from core.presales import Demand, DemandStatus
from core.provisioning import (
    DISPATCH,
    REVIEW,
    STEP_DOCUMENTS,
    OrderAct,
    OrderStatus,
    ProvisioningOrder,
    Step,
    check_act,
)
from core.roles import Actor, Role
from core.tasks import RefusalCode, TaskRefused
from db.models import PresalesDemandRow, ServiceOrderRow, utcnow
from db.readmodel import page_of

router = APIRouter(prefix="/console/provisioning", route_class=ConsoleRoute, include_in_schema=False)

ORDER_ROLES = (Role.COORDINATOR, Role.DEPARTMENT, Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR)
_ACTS: TypeAdapter[Any] = TypeAdapter(OrderAct)
EXTRA_DOCUMENT = "attachment"  # the kind of a document uploaded beyond the step's required ones


def may(order: ProvisioningOrder, actor: Actor, act: dict[str, Any]) -> bool:
    """Whether the rules let this actor do the act now (a refusal of the sample's values alone still admits it)."""
    try:
        message = _ACTS.validate_python({**act, "request_id": "probe", "actor": actor})
        check_act(order, message)
    except TaskRefused as refusal:
        return refusal.code == RefusalCode.INVALID
    except ValidationError:
        return False
    return True


def step_state(step: Step, order: ProvisioningOrder, now: datetime) -> str:
    """done, breach (past its deadline, done late or not), jeopardy, in_progress or planned: its row's and bar's."""
    if step.done_at is not None and order.current != step.step:
        return "breach" if step.breached or step.on_time is False else "done"
    if step.breached or (order.current == step.step and step.due_at < now):
        return "breach"
    if step.jeopardy:
        return "jeopardy"
    return "in_progress" if order.current == step.step else "planned"


_COLOURS = {
    "done": "#2f9e44",
    "breach": "#d63939",
    "jeopardy": "#e8a317",
    "in_progress": "#0b5cad",
    "planned": "#adb5bd",
}


def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def gantt(order: ProvisioningOrder, now: datetime, translate: Any) -> dict[str, Any]:
    """The chart's data: per step a planned bar and (once opened) an actual bar, coloured by its state, and a line
    at now. Times in epoch milliseconds; the page's script draws them with ECharts' custom series."""
    steps = order.steps
    categories = [say(translate, "step", s.step) for s in steps]
    planned, actual = [], []
    for index, step in enumerate(steps):
        state = step_state(step, order, now)
        planned.append({"value": [index, _ms(step.planned_start), _ms(step.planned_due)], "state": state})
        if step.opened_at is not None:
            end = step.done_at if step.done_at is not None and order.current != step.step else now
            actual.append({"value": [index, _ms(step.opened_at), _ms(max(end, step.opened_at))], "state": state})
    return {
        "categories": categories,
        "planned": planned,
        "actual": actual,
        "colours": _COLOURS,
        "now": _ms(now),
        "labels": {"planned": translate("Planned"), "actual": translate("Actual"), "now": translate("Now")},
    }


async def _order_page(
    request: Request,
    user: ConsoleUser,
    session: SessionDep,
    order_id: str,
    *,
    open_form: str | None = None,
    values: Any = None,
    errors: dict[str, str] | None = None,
    refusal: str | None = None,
    status_code: int = 200,
) -> Response:
    row = await load_row(session, order_id)
    order = order_of(row)
    now = utcnow()
    current = order.step(order.current) if order.current and order.has_step(order.current) else None
    may_complete = bool(
        current and current.step != REVIEW and may(order, user.actor, {"type": "complete_step", "step": current.step})
    )
    may_review = may(order, user.actor, {"type": "review", "outcome": "approve"})
    ledger = await orders.circuit_ledger(user.actor, session, order_id=order_id, ledger_status=None, offset=0, limit=1)
    return render(
        request,
        "provisioning_order.html",
        {
            "user": user,
            "order": order,
            "row": row,
            "current": current,
            "states": {s.step: step_state(s, order, now) for s in order.steps},
            "chart": gantt(order, now, gettext_for(language_of(request))),
            "may_complete": may_complete,
            "required": STEP_DOCUMENTS.get(current.step, ()) if current else (),
            "may_review": may_review,
            "return_steps": [s.step for s in order.steps if s.step not in (DISPATCH, REVIEW)],
            "documents": await orders.order_documents(order_id, user.actor, session),
            "ledger": ledger[0] if ledger else None,
            "open_form": open_form,
            "values": values or {},
            "errors": errors or {},
            "refusal": refusal,
            "done": request.query_params.get("done"),
            "charts": True,
        },
        status_code=status_code,
    )


# ---- lists ----------------------------------------------------------------------------------------------------


@router.get("")
async def order_list(request: Request, user: SignedIn, session: SessionDep, db: DbDep, offset: int = 0) -> Response:
    """Provisioning orders newest first (optionally of one status), and the pre-sales demands with their stage."""
    await _gate(request, user, db, *ORDER_ROLES)
    listing = await status_listing(
        request,
        session,
        ServiceOrderRow,
        OrderStatus,
        offset,
        col(ServiceOrderRow.created_at).desc(),
        col(ServiceOrderRow.order_id).desc(),
    )
    _, demand_rows = await page_of(
        session, PresalesDemandRow, [], col(PresalesDemandRow.created_at).desc(), offset=0, limit=BOARD_PAGE_SIZE
    )
    demands = [Demand.model_validate(d.detail) for d in demand_rows]
    return render(
        request,
        "provisioning_orders.html",
        {
            "user": user,
            **listing,
            "demands": demands,
            "stages": [s.value for s in DemandStatus],
        },
    )


@router.get("/ledger")
async def ledger(request: Request, user: SignedIn, session: SessionDep, db: DbDep, offset: int = 0) -> Response:
    """The circuit ledger (台帐), newest order first, through the API's own listing."""
    actor = await _gate(request, user, db, *ORDER_ROLES)
    offset = max(0, min(offset, 1_000_000))
    rows = await orders.circuit_ledger(
        actor, session, order_id=None, ledger_status=None, offset=offset, limit=BOARD_PAGE_SIZE
    )
    return render(
        request, "circuit_ledger.html", {"user": user, "rows": rows, "offset": offset, "page_size": BOARD_PAGE_SIZE}
    )


# ---- one order and its acts ------------------------------------------------------------------------------------


@router.get("/{order_id}")
async def order_page(request: Request, order_id: str, user: SignedIn, session: SessionDep, db: DbDep) -> Response:
    """The order: the Gantt chart, the steps, what I may do now, reviews, milestones, alerts, the ledger row."""
    await _gate(request, user, db, *ORDER_ROLES)
    return await _order_page(request, user, session, order_id)


async def uploads(form: FormData) -> list[orders.Upload]:
    """The files the form sent, each under its kind (empty file inputs left out), as the API's uploads."""
    found: list[orders.Upload] = []
    for kind, value in form.multi_items():
        if not isinstance(value, UploadFile) or not value.filename:
            continue
        content = await value.read(orders.MAX_DOCUMENT_BYTES + 1)  # one byte over: the API says it is too large
        if not content:
            continue
        found.append(
            orders.Upload(
                kind=kind if kind != "document" else EXTRA_DOCUMENT,
                filename=value.filename[:255],
                content_type=(value.content_type or "application/octet-stream")[:100],
                content_base64=base64.b64encode(content).decode(),
            )
        )
    return found


def step_errors(detail: str) -> tuple[dict[str, str], list[str]]:
    """A completion's refusal at the form's fields: the note, and every document's problem at the documents."""
    errors, general = split_errors(detail, {"note", "documents"})
    about_documents = [part for part in general if part.startswith("documents.")]
    if about_documents and "documents" not in errors:
        errors["documents"] = "; ".join(about_documents)
    return errors, [part for part in general if part not in about_documents]


@router.post("/{order_id}/steps/{step}/complete")
async def complete_step(
    request: Request, order_id: str, step: str, user: SignedIn, session: SessionDep, gateway: GatewayDep, db: DbDep
) -> Response:
    """Report the step done with its documents, through the API's step completion; refusals at the fields."""
    await _gate(request, user, db, *STAFF_ROLES)
    await load_row(session, order_id)
    form = await request.form()
    note = form.get("note")
    try:
        body = orders.CompleteStepBody(note=note if isinstance(note, str) else "", documents=await uploads(form))
        await orders.complete_step(order_id, step, body, _acting(user, session, gateway, db))
    except (ValidationError, HTTPException) as refused:
        detail = field_errors(refused.errors()) if isinstance(refused, ValidationError) else str(refused.detail)
        code = 422 if isinstance(refused, ValidationError) else refused.status_code
        errors, general = step_errors(detail)
        return await _order_page(
            request,
            user,
            session,
            order_id,
            open_form="complete",
            values={"note": note},
            errors=errors,
            refusal="; ".join(general) or None,
            status_code=code,
        )
    return RedirectResponse(f"/console/provisioning/{order_id}?done=complete_step", status_code=303)


@router.post("/{order_id}/review")
async def review_order(
    request: Request, order_id: str, user: SignedIn, session: SessionDep, gateway: GatewayDep, db: DbDep
) -> Response:
    """Approve, or return to a named step with a reason, through the API's review (four-eyes judged there)."""
    await _gate(request, user, db, *STAFF_ROLES)
    await load_row(session, order_id)
    form = await request.form()
    sent = {k: form.get(k) for k in ("outcome", "return_to", "reason")}
    try:
        body = orders.ReviewBody.model_validate(
            {
                "outcome": sent["outcome"] or "",
                "return_to": sent["return_to"] or None,
                "reason": sent["reason"] or "",
            }
        )
        await orders.review_order(order_id, body, _acting(user, session, gateway, db))
    except (ValidationError, HTTPException) as refused:
        detail = field_errors(refused.errors()) if isinstance(refused, ValidationError) else str(refused.detail)
        code = 422 if isinstance(refused, ValidationError) else refused.status_code
        errors, general = split_errors(detail, {"outcome", "return_to", "reason"})
        return await _order_page(
            request,
            user,
            session,
            order_id,
            open_form="review",
            values=sent,
            errors=errors,
            refusal="; ".join(general) or None,
            status_code=code,
        )
    outcome = "approve" if sent["outcome"] == "approve" else "return"
    return RedirectResponse(f"/console/provisioning/{order_id}?done={outcome}", status_code=303)
