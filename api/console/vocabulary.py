"""Words the templates translate by value (statuses, choices, field, act and task-kind names), listed literally
so that `pybabel extract -k _ -k N_` finds them; tests/console/test_catalog.py checks the list covers every value
(`every_value`) and that each has its Chinese."""

from __future__ import annotations

from api.console.forms import ACT_FIELDS, INTAKE_FIELDS
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
)


def every_value() -> set[str]:
    """Every word shown translated by value: enum values, form fields and choices, acts, task kinds, outcomes."""
    enums = [TicketStatus, Priority, Category, Channel, ComplaintType, ProgressKind, Rating]
    words = {member.value for enum in enums for member in enum}
    words |= {name for name, _, _ in INTAKE_FIELDS}
    words |= {name for fields in ACT_FIELDS.values() for name, _, _ in fields} | set(ACT_FIELDS)
    words |= {choice for fields in ACT_FIELDS.values() for _, _, choices in fields for choice in choices}
    return words | TASK_WORDS
