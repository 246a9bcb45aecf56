"""The auditor's desk: find a workflow, read its timeline, replay it, download its history, check the journal.

Read-only throughout: every page is a GET calling the auditors' API functions (api/audit/routes.py,
api/audit/journal.py), so the same role gate, masking, journaling of decrypted exports and replay verdicts apply.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from temporalio import workflow

from api.audit import journal
from api.audit import routes as audit_api
from api.console.errors import ConsoleRoute
from api.console.pages import _gate
from api.console.rendering import render
from api.console.session import SignedIn
from api.console.vocabulary import N_
from api.deps import DbDep, GatewayDep, SessionDep, SettingsDep
from api.errors import field_errors
from audit.history import STATUSES, WorkflowFilter
from audit.timeline import Kind
from core.roles import Role
from infra.settings import Settings
from workflows.registry import ALL_WORKFLOWS

router = APIRouter(prefix="/console/audit", route_class=ConsoleRoute, include_in_schema=False)

DESK = (Role.AUDITOR, Role.ADMIN)  # the API's Auditor gate
# The registered workflow types, as Temporal names them (the filter's choices).
WORKFLOW_TYPES = tuple(sorted(d.name for w in ALL_WORKFLOWS if (d := workflow._Definition.from_class(w)) and d.name))
_JOURNAL_PAGE = 100
# The timeline's views: every entry, or one group of its kinds (audit/timeline.KINDS).
VIEWS: dict[str, tuple[Kind, ...] | None] = {
    N_("all"): None,
    N_("people"): ("act", "task"),
    N_("deadlines"): ("deadline", "timer", "reminder", "escalation", "breach", "pause", "resume"),
    N_("system"): ("workflow", "status", "activity", "patch"),
}
# Shown translated by value: the timeline's kinds (audit/timeline.KINDS), run statuses, journal outcomes.
DESK_WORDS = (
    N_("workflow"),
    N_("act"),
    N_("deadline"),
    N_("timer"),
    N_("reminder"),
    N_("escalation"),
    N_("breach"),
    N_("pause"),
    N_("resume"),
    N_("task"),
    N_("status"),
    N_("activity"),
    N_("patch"),
    N_("running"),
    N_("completed"),
    N_("failed"),
    N_("canceled"),
    N_("terminated"),
    N_("continued_as_new"),
    N_("timed_out"),
    N_("accepted"),
    N_("refused"),
)


def temporal_ui_link(settings: Settings, workflow_id: str, run_id: str | None) -> str:
    """The run's page in Temporal's web UI."""
    base = settings.temporal_ui_url.rstrip("/")
    run = f"/{quote(run_id, safe='')}" if run_id else ""
    namespace, workflow = quote(settings.temporal_namespace, safe=""), quote(workflow_id, safe="")
    return f"{base}/namespaces/{namespace}/workflows/{workflow}{run}/history"


def _day_start(text: str, zone: str, *, next_day: bool = False) -> datetime | None:
    """A date typed in the form, as the start of that day (or of the day after) in the center's zone."""
    if not text:
        return None
    day = date.fromisoformat(text[:10])
    if next_day:
        day = date.fromordinal(day.toordinal() + 1)
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))


@router.get("")
async def find_workflows(
    request: Request,
    user: SignedIn,
    session: SessionDep,
    gateway: GatewayDep,
    settings: SettingsDep,
    db: DbDep,
    ref: str = "",
    workflow_type: str = "",
    status: str = "",
    since: str = "",
    until: str = "",
    page_token: str = "",
) -> Response:
    """Find workflows: a ticket number or order id goes straight to its workflow; otherwise Temporal's list."""
    actor = await _gate(request, user, db, *DESK)
    filters = {"ref": ref.strip(), "workflow_type": workflow_type, "status": status, "since": since, "until": until}
    context: dict[str, Any] = {
        "user": user,
        "filters": filters,
        "types": WORKFLOW_TYPES,
        "statuses": list(STATUSES),
        "runs": None,
        "next_token": None,
        "refusal": None,
    }
    searched = any(filters.values()) or "go" in request.query_params
    if filters["ref"] and not (workflow_type or status or since or until):
        try:
            workflow_id = await audit_api.workflow_of(session, gateway, filters["ref"])
        except HTTPException as refused:
            context["refusal"] = str(refused.detail)
            return render(request, "audit_find.html", context, status_code=refused.status_code)
        return RedirectResponse(f"/console/audit/workflows/{quote(workflow_id, safe='')}", status_code=303)
    if searched:
        try:
            where = WorkflowFilter(
                business_ref=filters["ref"] or None,
                workflow_type=workflow_type or None,
                status=status or None,
                started_since=_day_start(since, settings.default_timezone),
                started_until=_day_start(until, settings.default_timezone, next_day=True),
            )
            page = await audit_api.list_workflows(
                actor, gateway, settings, where, page_size=50, page_token=page_token or None
            )
            context["runs"], context["next_token"] = page.items, page.next_page_token
        except ValidationError as err:
            context["refusal"] = field_errors(err.errors())
        except ValueError as err:
            context["refusal"] = f"since/until: {err}"
        except HTTPException as refused:
            context["refusal"] = str(refused.detail)
    return render(request, "audit_find.html", context)


@router.get("/workflows/{workflow_id}")
async def workflow_page(
    request: Request,
    workflow_id: str,
    user: SignedIn,
    session: SessionDep,
    gateway: GatewayDep,
    settings: SettingsDep,
    db: DbDep,
    run_id: str | None = None,
    view: str = "all",
) -> Response:
    """One workflow: its timeline (who, in which role, why; refused acts too), replay, export, Temporal's UI."""
    actor = await _gate(request, user, db, *DESK)
    view = view if view in VIEWS else "all"
    kinds = VIEWS[view]
    timeline = await audit_api.workflow_timeline(
        workflow_id, actor, gateway, session, run_id, list(kinds) if kinds else None
    )
    return render(
        request,
        "audit_workflow.html",
        {
            "user": user,
            "timeline": timeline,
            "refused": sum(1 for e in timeline.entries if e.outcome == "refused"),
            "ui_link": temporal_ui_link(settings, workflow_id, timeline.run_id),
            "views": list(VIEWS),
            "view": view,
        },
    )


@router.get("/workflows/{workflow_id}/replay")
async def replay_workflow(
    request: Request, workflow_id: str, user: SignedIn, gateway: GatewayDep, db: DbDep, run_id: str | None = None
) -> Response:
    """Replay the run against today's workflow code (the API's replay, which changes nothing); the verdict."""
    actor = await _gate(request, user, db, *DESK)
    try:
        body = audit_api.ReplayRequest(workflow_id=workflow_id, run_id=run_id)
        report = await audit_api.replay_histories(body, actor, gateway, progress=False)
    except ValidationError as err:
        raise HTTPException(422, field_errors(err.errors())) from None
    return render(request, "audit_workflow.html", {"user": user, "report": report}, block="verdict")


@router.get("/workflows/{workflow_id}/history")
async def download_history(
    workflow_id: str, user: SignedIn, request: Request, gateway: GatewayDep, db: DbDep, run_id: str | None = None
) -> Response:
    """The history export (decoded for the auditor and journaled, as the API's) as a file to download."""
    actor = await _gate(request, user, db, *DESK)
    exported = await audit_api.export_history(workflow_id, actor, gateway, db, run_id=run_id, raw=False)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in workflow_id)
    exported.headers["Content-Disposition"] = f'attachment; filename="{safe}.history.json"'
    return exported


@router.get("/journal")
async def journal_page(
    request: Request,
    user: SignedIn,
    session: SessionDep,
    gateway: GatewayDep,
    settings: SettingsDep,
    db: DbDep,
    by: str = "",
    workflow_id: str = "",
    outcome: str = "",
    offset: int = 0,
) -> Response:
    """The audit journal, filtered, in time order; and the verification of its hash chain and anchors."""
    actor = await _gate(request, user, db, *DESK)
    offset = max(0, min(offset, 10_000_000))
    page = await journal.audit_journal(
        actor,
        session,
        by=by.strip() or None,
        action=None,
        subject_type=None,
        subject_id=None,
        workflow_id=workflow_id.strip() or None,
        outcome=outcome if outcome in ("accepted", "refused") else None,
        since=None,
        until=None,
        offset=offset,
        limit=_JOURNAL_PAGE,
    )
    chain = (
        await audit_api.verify_journal(actor, session, gateway, settings) if "verify" in request.query_params else None
    )
    filters = {"by": by, "workflow_id": workflow_id, "outcome": outcome}
    return render(
        request,
        "audit_journal.html",
        {"user": user, "page": page, "chain": chain, "filters": filters, "page_size": _JOURNAL_PAGE},
    )
