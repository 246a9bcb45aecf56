"""The console's pages: sign-in, My work, tickets (register, list, the ticket and its acts), approvals, the survey.

Every action calls the API's own functions (the inbox query, claim and decide in api/tasks, register and
perform in api/tickets/service.py, the audited reveal, the survey): the rules live there and in core/, once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import and_, or_
from sqlmodel import col

from api.acts import Acting
from api.audit import journal
from api.console.errors import ConsoleRoute, refusal_page, split_errors
from api.console.forms import ACT_FIELDS, INTAKE_FIELDS, act_values, intake_values, sent_values
from api.console.rendering import LANGUAGES, form_page, render
from api.console.session import (
    ANON_CSRF_COOKIE,
    LANG_COOKIE,
    SESSION_COOKIE,
    ConsoleUser,
    SignedIn,
    anonymous_csrf,
    check_csrf,
    new_session,
    set_session_cookie,
)
from api.deps import STAFF_ROLES, DbDep, GatewayDep, SessionDep, SettingsDep, require_roles
from api.errors import field_errors
from api.platform import auth
from api.schemas import TaskView
from api.tasks import routes as tasks
from api.tickets import routes as ticket_routes
from api.tickets import survey
from api.tickets.service import TICKETS, check_intake, load_row, perform, register, ticket_of
from core.contacts import mask_contacts_in, masked_contact
from core.roles import Actor, Role
from core.sla import Priority, default_ladder
from core.tasks import RefusalCode, TaskRefused
from core.tickets import Intake, Ticket, TicketStatus, check_act
from db.models import TicketRow, utcnow
from db.readmodel import page_of
from workflows.tickets import TASK_PRIORITY

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
public = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

INTAKERS = (Role.AGENT, Role.SUPERVISOR)
APPROVERS = (Role.SUPERVISOR, Role.DEPARTMENT, Role.ADMIN)
# Amber from the ladder's first rung that copies someone in (75 % by default), red at the breach.
WARNING_PERCENT = next(step.percent for step in default_ladder() if step.notify_roles)
_TICKET_PAGE_SIZE = 50
INBOX_PAGE_SIZE = 50
# My work counts up to this many tasks, then says "1000+": a person reads the first page, and an exact count of
# every open task would cost a scan of all of them on every refresh.
INBOX_COUNT_CAP = 1000
GREEN_CHANNEL_PRIORITY = TASK_PRIORITY[Priority.URGENT]  # urgent tickets' tasks: the green channel


BOARD_PAGE_SIZE = 50


async def status_listing(
    request: Request,
    session: SessionDep,
    table: type[Any],
    statuses: type[StrEnum],
    offset: int,
    *order_by: Any,
) -> dict[str, Any]:
    """A board list's page (in `order_by` order), narrowed to the `status` asked for when it is one of `statuses`,
    as the template context the list pages share."""
    wanted = request.query_params.get("status", "")
    conditions = [col(table.status) == wanted] if wanted in statuses._value2member_map_ else []
    offset = max(0, min(offset, 1_000_000))
    total, rows = await page_of(session, table, conditions, *order_by, offset=offset, limit=BOARD_PAGE_SIZE)
    return {
        "rows": rows,
        "total": total,
        "offset": offset,
        "page_size": BOARD_PAGE_SIZE,
        "wanted": wanted,
        "statuses": [s.value for s in statuses],
    }


async def _gate(request: Request, user: ConsoleUser, db: DbDep, *roles: Role) -> Actor:
    """The API's role gate (a refused post is journaled the same way); the refusal page still shows who is signed in."""
    try:
        return await require_roles(*roles)(request, user.actor, db)
    except HTTPException as refused:
        refused.console_user = user  # type: ignore[attr-defined]
        raise


def _acting(user: ConsoleUser, session: SessionDep, gateway: GatewayDep, db: DbDep) -> Acting:
    return Acting(user.actor, session, gateway, db, None)


def _safe_next(target: str | None) -> str:
    """A same-site console path to go on to after sign-in (never another host)."""
    if not target:
        return "/console/inbox"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return "/console/inbox"
    return target


# ---- sign-in, sign-out, language ------------------------------------------------------------------------------


@router.get("")
async def home() -> RedirectResponse:
    """The console starts at My work."""
    return RedirectResponse("/console/inbox", status_code=303)


@router.get("/login")
async def login_page(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    """The sign-in form."""
    response = Response()
    csrf = anonymous_csrf(request, response, settings)
    page = render(request, "login.html", {"csrf": csrf, "next": _safe_next(next), "error": None, "username": ""})
    page.headers.append("set-cookie", response.headers["set-cookie"])
    return page


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Sign in through the API's own password check (throttled and journaled there); set the session cookie."""
    await check_csrf(request, request.cookies.get(ANON_CSRF_COOKIE))
    form = OAuth2PasswordRequestForm(username=username, password=password)
    try:
        await auth.token(form, request, session, settings)
    except HTTPException as refused:
        page = render(
            request,
            "login.html",
            {
                "csrf": request.cookies.get(ANON_CSRF_COOKIE),
                "next": _safe_next(next),
                "error": refused.detail,
                "username": username,
            },
            status_code=refused.status_code,
        )
        if refused.headers and "Retry-After" in refused.headers:
            page.headers["Retry-After"] = refused.headers["Retry-After"]
        return page
    cookie, _ = new_session(settings, username)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, settings, cookie)
    return response


@router.post("/logout")
async def logout(user: SignedIn) -> Response:
    """Sign out: the session cookie is dropped."""
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{language}")
async def choose_language(language: str, next: str | None = None) -> Response:
    """Switch the console's language (a cookie; Simplified Chinese unless English is chosen)."""
    if language not in LANGUAGES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"language {language}: not offered")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, samesite="lax", httponly=True, path="/")
    return response


# ---- My work ---------------------------------------------------------------------------------------------------


def budget_share(task: TaskView, now: datetime) -> int:
    """How much of the task's time has gone, in percent (elapsed time from opening to its due time)."""
    total = (task.due_at - task.opened_at).total_seconds()
    if total <= 0:
        return 100
    return max(0, int((now - task.opened_at).total_seconds() * 100 / total))


def share_colour(share: int) -> str:
    """green, amber from the warning rung, red at the breach."""
    return "red" if share >= 100 else "amber" if share >= WARNING_PERCENT else "green"


def _inbox_row(task: TaskView, now: datetime, me: str) -> dict[str, Any]:
    """What one inbox row shows, worked out once here so the template only prints it."""
    share = budget_share(task, now)
    ticket = task.business_ref if task.business_ref and task.business_ref.startswith("CS") else None
    return {
        "task": task,
        "ticket": ticket,
        "share": share,
        "width": min(share, 100),
        "colour": share_colour(share),
        "green": task.priority >= GREEN_CHANNEL_PRIORITY,
        "mine": task.claimed_by == me,
    }


async def _inbox_context(
    user: ConsoleUser, session: SessionDep, scope: str, overdue: str, kind: str, flash: str | None = None
) -> dict[str, Any]:
    if scope not in ("candidate", "mine", "all") or (scope == "all" and not user.actor.has_role(*tasks.OVERSEERS)):
        scope = "candidate"
    page = await tasks.inbox_page(
        user.actor,
        session,
        scope=scope,  # type: ignore[arg-type]
        task_status="open",
        overdue=True if overdue == "1" else None,
        kind=kind or None,
        workflow_id=None,
        business_ref=None,
        offset=0,
        limit=INBOX_PAGE_SIZE,
        count_cap=INBOX_COUNT_CAP,
    )
    now = utcnow()
    rows = [_inbox_row(t, now, user.actor.username) for t in page.items]
    return {
        "user": user,
        "rows": rows,
        "total": f"{page.total}+" if page.total_capped else page.total,
        "filters": {"scope": scope, "overdue": overdue, "kind": kind},
        "flash": flash,
        "overseer": user.actor.has_role(*tasks.OVERSEERS),
    }


@router.get("/inbox")
async def inbox(
    request: Request, user: SignedIn, session: SessionDep, scope: str = "candidate", overdue: str = "", kind: str = ""
) -> Response:
    """My work: tasks for me, my role and my department; the rows alone for htmx polling."""
    context = await _inbox_context(user, session, scope, overdue, kind)
    block = "rows" if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "rows" else None
    return render(request, "inbox.html", context, block=block)


@router.post("/tasks/{task_id}/claim")
async def claim_task(
    request: Request,
    task_id: str,
    user: SignedIn,
    session: SessionDep,
    gateway: GatewayDep,
    db: DbDep,
    release: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "candidate",
    overdue: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
) -> Response:
    """Claim a task (or hand it back) through the API's claim; the refreshed rows, with any refusal above them."""
    flash = None
    try:
        await _gate(request, user, db, *STAFF_ROLES)
        await tasks.claim(task_id, _acting(user, session, gateway, db), tasks.ClaimBody(release=release == "1"))
    except HTTPException as refused:
        flash = str(refused.detail)
    context = await _inbox_context(user, session, scope, overdue, kind, flash)
    return render(request, "inbox.html", context, block="rows")


SEEN_COOKIE = "kx_seen"  # the newest notification id the user has seen on the notifications page
_BADGE_CAP = 100


async def _my_notifications(user: ConsoleUser, session: SessionDep, limit: int) -> list[journal.NotificationView]:
    page = await journal.my_notifications(user.actor, session, workflow_id=None, offset=0, limit=limit)
    return page.items


def _seen(request: Request) -> int:
    value = request.cookies.get(SEEN_COOKIE, "")
    return int(value) if value.isdigit() and len(value) < 19 else 0


@router.get("/notifications/badge")
async def notifications_badge(request: Request, user: SignedIn, session: SessionDep) -> Response:
    """How many of my notifications (the API's) are newer than the newest I have seen; polled by the header."""
    seen = _seen(request)
    new = sum(1 for n in await _my_notifications(user, session, _BADGE_CAP) if n.id > seen)
    return render(request, "badge.html", {"count": f"{_BADGE_CAP - 1}+" if new >= _BADGE_CAP else new})


@router.get("/notifications")
async def notifications(request: Request, user: SignedIn, session: SessionDep) -> Response:
    """My notifications (reminders, escalations, assignments), newest first; marks them seen."""
    items = await _my_notifications(user, session, _BADGE_CAP)
    seen = _seen(request)
    page = render(request, "notifications.html", {"user": user, "items": items, "seen": seen})
    if items and items[0].id > seen:
        page.set_cookie(SEEN_COOKIE, str(items[0].id), max_age=365 * 86400, httponly=True, samesite="lax", path="/")
    return page


# ---- tickets ---------------------------------------------------------------------------------------------------


@router.get("/tickets")
async def ticket_list(
    request: Request,
    user: SignedIn,
    session: SessionDep,
    q: str = "",
    priority: str = "",
    category: str = "",
    breach: str = "",
    offset: int = 0,
) -> Response:
    """Tickets newest first: search by number or customer; filter by status, priority, category, breach."""
    status_filter = request.query_params.get("status", "")
    conditions: list[Any] = []
    if q := q.strip()[:100]:
        like = f"%{q}%"
        conditions.append(
            or_(
                col(TicketRow.ticket_no).ilike(like),
                col(TicketRow.customer_name).ilike(like),
                col(TicketRow.customer_id).ilike(like),
            )
        )
    if status_filter in TicketStatus._value2member_map_:
        conditions.append(col(TicketRow.status) == status_filter)
    if priority:
        conditions.append(col(TicketRow.priority) == priority[:16])
    if category:
        conditions.append(col(TicketRow.categories).contains([category[:32]]))
    if breach == "1":
        open_statuses = [TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CUSTOMER, TicketStatus.HELD]
        conditions.append(
            and_(col(TicketRow.status).in_([s.value for s in open_statuses]), col(TicketRow.resolution_due) < utcnow())
        )
    offset = max(0, min(offset, 1_000_000))
    total, rows = await page_of(
        session,
        TicketRow,
        conditions,
        col(TicketRow.created_at).desc(),
        col(TicketRow.ticket_no).desc(),
        offset=offset,
        limit=_TICKET_PAGE_SIZE,
    )
    tickets = [_shown(ticket_of(row)) for row in rows]
    filters = {"q": q, "status": status_filter, "priority": priority, "category": category, "breach": breach}
    return render(
        request,
        "tickets.html",
        {
            "user": user,
            "tickets": tickets,
            "total": total,
            "offset": offset,
            "page_size": _TICKET_PAGE_SIZE,
            "filters": filters,
            "may_register": user.actor.has_role(*INTAKERS),
        },
    )


@router.get("/tickets/new")
async def new_ticket(request: Request, user: SignedIn, db: DbDep) -> Response:
    """The intake form (agents and supervisors)."""
    await _gate(request, user, db, *INTAKERS)
    return form_page(request, "ticket_new.html", {"user": user}, INTAKE_FIELDS)


@router.post("/tickets/new")
async def register_ticket(
    request: Request, user: SignedIn, session: SessionDep, gateway: GatewayDep, db: DbDep, settings: SettingsDep
) -> Response:
    """Register through the API's own intake check and `register`; refusals shown at their fields."""
    actor = await _gate(request, user, db, *INTAKERS)
    form = await request.form()
    names = {name for name, _, _ in INTAKE_FIELDS}
    try:
        intake = Intake.model_validate(intake_values(form, settings.default_timezone))
        check_intake(intake, utcnow())
    except ValidationError as err:
        errors, general = split_errors(field_errors(err.errors()), names)
        return form_page(
            request, "ticket_new.html", {"user": user}, INTAKE_FIELDS, (sent_values(form), errors, general), 422
        )
    except HTTPException as refused:
        errors, general = split_errors(str(refused.detail), names)
        return form_page(
            request,
            "ticket_new.html",
            {"user": user},
            INTAKE_FIELDS,
            (sent_values(form), errors, general),
            refused.status_code,
        )
    ticket = (await register(session=session, gateway=gateway, actor=actor, intake=intake, request_id=None)).ticket
    return RedirectResponse(f"/console/tickets/{quote(ticket.ticket_no)}?done=registered", status_code=303)


def _shown(ticket: Ticket) -> Ticket:
    """The ticket as the console shows it: the contact and contact details in free text masked (core/contacts.py)."""
    masked = mask_contacts_in(ticket.model_dump(mode="json"))
    masked["intake"]["contact"] = masked_contact(ticket.intake.contact)
    return Ticket.model_validate(masked)


# A well-formed instance of each act, to ask the rules whether the actor may do it now.
def _probe(act: str, ticket: Ticket, now: datetime) -> dict[str, Any]:
    cap = ticket.cycles[-1].resolution_cap if ticket.cycles else None
    later = now + (cap - now) / 2 if cap and cap > now else now + timedelta(hours=1)
    samples: dict[str, dict[str, Any]] = {
        "accept": {"expected_resolution_at": later},
        "log_progress": {"kind": "action", "text": "-"},
        "request_extension": {"new_expected_at": later, "reason": "-"},
        "request_escalation": {"new_expected_at": later, "reason": "-"},
        "pause": {"reason": "-"},
        "resume": {},
        "resolve": {"resolution": {"cause": "-", "solution": "-", "channel": "phone"}},
        "verify_resolution": {"note": "-"},
        "close": {},
        "reopen": {"reason": "-"},
        "cancel": {"reason": "-"},
    }
    return {"type": act, **samples[act]}


def available_acts(ticket: Ticket, row: TicketRow, actor: Actor, now: datetime) -> tuple[list[str], dict[str, str]]:
    """The acts the rules (core/tickets.check_act) let this actor do now; and why closing is refused, if it is."""
    auditor_only = actor.has_role(Role.AUDITOR) and not set(actor.roles) - {Role.AUDITOR}
    if TICKETS.closed(row) is not None or auditor_only:
        return [], {}
    allowed: list[str] = []
    refused: dict[str, str] = {}
    for act in ACT_FIELDS:
        try:
            message = TICKETS.acts.validate_python({**_probe(act, ticket, now), "request_id": "probe", "actor": actor})
            check_act(ticket, message, now)
        except TaskRefused as refusal:
            if refusal.code == RefusalCode.INVALID:
                allowed.append(act)  # only the sample's values were refused; the person's own may pass
            elif act == "close" and refusal.code == RefusalCode.CONFLICT and ticket.status in CLOSABLE:
                refused[act] = refusal.message
            continue
        except (ValidationError, IndexError, ValueError):
            continue
        allowed.append(act)
    return allowed, refused


CLOSABLE = (TicketStatus.RESOLVED, TicketStatus.PENDING_FEEDBACK)


async def _ticket_page(
    request: Request,
    user: ConsoleUser,
    session: SessionDep,
    ticket_no: str,
    *,
    open_act: str | None = None,
    values: Any = None,
    errors: dict[str, str] | None = None,
    refusal: str | None = None,
    revealed: ticket_routes.ContactView | None = None,
    status_code: int = 200,
) -> Response:
    row = await load_row(session, ticket_no)
    ticket = ticket_of(row)
    now = utcnow()
    allowed, blocked = available_acts(ticket, row, user.actor, now)
    shown = _shown(ticket)
    return render(
        request,
        "ticket.html",
        {
            "user": user,
            "ticket": shown,
            "cycle": shown.cycles[-1] if shown.cycles else None,
            "tasks": await tasks.tasks_of(session, ticket_no),
            "acts": allowed,
            "blocked": blocked,
            "act_fields": ACT_FIELDS,
            "open_act": open_act,
            "values": values or {},
            "errors": errors or {},
            "refusal": refusal,
            "revealed": revealed,
            "done": request.query_params.get("done"),
            "may_reveal": user.actor.username == row.handler or user.actor.has_role(Role.AGENT, Role.SUPERVISOR),
        },
        status_code=status_code,
    )


@router.get("/tickets/{ticket_no}")
async def ticket_page(request: Request, ticket_no: str, user: SignedIn, session: SessionDep) -> Response:
    """The ticket: status, the three deadlines, the policy, the log, its tasks, and the acts I may do now."""
    return await _ticket_page(request, user, session, ticket_no)


@router.post("/tickets/{ticket_no}/acts/{act}")
async def act_on_ticket(
    request: Request,
    ticket_no: str,
    act: str,
    user: SignedIn,
    session: SessionDep,
    gateway: GatewayDep,
    db: DbDep,
    settings: SettingsDep,
) -> Response:
    """Deliver one act through the API's `perform`; a refusal re-shows the form with the rule that refused it."""
    if act not in ACT_FIELDS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"act {act}: no such act")
    await _gate(request, user, db, *STAFF_ROLES)
    row = await load_row(session, ticket_no)
    form = await request.form()
    try:
        await perform(_acting(user, session, gateway, db), row, act_values(act, form, settings.default_timezone))
    except HTTPException as refused:
        errors, general = split_errors(str(refused.detail), {name for name, _, _ in ACT_FIELDS[act]})
        return await _ticket_page(
            request,
            user,
            session,
            ticket_no,
            open_act=act,
            values=sent_values(form),
            errors=errors,
            refusal="; ".join(general) or None,
            status_code=refused.status_code,
        )
    return RedirectResponse(f"/console/tickets/{quote(ticket_no)}?done={act}", status_code=303)


@router.post("/tickets/{ticket_no}/reveal")
async def reveal_contact(
    request: Request,
    ticket_no: str,
    user: SignedIn,
    session: SessionDep,
    db: DbDep,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """The audited reveal of the API (journaled with the reason), shown on the ticket page."""
    actor = await _gate(request, user, db, *STAFF_ROLES)
    try:
        revealed = await ticket_routes.reveal_contact(
            ticket_no, actor, session, db, ticket_routes.RevealBody(reason=reason)
        )
    except HTTPException as refused:
        return await _ticket_page(
            request, user, session, ticket_no, refusal=str(refused.detail), status_code=refused.status_code
        )
    return await _ticket_page(request, user, session, ticket_no, revealed=revealed)


# ---- approvals -------------------------------------------------------------------------------------------------


async def _approvals_page(
    request: Request, user: ConsoleUser, session: SessionDep, refusal: str | None = None, status_code: int = 200
) -> Response:
    page = await tasks.inbox_page(
        actor=user.actor,
        session=session,
        scope="candidate",
        task_status="open",
        overdue=None,
        kind=None,
        workflow_id=None,
        business_ref=None,
        offset=0,
        limit=200,
    )
    requests = []
    for task in page.items:
        if "approve" not in task.outcomes:
            continue
        ticket = None
        if task.business_ref and (row := await session.get(TicketRow, task.business_ref)) is not None:
            ticket = _shown(ticket_of(row))
        requests.append({"task": task, "ticket": ticket, "own": task.requested_by == user.actor.username})
    return render(
        request,
        "approvals.html",
        {"user": user, "requests": requests, "refusal": refusal, "done": request.query_params.get("done")},
        status_code=status_code,
    )


@router.get("/approvals")
async def approvals(request: Request, user: SignedIn, session: SessionDep, db: DbDep) -> Response:
    """The approvals I may decide: the request, its reason and the deadline it would move."""
    await _gate(request, user, db, *APPROVERS)
    return await _approvals_page(request, user, session)


@router.post("/approvals/{task_id}")
async def decide(
    request: Request,
    task_id: str,
    user: SignedIn,
    session: SessionDep,
    gateway: GatewayDep,
    db: DbDep,
    outcome: Annotated[str, Form(max_length=64)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Approve or reject through the API's decision (four-eyes and the rest judged there)."""
    await _gate(request, user, db, *APPROVERS)
    try:
        body = tasks.DecisionBody(outcome=outcome, comment=comment or None)
        await tasks.decide(task_id, body, _acting(user, session, gateway, db))
    except ValidationError as err:
        return await _approvals_page(request, user, session, field_errors(err.errors()), 422)
    except HTTPException as refused:
        return await _approvals_page(request, user, session, str(refused.detail), refused.status_code)
    return RedirectResponse(f"/console/approvals?done={quote(outcome)}", status_code=303)


# ---- the customer's survey (public) -----------------------------------------------------------------------------

_TOKEN = TypeAdapter(survey.Token)


async def _survey_page(
    request: Request,
    settings: SettingsDep,
    token: str,
    view: survey.SurveyView,
    *,
    errors: dict[str, str] | None = None,
    values: Any = None,
    refusal: str | None = None,
    status_code: int = 200,
) -> Response:
    response = Response()
    csrf = anonymous_csrf(request, response, settings)
    page = render(
        request,
        "survey.html",
        {
            "token": token,
            "view": view,
            "csrf": csrf,
            "errors": errors or {},
            "values": values or {},
            "refusal": refusal,
        },
        status_code=status_code,
    )
    page.headers.append("set-cookie", response.headers["set-cookie"])
    page.headers["Referrer-Policy"] = "no-referrer"  # the link's secret stays out of other sites' logs
    return page


async def _survey_view(session: SessionDep, token: str) -> survey.SurveyView:
    try:
        _TOKEN.validate_python(token)
    except ValidationError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such survey") from None
    return await survey.show_survey(token, session)


@public.get("/survey/{token}")
async def survey_page(request: Request, token: str, session: SessionDep, settings: SettingsDep) -> Response:
    """The customer's survey: no login, works on a phone, shows nothing about the ticket or the customer."""
    try:
        view = await _survey_view(session, token)
    except HTTPException as refused:
        return refusal_page(request, refused.status_code, str(refused.detail))
    return await _survey_page(request, settings, token, view)


@public.post("/survey/{token}")
async def answer_survey(
    request: Request, token: str, session: SessionDep, gateway: GatewayDep, db: DbDep, settings: SettingsDep
) -> Response:
    """The answer goes through the API's survey endpoint function (answered once; the customer identifies no one)."""
    await check_csrf(request, request.cookies.get(ANON_CSRF_COOKIE))
    try:
        view = await _survey_view(session, token)
    except HTTPException as refused:
        return refusal_page(request, refused.status_code, str(refused.detail))
    form = await request.form()
    raw = {"resolved": form.get("resolved"), "rating": form.get("rating"), "comment": form.get("comment") or ""}
    sent = {k: v for k, v in raw.items() if v not in (None, "")} | {"comment": raw["comment"]}
    try:
        body = survey.SurveyAnswer.model_validate(sent)
    except ValidationError as err:
        errors = split_errors(field_errors(err.errors()), {"resolved", "rating", "comment"})[0]
        return await _survey_page(
            request, settings, token, view, errors=errors, values=sent_values(form), status_code=422
        )
    try:
        view = await survey.answer_survey(token, body, session, gateway, db)
    except HTTPException as refused:
        return await _survey_page(
            request, settings, token, view, refusal=str(refused.detail), status_code=refused.status_code
        )
    return await _survey_page(request, settings, token, view)
