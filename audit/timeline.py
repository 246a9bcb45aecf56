"""An auditor's timeline of one workflow: who did what, when and why, built from its history and the journal.

Works for every workflow type because it reads only what all of them share: Temporal's history events
(start and close, updates and signals carrying an Actor, timers with their summaries, activities), the
human-task changes every HumanTaskBook workflow records through `record_task_event` (deadlines set and
moved, pauses, reminders, escalations, breaches), and the audit journal rows of the workflow, which add
what never enters history (refused acts, history exports, contact reveals). Free text is masked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from core.contacts import mask_contacts, masked_contact
from workflows.common import BUSINESS_REF, RECORD_INCIDENT, RECORD_TASK_EVENT, STATE_CHANGE_WRITES

Kind = Literal[
    "workflow",
    "act",
    "deadline",
    "timer",
    "reminder",
    "escalation",
    "breach",
    "pause",
    "resume",
    "task",
    "status",
    "activity",
    "patch",
]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]
_TEXT_LIMIT = 300
LOCAL_ACTIVITY_MARKER = "core_local_activity"  # the SDK's marker for a local activity (type in `data`, `result`)
_REASON_KEYS = ("reason", "comment", "note", "explanation")
_CONTACT_KEYS = ("contact", "phone", "mobile", "email")


class TimelineEntry(BaseModel):
    """One thing that happened; `source` says where it was read, `event_id` which history event it is."""

    at: datetime
    kind: Kind
    actor: str | None = None
    roles: list[str] = Field(default_factory=list)
    action: str
    subject: str | None = None
    reason: str | None = None
    outcome: str | None = None
    source: Literal["history", "journal"]
    event_id: int | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class JournalRow(BaseModel):
    """The audit-journal fields the timeline shows."""

    id: int
    at: datetime
    actor: str
    actor_roles: list[str] = Field(default_factory=list)
    action: str
    subject_type: str
    subject_id: str
    outcome: str
    reason: str | None = None
    request_id: str | None = None


# ---- values ---------------------------------------------------------------------------------------


def payload_value(payload: Payload) -> Any:
    """A decoded payload's value; a marker for one still encrypted or in a format the timeline cannot read."""
    encoding = payload.metadata.get("encoding", b"").decode()
    if encoding == "binary/null":
        return None
    if encoding == "json/plain":
        return json.loads(payload.data)
    return f"<{encoding or 'unknown'} payload>"


def _first(payloads: Payloads) -> Any:
    return payload_value(payloads.payloads[0]) if payloads.payloads else None


def masked(text: Any) -> str | None:
    """Free text as the timeline may show it: contact details masked, length capped."""
    if text is None or text == "":
        return None
    value = mask_contacts(str(text))
    return value if len(value) <= _TEXT_LIMIT else value[: _TEXT_LIMIT - 1] + "…"


def summarise(value: Any) -> str:
    """A short readable summary of an activity result or workflow outcome."""
    if value is None:
        return "done"
    if isinstance(value, Mapping):
        parts = []
        for key, item in value.items():
            if isinstance(item, str) and any(word in key.lower() for word in _CONTACT_KEYS):
                parts.append(f"{key}={masked_contact(item)}")  # the whole field, whatever its shape
            elif isinstance(item, str | int | float | bool):
                parts.append(f"{key}={item}")
            elif isinstance(item, Mapping) and "name" in item:
                version = f" v{item['version']}" if "version" in item else ""
                parts.append(f"{key}={item['name']}{version}")
        return masked(", ".join(parts) or f"{len(value)} fields") or "done"
    if isinstance(value, list):
        return f"{len(value)} items"
    return masked(value) or "done"


def _who(value: Any, identity: str = "") -> dict[str, Any]:
    """actor and roles of the Actor a message or start input carries (`actor`, `created_by`, ...), else the identity."""
    found: Any = None
    if isinstance(value, Mapping):
        found = value.get("actor")
        if not isinstance(found, Mapping):
            found = next((v for v in value.values() if isinstance(v, Mapping) and "username" in v), None)
    found = found or {}
    return {"actor": found.get("username") or identity or None, "roles": list(found.get("roles", ()))}


def _reason_in(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    return masked(next((value[k] for k in _REASON_KEYS if value.get(k)), None))


def _audits_in(value: Any) -> Iterator[Mapping[str, Any]]:
    """Every audit record nested in an activity input (the journal rows a workflow writes)."""
    if isinstance(value, Mapping):
        if {"action", "request_id", "subject_type"} <= value.keys():
            yield value
        for item in value.values():
            yield from _audits_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _audits_in(item)


# ---- history ---------------------------------------------------------------------------------------


class _Reader:
    """Walks one history once, remembering what later events refer back to."""

    def __init__(self, history: WorkflowHistory) -> None:
        self.history = history
        self.entries: list[TimelineEntry] = []
        self.activities: dict[int, str] = {}  # scheduled event id → activity type
        self.timers: dict[int, str] = {}  # started event id → summary
        self.updates: dict[str, TimelineEntry] = {}  # update id → its act entry
        self.tasks: dict[str, Mapping[str, Any]] = {}  # task id → its last recorded state
        self.audits: dict[str, Mapping[str, Any]] = {}  # request id → audit record written by the workflow
        self.business_ref: str | None = None
        self.incident: Mapping[str, Any] = {}  # an incident's last recorded state

    def add(self, event: HistoryEvent, kind: str, action: str, **fields: Any) -> TimelineEntry:
        at = event.event_time.ToDatetime(tzinfo=UTC)
        entry = TimelineEntry(at=at, kind=kind, action=action, source="history", event_id=event.event_id, **fields)
        self.entries.append(entry)
        return entry

    def read(self) -> list[TimelineEntry]:
        for event in self.history.events:
            attribute = event.WhichOneof("attributes")
            if attribute is None:
                continue
            handler = getattr(self, f"_on_{attribute.removesuffix('_event_attributes')}", None)
            if handler is not None:
                handler(event, getattr(event, attribute))
        for request_id, entry in self.updates.items():  # the workflow's own journal row names the act best
            if audit := self.audits.get(request_id):
                entry.action = audit["action"]
                entry.subject = masked(f"{audit['subject_type']} {audit['subject_id']}")
        return self.entries

    # workflow start and close

    def _on_workflow_execution_started(self, event: HistoryEvent, a: Any) -> None:
        payload = a.search_attributes.indexed_fields.get(BUSINESS_REF.name)
        self.business_ref = payload_value(payload) if payload is not None else None
        start = _first(a.input)
        self.add(
            event,
            "workflow",
            "workflow.started",
            **_who(start, a.identity),
            subject=masked(a.workflow_type.name),
            reason=_reason_in(start),
            details={"business_ref": self.business_ref} if self.business_ref else {},
        )

    def _on_workflow_execution_completed(self, event: HistoryEvent, a: Any) -> None:
        self.add(event, "workflow", "workflow.completed", outcome=summarise(_first(a.result)))

    def _on_workflow_execution_failed(self, event: HistoryEvent, a: Any) -> None:
        self.add(event, "workflow", "workflow.failed", outcome="failed", reason=masked(a.failure.message))

    def _on_workflow_execution_terminated(self, event: HistoryEvent, a: Any) -> None:
        self.add(
            event,
            "workflow",
            "workflow.terminated",
            actor=a.identity or None,
            outcome="terminated",
            reason=masked(a.reason),
        )

    def _on_workflow_execution_canceled(self, event: HistoryEvent, a: Any) -> None:
        self.add(event, "workflow", "workflow.canceled", outcome="canceled")

    def _on_workflow_execution_timed_out(self, event: HistoryEvent, a: Any) -> None:
        self.add(event, "workflow", "workflow.timed_out", outcome="timed out")

    def _on_workflow_execution_continued_as_new(self, event: HistoryEvent, a: Any) -> None:
        self.add(event, "workflow", "workflow.continued_as_new", outcome=a.new_execution_run_id)

    # human acts: updates and signals carry the Actor

    def _on_workflow_execution_update_accepted(self, event: HistoryEvent, a: Any) -> None:
        request = a.accepted_request
        message = _first(request.input.args)
        fields = message if isinstance(message, Mapping) else {}
        detail = "release" if fields.get("release") else fields.get("type") or fields.get("outcome")
        entry = self.add(
            event,
            "act",
            ".".join(p for p in (request.input.name, detail) if p),
            **_who(fields, request.meta.identity),
            reason=_reason_in(fields),
            outcome="accepted",
            subject=masked(fields.get("task_id")),
            details={"update_id": request.meta.update_id},
        )
        self.updates[request.meta.update_id] = entry

    def _on_workflow_execution_update_completed(self, event: HistoryEvent, a: Any) -> None:
        entry = self.updates.get(a.meta.update_id)
        if entry is not None and a.outcome.HasField("failure"):
            entry.outcome, entry.reason = "failed", masked(a.outcome.failure.message)

    def _on_workflow_execution_signaled(self, event: HistoryEvent, a: Any) -> None:
        message = _first(a.input)
        self.add(
            event,
            "act",
            f"signal.{a.signal_name}",
            **_who(message, a.identity),
            reason=_reason_in(message),
            outcome="received",
        )

    # deadlines: timers and the human tasks' due times

    def _on_timer_started(self, event: HistoryEvent, a: Any) -> None:
        summary = payload_value(event.user_metadata.summary) if event.user_metadata.HasField("summary") else None
        self.timers[event.event_id] = summary or a.timer_id
        due = event.event_time.ToDatetime(tzinfo=UTC) + a.start_to_fire_timeout.ToTimedelta()
        self.add(
            event,
            "deadline",
            "timer.started",
            subject=masked(summary or f"timer {a.timer_id}"),
            details={"due_at": due.isoformat(), "timer_id": a.timer_id},
        )

    def _on_timer_fired(self, event: HistoryEvent, a: Any) -> None:
        self.add(event, "timer", "timer.fired", subject=masked(self.timers.get(a.started_event_id)))

    def _on_timer_canceled(self, event: HistoryEvent, a: Any) -> None:
        self.add(event, "timer", "timer.canceled", subject=masked(self.timers.get(a.started_event_id)))

    def _on_upsert_workflow_search_attributes(self, event: HistoryEvent, a: Any) -> None:
        for name, payload in a.search_attributes.indexed_fields.items():
            self.add(event, "status", f"{name}.set", outcome=masked(payload_value(payload)))

    def _on_marker_recorded(self, event: HistoryEvent, a: Any) -> None:
        if a.marker_name == "core_patch" and "patch-data" in a.details:
            patch = _first(a.details["patch-data"])
            self.add(event, "patch", "patch.applied", subject=patch.get("id") if isinstance(patch, Mapping) else None)
        elif a.marker_name == LOCAL_ACTIVITY_MARKER and "data" in a.details:
            self._local_activity(event, a)

    def _local_activity(self, event: HistoryEvent, a: Any) -> None:
        """A local activity: one marker with its type and result; a write's result is what it wrote (its input),
        or under a one-write patch its brief echo (the audit rows and the task changes, not the whole state)."""
        data = _first(a.details["data"])
        name = data.get("activity_type") if isinstance(data, Mapping) else None
        if "result" not in a.details:
            failure = a.failure.message if a.HasField("failure") else "failed"
            self.add(event, "activity", "activity.failed", subject=name, outcome="failed", reason=masked(failure))
            return
        written = _first(a.details["result"])
        for audit in _audits_in(written):
            self.audits.setdefault(audit["request_id"], audit)
        self.add(event, "activity", "activity.completed", subject=name, outcome=summarise(written))
        if name == RECORD_TASK_EVENT and isinstance(written, Mapping):
            self._task_event(event, written)
        elif name in STATE_CHANGE_WRITES and isinstance(written, Mapping):
            for change in written.get("tasks", ()):
                self._task_event(event, change)

    # activities (and, through record_task_event, every human task's life)

    def _on_activity_task_scheduled(self, event: HistoryEvent, a: Any) -> None:
        name = a.activity_type.name
        self.activities[event.event_id] = name
        argument = _first(a.input)
        for audit in _audits_in(argument):
            self.audits.setdefault(audit["request_id"], audit)
        self.add(event, "activity", "activity.scheduled", subject=name)
        if name == RECORD_TASK_EVENT and isinstance(argument, Mapping):
            self._task_event(event, argument)
        elif name == RECORD_INCIDENT and isinstance(argument, Mapping):
            self._incident_save(event, argument.get("incident") or {})

    def _on_activity_task_completed(self, event: HistoryEvent, a: Any) -> None:
        self.add(
            event,
            "activity",
            "activity.completed",
            subject=self.activities.get(a.scheduled_event_id),
            outcome=summarise(_first(a.result)),
        )

    def _on_activity_task_failed(self, event: HistoryEvent, a: Any) -> None:
        self.add(
            event,
            "activity",
            "activity.failed",
            subject=self.activities.get(a.scheduled_event_id),
            outcome="failed",
            reason=masked(a.failure.message),
        )

    def _on_activity_task_timed_out(self, event: HistoryEvent, a: Any) -> None:
        self.add(
            event,
            "activity",
            "activity.timed_out",
            subject=self.activities.get(a.scheduled_event_id),
            outcome="timed out",
        )

    def _on_activity_task_canceled(self, event: HistoryEvent, a: Any) -> None:
        self.add(
            event,
            "activity",
            "activity.canceled",
            subject=self.activities.get(a.scheduled_event_id),
            outcome="canceled",
        )

    def _task_event(self, event: HistoryEvent, change: Mapping[str, Any]) -> None:
        """Deadlines, pauses, closings, reminders, escalations and breaches of one human-task change."""
        task = change.get("task") or {}
        task_id = task.get("task_id")
        before = self.tasks.get(task_id) if task_id else None
        subject = masked(task.get("subject"))
        base = {"task_id": task_id, "task_kind": task.get("kind")}
        if task_id:
            self.tasks[task_id] = task
            self.business_ref = self.business_ref or task.get("business_ref")
        if task and before is None:
            self.add(
                event,
                "deadline",
                "task.opened",
                subject=subject,
                outcome=task.get("status"),
                details={**base, "due_at": task.get("due_at"), "candidates": task.get("candidates")},
            )
        elif task and before is not None:
            if task.get("suspended") and not before.get("suspended"):
                self.add(event, "pause", "task.suspended", subject=subject, details=base)
            elif before.get("suspended") and not task.get("suspended"):
                self.add(
                    event, "resume", "task.resumed", subject=subject, details={**base, "due_at": task.get("due_at")}
                )
            elif task.get("due_at") != before.get("due_at"):
                self.add(
                    event,
                    "deadline",
                    "task.due_moved",
                    subject=subject,
                    details={**base, "due_at": task.get("due_at"), "was": before.get("due_at")},
                )
            if task.get("status") != before.get("status"):
                self.add(
                    event,
                    "task",
                    f"task.{task.get('status')}",
                    actor=task.get("decided_by"),
                    subject=subject,
                    outcome=task.get("outcome") or task.get("status"),
                    reason=masked(task.get("comment")),
                    details=base,
                )
        reminders = [n for n in change.get("notifications", ()) if n.get("kind") == "remind"]
        if reminders:
            self.add(
                event,
                "reminder",
                "task.remind",
                subject=masked(reminders[0].get("message")),
                details={**base, "recipients": [_recipient(n) for n in reminders]},
            )
        audit = change.get("audit") or {}
        if audit.get("action") == "task.escalate":
            self.add(
                event,
                "escalation",
                "task.escalate",
                actor=audit.get("actor"),
                roles=list(audit.get("actor_roles", ())),
                subject=subject,
                reason=masked(audit.get("reason")),
                details={**base, "reassigned_to": (task.get("candidates") or {}).get("roles")},
            )
        if breach := change.get("breach"):
            self.add(
                event,
                "breach",
                "task.breach",
                subject=subject,
                outcome="breached",
                reason=masked(f"due {breach.get('due_at')}, responsible: {breach.get('responsible')}"),
                details={**base, "due_at": breach.get("due_at"), "responsible": breach.get("responsible")},
            )

    def _incident_save(self, event: HistoryEvent, incident: Mapping[str, Any]) -> None:
        """An incident's tickets linked and resolved, report-chain hand-ons and progress updates, as they happen."""
        before, self.incident = self.incident, incident
        known = {t.get("ticket_no"): t for t in before.get("tickets", ())}
        for ticket in incident.get("tickets", ()):
            number, was = ticket.get("ticket_no"), known.get(ticket.get("ticket_no"))
            if was is None:
                self.add(
                    event, "act", "incident.ticket_linked", actor=ticket.get("linked_by"), subject=f"ticket {number}"
                )
            elif ticket.get("resolved") is not None and was.get("resolved") is None:
                self.add(
                    event,
                    "status",
                    "incident.ticket_resolved" if ticket.get("resolved") else "incident.ticket_not_resolved",
                    subject=f"ticket {number}",
                    outcome=masked(ticket.get("result")),
                )
        for hand_on in list(incident.get("chain", ()))[len(before.get("chain", ())) :]:
            self.add(
                event,
                "act",
                "incident.hand_on",
                actor=hand_on.get("by"),
                subject=f"report chain: {hand_on.get('step')}",
                details={"to": list(hand_on.get("to", ())), "handed_on_at": hand_on.get("at")},
            )
        for update in list(incident.get("updates", ()))[len(before.get("updates", ())) :]:
            self.add(
                event,
                "reminder",
                "incident.progress_update",
                subject=masked(update.get("text")),
                details={"number": update.get("number"), "recipients": list(update.get("recipients", ()))},
            )


def _recipient(notification: Mapping[str, Any]) -> str:
    for key, label in (("recipient_user", "user"), ("recipient_role", "role"), ("recipient_department", "department")):
        if notification.get(key):
            return f"{label} {notification[key]}"
    return "nobody"


# ---- assembling ----------------------------------------------------------------------------------------


def journal_entry(row: JournalRow) -> TimelineEntry:
    """A journal row as a timeline entry (refused acts, exports and reveals never enter history)."""
    return TimelineEntry(
        at=row.at,
        kind="act",
        actor=row.actor,
        roles=list(row.actor_roles),
        action=row.action,
        subject=masked(f"{row.subject_type} {row.subject_id}"),
        reason=masked(row.reason),
        outcome=row.outcome,
        source="journal",
        details={"journal_id": row.id},
    )


class Timeline(BaseModel):
    """A workflow run's timeline, oldest first."""

    workflow_id: str
    run_id: str | None
    workflow_type: str | None
    business_ref: str | None
    entries: list[TimelineEntry]


def build_timeline(
    history: WorkflowHistory, journal: Iterable[JournalRow], *, kinds: Iterable[str] | None = None
) -> Timeline:
    """Merge a decoded history and the workflow's journal rows into one time-ordered list.

    A journal row the workflow itself wrote (same request id as an audit record in its history) is
    already told by the history and is left out; every other row (refusals, reads) is added.
    """
    reader = _Reader(history)
    entries = reader.read()
    entries += [journal_entry(row) for row in journal if row.request_id not in reader.audits]
    wanted = set(kinds) if kinds else None
    order = sorted(
        (e for e in entries if wanted is None or e.kind in wanted),
        key=lambda e: (e.at, e.source != "history", e.event_id or e.details.get("journal_id", 0)),
    )
    started = history.events[0].workflow_execution_started_event_attributes if history.events else None
    return Timeline(
        workflow_id=history.workflow_id,
        run_id=history.run_id if started is not None else None,
        workflow_type=started.workflow_type.name if started is not None else None,
        business_ref=reader.business_ref,
        entries=order,
    )
