"""Words the templates translate by value (statuses, choices, field, act and task-kind names), listed literally
so that `pybabel extract -k _ -k N_` finds them; tests/console/test_catalog.py checks the list covers every value
(`every_value`) and that each has its Chinese."""

from __future__ import annotations

import re
from collections.abc import Callable

from api.console.forms import ACT_FIELDS, INTAKE_FIELDS
from core.kpis import CATALOGUE
from core.roles import Role
from core.sla import Priority
from core.tickets import Category, Channel, ComplaintType, ProgressKind, Rating, TicketStatus


def N_(message: str) -> str:
    """Marks a message for extraction; translated where it is shown."""
    return message


# Task kinds and decision outcomes come from the workflows; the rest from the enums and forms below.
TASK_WORDS = frozenset(
    (
        "accept",
        "plan",
        "resolve",
        "callback",
        "complaint_forward",
        "complete_intake",
        "coordinate",
        "escalation",
        "extension",
        "followup_assignment",
        "onsite_visit",
        "rating_followup",
        "second_followup",
        "support",
        "approval",
        "approve",
        "reject",
        "registered",
        # how a task ended (the workflows' close_task outcomes)
        "accepted",
        "answered",
        "approved",
        "completed",
        "planned",
        "recheck",
        "resolved",
        "sent",
        "superseded",
    )
)

VOCABULARY = (
    N_("open"),
    N_("done"),
    N_("accept"),
    N_("action"),
    N_("aftersales_hardware"),
    N_("aftersales_software"),
    N_("approval"),
    N_("approve"),
    N_("billing"),
    N_("callback"),
    N_("cancel"),
    N_("cancelled"),
    N_("categories"),
    N_("channel"),
    N_("close"),
    N_("closed"),
    N_("collaboration"),
    N_("complaint"),
    N_("complaint_forward"),
    N_("complaint_type"),
    N_("complete_intake"),
    N_("contact"),
    N_("coordinate"),
    N_("customer"),
    N_("customer_contact"),
    N_("customer_id"),
    N_("customer_name"),
    N_("description"),
    N_("device"),
    N_("dissatisfied"),
    N_("email"),
    N_("escalation"),
    N_("expected_resolution_at"),
    N_("extension"),
    N_("followup_assignment"),
    N_("held"),
    N_("high"),
    N_("in_progress"),
    N_("industry"),
    N_("intake_incomplete"),
    N_("is_plan"),
    N_("kind"),
    N_("log_progress"),
    N_("low"),
    N_("major_complaint"),
    N_("medium"),
    N_("name"),
    N_("neutral"),
    N_("new_expected_at"),
    N_("note"),
    N_("occurred_at"),
    N_("online_chat"),
    N_("onsite_visit"),
    N_("other"),
    N_("outcome"),
    N_("pause"),
    N_("pending_assignment"),
    N_("pending_feedback"),
    N_("phone"),
    N_("plan"),
    N_("portal"),
    N_("preferred_channel"),
    N_("presales"),
    N_("priority"),
    N_("rating_followup"),
    N_("reason"),
    N_("registered"),
    N_("reject"),
    N_("reopen"),
    N_("request_escalation"),
    N_("request_extension"),
    N_("resolution.advice"),
    N_("resolution.cause"),
    N_("resolution.channel"),
    N_("resolution.solution"),
    N_("resolve"),
    N_("resolved"),
    N_("resources_needed"),
    N_("resume"),
    N_("satisfied"),
    N_("scenario"),
    N_("second_followup"),
    N_("service_quality"),
    N_("severity"),
    N_("support"),
    N_("text"),
    N_("third_party"),
    N_("urgent"),
    N_("verify_resolution"),
    N_("waiting_customer"),
    N_("walk_in"),
    # how a task ended
    N_("accepted"),
    N_("answered"),
    N_("approved"),
    N_("completed"),
    N_("planned"),
    N_("recheck"),
    N_("sent"),
    N_("superseded"),
    # the user administration's fields and roles
    N_("password"),
    N_("agent"),
    N_("engineer"),
    N_("supervisor"),
    N_("coordinator"),
    N_("department"),
    N_("reviewer"),
    N_("auditor"),
    N_("admin"),
    # what a version change is, and what a user change did
    N_("added"),
    N_("removed"),
    N_("changed"),
    N_("deactivated"),
    N_("reactivated"),
    # the KPIs' titles (core/kpis.py CATALOGUE)
    N_("Timeliness of the first response (acceptance)"),
    N_("Timeliness of the handling plan"),
    N_("Timeliness of the resolution"),
    N_("Resource-check timeliness"),
    N_("Service activation timeliness"),
    N_("SLA breaches (timeouts)"),
    N_("Customer satisfaction rate"),
    N_("Reopen rate"),
    N_("Fault-handling timeliness"),
    N_("Report timeliness (operation, fault and quarterly reports)"),
    N_("Service activation cycle time"),
    N_("Second follow-ups done on time"),
    N_("Complaint callback rate"),
    N_("Complaints completed within 48 h"),
    N_("Quality-inspection score (质检)"),
    N_("Staff evaluation"),
    N_("Scheduled callback rate"),
)


def every_value() -> set[str]:
    """Every word shown translated by value: enum values, form fields and choices, acts, task kinds, outcomes."""
    enums = [TicketStatus, Priority, Category, Channel, ComplaintType, ProgressKind, Rating]
    words = {member.value for enum in enums for member in enum}
    words |= {name for name, _, _ in INTAKE_FIELDS}
    words |= {name for fields in ACT_FIELDS.values() for name, _, _ in fields} | set(ACT_FIELDS)
    words |= {choice for fields in ACT_FIELDS.values() for _, _, choices in fields for choice in choices}
    words |= {role.value for role in Role} | {kpi.title for kpi in CATALOGUE}
    return words | TASK_WORDS


# Task subjects and status reasons are written by the workflows in English ("CS…: send the handling plan"); the
# console shows them in the page's language. Each phrase is a pattern and its message; a subject is
# "<ref>: <phrase>[: <phrase or free text>]…", and what no pattern knows (a step title, a person's reason) is shown
# as written.
_ISO = r"\d{4}-\d\d-\d\dT[\d:.]+(?:[+-]\d\d:\d\d|Z)?"
SUBJECT_PHRASES: tuple[tuple[str, str], ...] = (
    (
        r"accept the ticket and set the expected resolution time",
        N_("accept the ticket and set the expected resolution time"),
    ),
    (r"send the handling plan", N_("send the handling plan")),
    (r"resolve \(customer not satisfied with the fix\)", N_("resolve (customer not satisfied with the fix)")),
    (r"resolve \(reopened\)", N_("resolve (reopened)")),
    (r"resolve", N_("resolve")),
    (r"call the customer back", N_("call the customer back")),
    (r"cross-department", N_("cross-department")),
    (r"name the lead and supporting departments", N_("name the lead and supporting departments")),
    (r"major complaint", N_("major complaint")),
    (r"visit the customer on site", N_("visit the customer on site")),
    (r"no rating yet", N_("no rating yet")),
    (r"contact the customer for their satisfaction", N_("contact the customer for their satisfaction")),
    (r"second follow-up", N_("second follow-up")),
    (
        r"revisit the customer and record improvement suggestions",
        N_("revisit the customer and record improvement suggestions"),
    ),
    (r"complete the intake", N_("complete the intake")),
    (r"extend the resolution deadline to (?P<at>" + _ISO + ")", N_("extend the resolution deadline to %(at)s")),
    (
        r"escalate to tier (?P<tier>\d+), new deadline (?P<at>" + _ISO + ")",
        N_("escalate to tier %(tier)s, new deadline %(at)s"),
    ),
    (
        r"forward the (?P<word>\w*) ?complaint to the responsible department head",
        N_("forward the %(word)s complaint to the responsible department head"),
    ),
    (r"rated (?P<word>\w+)", N_("rated %(word)s")),
    (r"assign someone for the second follow-up", N_("assign someone for the second follow-up")),
    (r"support the lead department (?P<department>\S+)", N_("support the lead department %(department)s")),
    (r"jointly review the solution \((?P<department>[^)]+)\)", N_("jointly review the solution (%(department)s)")),
    (r"item (?P<item>[^:]+)", N_("item %(item)s")),
    (r"(?P<what>[^:]+?) at (?P<sites>[^:]+?) by (?P<date>\d{4}-\d\d-\d\d)", N_("%(what)s at %(sites)s by %(date)s")),
    (r"can you serve it\?", N_("can you serve it?")),
    (
        r"joint review of the (?P<word>\S+) solution \(round (?P<round>\d+)\) for (?P<department>\S+)",
        N_("joint review of the %(word)s solution (round %(round)s) for %(department)s"),
    ),
    (r"result (?P<word>\S+) \(round (?P<round>\d+)\)", N_("result %(word)s (round %(round)s)")),
    (r"accept it or ask for a re-check", N_("accept it or ask for a re-check")),
    (r"do existing products fit this demand\?", N_("do existing products fit this demand?")),
    (r"draft the solution with the departments", N_("draft the solution with the departments")),
    (
        r"refine the demand the group-customer department raised",
        N_("refine the demand the group-customer department raised"),
    ),
    (r"sign the contract with the customer", N_("sign the contract with the customer")),
    # why a ticket's status changed (its status history)
    (r"registered", N_("registered")),
    (r"intake complete", N_("intake complete")),
    (r"accepted by (?P<who>\S+)", N_("accepted by %(who)s")),
    (r"resumed", N_("resumed")),
    (r"resolved by the handler", N_("resolved by the handler")),
    (r"verified by the handler", N_("verified by the handler")),
    (r"customer confirmed", N_("customer confirmed")),
    (r"customer says the problem is not resolved", N_("customer says the problem is not resolved")),
    (r"closed by (?P<who>\S+)", N_("closed by %(who)s")),
    (r"reopened", N_("reopened")),
)
_PHRASES = tuple((re.compile(pattern), message) for pattern, message in SUBJECT_PHRASES)


def _phrase(text: str, gettext: Callable[[str], str], moment: Callable[[str], str]) -> str | None:
    """`text` in the page's language when it starts with a known phrase (then ': ' and more, each translated)."""
    for pattern, message in _PHRASES:
        found = pattern.match(text)
        if found is None:
            continue
        rest = text[found.end() :]
        if rest and not rest.startswith(": "):
            continue  # only the start of a longer phrase matched
        values = {
            key: moment(value) if key == "at" else gettext(value) if key == "word" and value else value
            for key, value in found.groupdict().items()
        }
        shown = gettext(message) % values
        if rest:
            tail = rest[2:]
            shown += ": " + (_phrase(tail, gettext, moment) or tail)
        return shown
    return None


def task_subject(subject: str, gettext: Callable[[str], str], moment: Callable[[str], str] = str) -> str:
    """A task's subject in the page's language: its reference kept, its known phrases translated (`moment` shows
    an ISO timestamp in it, e.g. in the center's zone)."""
    ref, sep, rest = subject.partition(": ")
    phrase = _phrase(rest, gettext, moment) if sep else None
    if phrase is not None:
        return f"{ref}: {phrase}"
    return _phrase(subject, gettext, moment) or subject
