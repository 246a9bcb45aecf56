"""Form posts turned into the API's inputs: intake fields, ticket acts, datetimes in the center's zone.

Nothing here judges: the values go to the same models and service functions as the API's JSON, whose messages
come back at the fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData

from core.sla import Priority
from core.tickets import Category, Channel, ComplaintType, ProgressKind

# Every intake field, in form order: (name, kind, choices).
INTAKE_FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("name", "text", ()),
    ("customer_id", "text", ()),
    ("customer_name", "text", ()),
    ("industry", "text", ()),
    ("contact", "text", ()),
    ("channel", "select", tuple(c.value for c in Channel)),
    ("preferred_channel", "select", tuple(c.value for c in Channel)),
    ("occurred_at", "datetime", ()),
    ("priority", "select", tuple(p.value for p in Priority)),
    ("categories", "multi", tuple(c.value for c in Category)),
    ("complaint_type", "select", tuple(c.value for c in ComplaintType)),
    ("major_complaint", "checkbox", ()),
    ("severity", "text", ()),
    ("scenario", "textarea", ()),
    ("description", "textarea", ()),
)

# The fields of each ticket act's form, in order: (name, kind, choices); resolution fields are dotted.
ACT_FIELDS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "accept": (("expected_resolution_at", "datetime", ()),),
    "log_progress": (
        ("kind", "select", tuple(k.value for k in ProgressKind)),
        ("text", "textarea", ()),
        ("outcome", "text", ()),
        ("is_plan", "checkbox", ()),
    ),
    "request_extension": (("new_expected_at", "datetime", ()), ("reason", "textarea", ())),
    "request_escalation": (
        ("new_expected_at", "datetime", ()),
        ("reason", "textarea", ()),
        ("resources_needed", "text", ()),
    ),
    "pause": (("kind", "select", ("customer", "third_party")), ("reason", "textarea", ())),
    "resume": (("note", "text", ()),),
    "resolve": (
        ("resolution.cause", "textarea", ()),
        ("resolution.solution", "textarea", ()),
        ("resolution.advice", "text", ()),
        ("resolution.channel", "select", tuple(c.value for c in Channel)),
    ),
    "verify_resolution": (("note", "text", ()),),
    "close": (),
    "reopen": (("reason", "textarea", ()),),
    "cancel": (("reason", "textarea", ()),),
}


def local_datetime(value: str, zone: str) -> datetime | str:
    """A datetime-local input ('2026-12-02T09:30') read in the center's zone; anything else is passed on as sent."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value  # the model names the field and says what is wrong
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(zone))


def _value(form: FormData, name: str, kind: str, zone: str) -> Any:
    if kind == "multi":
        return [v for v in form.getlist(name) if isinstance(v, str) and v]
    if kind == "checkbox":
        return form.get(name) in ("on", "true", "1")
    raw = form.get(name)
    text = raw.strip() if isinstance(raw, str) else ""
    if kind == "datetime" and text:
        return local_datetime(text, zone)
    return text


def intake_values(form: FormData, zone: str) -> dict[str, Any]:
    """The intake the form filled in: empty fields left out (an intake may be incomplete, as over the API)."""
    values: dict[str, Any] = {}
    for name, kind, _ in INTAKE_FIELDS:
        value = _value(form, name, kind, zone)
        if value not in ("", [], False):
            values[name] = value
    return values


def act_values(act: str, form: FormData, zone: str) -> dict[str, Any]:
    """The act the form filled in, as the API's act body: empty optional text left to its default."""
    values: dict[str, Any] = {"type": act}
    for name, kind, _ in ACT_FIELDS[act]:
        value = _value(form, name, kind, zone)
        if value == "" and kind in ("datetime", "select"):
            continue  # missing: the model says it is required
        head, _, tail = name.partition(".")
        if tail:
            values.setdefault(head, {})[tail] = value
        else:
            values[name] = value
    return values


def sent_values(form: FormData) -> Mapping[str, Any]:
    """What the form sent, to fill it in again after a refusal (lists kept for multi-selects)."""
    return {key: (form.getlist(key) if len(form.getlist(key)) > 1 else form.get(key)) for key in form}
