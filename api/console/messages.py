"""The console's customer messages: the thread list, the online-message form, a thread with its deadlines and the
acts on it. Registering and acting call the API's own functions (api/messages), so the same rules refuse the same
things and the journal names the same person; contacts are shown masked, as the API shows them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from uuid import uuid4

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import col

from api.acts import Acting
from api.console.errors import ConsoleRoute
from api.console.forms import local_datetime
from api.console.pages import _gate
from api.console.rendering import render
from api.console.session import ConsoleUser, SignedIn
from api.console.vocabulary import N_
from api.deps import DbDep, GatewayDep, SessionDep, SettingsDep
from api.messages.routes import summary
from api.messages.service import IncomingMessage, load_row, masked_view, perform, register_message, thread_of
from api.tasks.routes import tasks_of
from core.messages import MESSAGE_ROLES, Thread, ThreadStatus
from core.sla import MessageChannel, Urgency
from db.models import MessageThreadRow, utcnow
from db.readmodel import page_of

router = APIRouter(prefix="/console/messages", route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 50
LABELS = {
    "received": N_("Awaiting acknowledgement"),
    "acknowledged": N_("Acknowledged, awaiting the answer"),
    "answered": N_("Answered"),
    "general": N_("General"),
    "urgent": N_("Urgent"),
    "email": N_("E-mail"),
    "online": N_("Online message"),
    "message": N_("Customer's message"),
    "acknowledgement": N_("Acknowledgement"),
    "answer": N_("Answer"),
    "explanation": N_("Explanation: takes longer"),
}
# Each act's form fields: (name, input kind).
ACTS: dict[str, tuple[tuple[str, str], ...]] = {
    "acknowledge": (("text", "textarea"),),
    "answer": (("text", "textarea"),),
    "mark_complex": (("reason", "textarea"),),
    "takes_longer": (("explanation", "textarea"), ("answer_by", "datetime")),
}
ACT_TITLES = {
    "acknowledge": N_("Acknowledge to the customer"),
    "answer": N_("Answer the customer"),
    "mark_complex": N_("Mark as complex"),
    "takes_longer": N_("Takes longer: explain to the customer"),
}
FORM_FIELDS = ("contact", "customer_id", "customer_name", "ticket_no", "subject", "body", "urgency")


@router.get("")
async def message_list(request: Request, user: SignedIn, session: SessionDep, offset: int = 0) -> Response:
    """Threads newest first, optionally by status."""
    wanted = request.query_params.get("status", "")
    where = [col(MessageThreadRow.status) == wanted] if wanted in ThreadStatus._value2member_map_ else []
    offset = max(0, min(offset, 1_000_000))
    total, rows = await page_of(
        session, MessageThreadRow, where, col(MessageThreadRow.received_at).desc(), offset=offset, limit=PAGE_SIZE
    )
    context = {
        "user": user,
        "threads": [summary(row) for row in rows],
        "total": total,
        "status": wanted,
        "labels": LABELS,
        "may_register": user.actor.has_role(*MESSAGE_ROLES),
    }
    return render(request, "messages.html", context)


def _form_page(request: Request, user: ConsoleUser, values: Any, refusal: str | None, status_code: int) -> Response:
    context = {"user": user, "values": values, "refusal": refusal, "labels": LABELS}
    return render(request, "message_new.html", context, status_code=status_code)


@router.get("/new")
async def new_message(request: Request, user: SignedIn, db: DbDep) -> Response:
    """The online-message form (agents and supervisors)."""
    await _gate(request, user, db, *MESSAGE_ROLES)
    return _form_page(request, user, {}, None, 200)


@router.post("/new")
async def register_online(
    request: Request, user: SignedIn, session: SessionDep, gateway: GatewayDep, db: DbDep, settings: SettingsDep
) -> Response:
    """Register the online message through the API's `register_message`; a refusal re-shows the form."""
    actor = await _gate(request, user, db, *MESSAGE_ROLES)
    form = await request.form()
    sent = {name: str(form.get(name, "")).strip() for name in FORM_FIELDS}
    urgency = sent["urgency"] if sent["urgency"] in Urgency._value2member_map_ else Urgency.GENERAL.value
    if not sent["contact"] or not sent["body"]:
        return _form_page(request, user, sent, "contact and body: required", 422)
    try:
        incoming = IncomingMessage(
            channel=MessageChannel.ONLINE,
            urgency=Urgency(urgency),
            received_at=utcnow(),
            contact=sent["contact"],
            subject=sent["subject"],
            body=sent["body"],
            customer_id=sent["customer_id"] or None,
            customer_name=sent["customer_name"] or None,
            ticket_no=sent["ticket_no"] or None,
        )
        thread = await register_message(
            session=session,
            gateway=gateway,
            actor=actor,
            incoming=incoming,
            request_id=str(uuid4()),
            settings=settings,
        )
    except HTTPException as refused:
        return _form_page(request, user, sent, str(refused.detail), refused.status_code)
    return RedirectResponse(f"/console/messages/{quote(thread.thread_id)}?done=registered", status_code=303)


async def _thread_page(
    request: Request,
    user: ConsoleUser,
    session: SessionDep,
    thread_id: str,
    *,
    open_act: str | None = None,
    values: Any = None,
    refusal: str | None = None,
    status_code: int = 200,
) -> Response:
    row = await load_row(session, thread_id)
    thread = thread_of(row)
    may_act = user.actor.has_role(*MESSAGE_ROLES) and thread.status != ThreadStatus.ANSWERED
    acts = [a for a in ACTS if may_act and not (a == "acknowledge" and thread.status != ThreadStatus.RECEIVED)]
    if thread.complex or thread.extended:
        acts = [a for a in acts if a != "mark_complex"]
    context = {
        "user": user,
        "thread": Thread.model_validate(masked_view(thread)),
        "row": summary(row),
        "tasks": await tasks_of(session, thread_id),
        "labels": LABELS,
        "acts": acts,
        "act_fields": ACTS,
        "act_titles": ACT_TITLES,
        "open_act": open_act,
        "values": values or {},
        "refusal": refusal,
        "done": request.query_params.get("done"),
    }
    return render(request, "message.html", context, status_code=status_code)


@router.get("/{thread_id}")
async def thread_page(request: Request, thread_id: str, user: SignedIn, session: SessionDep) -> Response:
    """The thread: what the customer wrote and what they were told, both deadlines, and the acts I may do now."""
    return await _thread_page(request, user, session, thread_id)


@router.post("/{thread_id}/acts/{act}")
async def act_on_thread(
    request: Request,
    thread_id: str,
    act: str,
    user: SignedIn,
    session: SessionDep,
    gateway: GatewayDep,
    db: DbDep,
    settings: SettingsDep,
) -> Response:
    """Deliver one act through the API's `perform`; a refusal re-shows the form with the rule that refused it."""
    actor = await _gate(request, user, db, *MESSAGE_ROLES)
    if act not in ACTS:
        raise HTTPException(404, f"act {act}: no such act")
    row = await load_row(session, thread_id)
    form = await request.form()
    body: dict[str, Any] = {"type": act}
    for name, kind in ACTS[act]:
        value = str(form.get(name, "")).strip()
        if kind == "datetime":
            body[name] = local_datetime(value, settings.default_timezone) if value else None
        elif value or act != "acknowledge":
            body[name] = value
    try:
        await perform(Acting(actor, session, gateway, db, None), row, body)
    except HTTPException as refused:
        sent = {name: str(form.get(name, "")) for name, _ in ACTS[act]}
        return await _thread_page(
            request,
            user,
            session,
            thread_id,
            open_act=act,
            values=sent,
            refusal=str(refused.detail),
            status_code=refused.status_code,
        )
    return RedirectResponse(f"/console/messages/{quote(thread_id)}?done={act}", status_code=303)
