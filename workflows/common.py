"""Names shared by workflows, the worker and the API: activity names, search attributes, options."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar, overload

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

# Search attributes: opaque references only, never customer data (they are not encrypted).
BUSINESS_REF = SearchAttributeKey.for_keyword("BusinessRef")
ORDER_KIND = SearchAttributeKey.for_keyword("OrderKind")
WORK_STATUS = SearchAttributeKey.for_keyword("WorkStatus")
SLA_DUE_AT = SearchAttributeKey.for_datetime("SlaDueAt")
ESCALATED = SearchAttributeKey.for_bool("Escalated")
ALL_SEARCH_ATTRIBUTES = (BUSINESS_REF, ORDER_KIND, WORK_STATUS, SLA_DUE_AT, ESCALATED)
_CLI_TYPES = {
    "KEYWORD": "Keyword",
    "DATETIME": "Datetime",
    "BOOL": "Bool",
    "TEXT": "Text",
    "INT": "Int",
    "FLOAT": "Double",
}


def search_attribute_types() -> dict[str, str]:
    """Name → type as the `temporal` CLI spells it (dev-server flags, compose init script)."""
    return {key.name: _CLI_TYPES[key.indexed_value_type.name] for key in ALL_SEARCH_ATTRIBUTES}


# Activities are called by name so workflow modules never import database code.
LOAD_POLICY_SNAPSHOT = "load_policy_snapshot"
RECORD_TASK_EVENT = "record_task_event"
RECORD_TICKET = "record_ticket"
RECORD_TICKET_CHANGE = "record_ticket_change"  # under ONE_WRITE: the ticket with its act's task changes, brief echo
ISSUE_SURVEY = "issue_survey"
ARCHIVE_TICKET = "archive_ticket"
HOLD_RESERVATION = "hold_reservation"
CLAIM_RESERVATION = "claim_reservation"
RELEASE_RESERVATION = "release_reservation"
RELEASE_ORDER_RESERVATIONS = "release_order_reservations"
RECORD_RESOURCE_CHECK = "record_resource_check"
RECORD_CHECK_CHANGE = "record_check_change"  # under check-one-write: the check with its act's task changes
LOAD_PROVISIONING_RULES = "load_provisioning_rules"
RECORD_ORDER = "record_order"
RECORD_ORDER_CHANGE = "record_order_change"  # under order-one-write: the order with its act's task changes
REPORT_COMPLETION = "report_completion"
WRITE_LEDGER = "write_ledger"
CLOSE_CIRCUIT = "close_circuit"
RECORD_DEMAND = "record_demand"
LOAD_CHECK_SUMMARY = "load_check_summary"
LOAD_QUALITY_PLAN = "load_quality_plan"
RECORD_INSPECTION = "record_inspection"
RECORD_MESSAGE_THREAD = "record_message_thread"
LOAD_INCIDENT_POLICY = "load_incident_policy"
RECORD_INCIDENT = "record_incident"
DETECT_INCIDENT = "detect_incident"
RESOLVE_INCIDENT_TICKETS = "resolve_incident_tickets"
RECORD_CALLBACK = "record_callback"
LOAD_CALLBACK_SUBJECT = "load_callback_subject"
RAISE_CALLBACK_TICKET = "raise_callback_ticket"

# Read-model writes retry until the database is back: a workflow must never fail because of an outage.
DB_WRITE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
DB_WRITE_TIMEOUT = timedelta(seconds=15)
READ_MODEL_LOCAL = "read-model-local"  # patch: read-model loads and writes run as local activities (issue 18)
# patch: an act's writes go in one local activity with a brief echo and one search-attribute upsert (issue 18).
# It came after every other patch `patched_since` is asked about, so a run under it records no marker of theirs.
ONE_WRITE = "read-model-one-write"
# The writes of a state with its act's task changes, each echoing a WriteEcho (the auditor's timeline reads them).
STATE_CHANGE_WRITES = (RECORD_TICKET_CHANGE, RECORD_CHECK_CHANGE, RECORD_ORDER_CHANGE)

# Calls to outside systems (the group dispatch system) back off longer and never give up: the order waits.
EXTERNAL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5))
EXTERNAL_TIMEOUT = timedelta(seconds=30)


async def wait_until(instant: datetime, condition: Callable[[], bool], *, summary: str) -> bool:
    """Wait for `condition` until `instant`; True when it held first. An instant already come sets no timer (P10)."""
    seconds = (instant - workflow.now()).total_seconds()
    if seconds <= 0:
        return condition()
    try:
        await workflow.wait_condition(condition, timeout=seconds, timeout_summary=summary)
    except TimeoutError:
        return False
    return True


def patched_since(patch_id: str) -> bool:
    """`workflow.patched(patch_id)`, but True without a marker of its own on a run under ONE_WRITE (which implies it)
    or under the workflow's own later one-write patch (`HumanTaskBook.one_write_patch`: checks, orders).

    Every patch costs a history marker and a search-attribute upsert; a run started under ONE_WRITE runs code that
    has every earlier patch, so asking ONE_WRITE first spares those events. Runs from before keep their markers."""
    own = getattr(workflow.instance(), "one_write_patch", None)
    return bool(own and workflow.patched(own)) or workflow.patched(ONE_WRITE) or workflow.patched(patch_id)


T = TypeVar("T")


@overload
async def db_call(activity: str, arg: object) -> None: ...
@overload
async def db_call(activity: str, arg: object, result_type: type[T]) -> T: ...
async def db_call(activity: str, arg: object, result_type: type[Any] | None = None) -> Any:
    """Run a read-model activity (a load or a write): retried until the database is back.

    Under READ_MODEL_LOCAL it runs as a local activity: in the same workflow task, one marker event instead of
    three events and a workflow task of its own. A local activity's input is not in the history, so a write returns
    what it wrote (the auditor's timeline reads it from the marker)."""
    if patched_since(READ_MODEL_LOCAL):
        try:
            return await workflow.execute_local_activity(
                activity,
                arg,
                result_type=result_type,
                start_to_close_timeout=DB_WRITE_TIMEOUT,
                retry_policy=DB_WRITE_RETRY,
            )
        except ApplicationError as failure:  # a local activity's refusal arrives unwrapped: wrap it as a remote one's
            raise ActivityError(
                f"{activity} failed",
                scheduled_event_id=0,
                started_event_id=0,
                identity="",
                activity_type=activity,
                activity_id="",
                retry_state=RetryState.NON_RETRYABLE_FAILURE,
            ) from failure
    return await workflow.execute_activity(
        activity, arg, result_type=result_type, start_to_close_timeout=DB_WRITE_TIMEOUT, retry_policy=DB_WRITE_RETRY
    )
