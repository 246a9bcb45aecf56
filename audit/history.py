"""Workflow histories for auditors: find runs through Temporal visibility, fetch a history, decode its payloads.

Exports use the format of `temporal workflow show --output json` (`WorkflowHistory.to_json()`), so an
export replays with the SDK's Replayer and loads in Temporal's own tools.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from google.protobuf.message import Message
from pydantic import AwareDatetime, BaseModel, Field
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowExecution, WorkflowHistory
from temporalio.converter import PayloadCodec

from workflows.common import BUSINESS_REF, ORDER_KIND, WORK_STATUS

# Visibility values are quoted into a query string: only characters that cannot end the quote.
SAFE_VALUE = r"^[A-Za-z0-9_.:@/\-]{1,200}$"
Status = Literal["running", "completed", "failed", "canceled", "terminated", "continued_as_new", "timed_out"]
STATUSES: dict[str, str] = {
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "canceled": "Canceled",
    "terminated": "Terminated",
    "continued_as_new": "ContinuedAsNew",
    "timed_out": "TimedOut",
}
# Never decoded: search attributes are not payloads a codec wrote; headers are not encoded by our workers.
_NOT_ENCODED = {"temporal.api.common.v1.SearchAttributes", "temporal.api.common.v1.Header"}
_PAYLOAD = Payload.DESCRIPTOR.full_name
_FAILURE = Failure.DESCRIPTOR.full_name


class WorkflowFilter(BaseModel):
    """What an auditor may list workflows by; every value is validated before it enters a visibility query."""

    business_ref: str | None = Field(default=None, pattern=SAFE_VALUE, description="ticket number or order id")
    workflow_type: str | None = Field(default=None, pattern=SAFE_VALUE, description="e.g. Approval")
    order_kind: str | None = Field(default=None, pattern=SAFE_VALUE)
    workflow_id: str | None = Field(default=None, pattern=SAFE_VALUE)
    status: Status | None = None
    started_since: AwareDatetime | None = None
    started_until: AwareDatetime | None = None
    closed_since: AwareDatetime | None = None
    closed_until: AwareDatetime | None = None


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def visibility_query(f: WorkflowFilter) -> str:
    """The Temporal list filter for `f` (empty: every workflow); SQL visibility allows no custom ORDER BY."""
    clauses = [
        f"{name} = '{value}'"
        for name, value in (
            (BUSINESS_REF.name, f.business_ref),
            (ORDER_KIND.name, f.order_kind),
            ("WorkflowType", f.workflow_type),
            ("WorkflowId", f.workflow_id),
            ("ExecutionStatus", STATUSES[f.status] if f.status else None),
        )
        if value is not None
    ]
    for name, op, value in (
        ("StartTime", ">=", f.started_since),
        ("StartTime", "<", f.started_until),
        ("CloseTime", ">=", f.closed_since),
        ("CloseTime", "<", f.closed_until),
    ):
        if value is not None:
            clauses.append(f"{name} {op} '{_instant(value)}'")
    if f.closed_since or f.closed_until:
        clauses.append("ExecutionStatus != 'Running'")
    return " AND ".join(clauses)


class WorkflowRun(BaseModel):
    """One workflow run as visibility knows it (no payloads: nothing here is encrypted or sensitive)."""

    workflow_id: str
    run_id: str
    workflow_type: str
    status: str | None
    start_time: datetime
    close_time: datetime | None
    history_length: int
    business_ref: str | None
    order_kind: str | None
    work_status: str | None

    @classmethod
    def of(cls, execution: WorkflowExecution) -> WorkflowRun:
        """The view of a listed execution."""
        attributes = execution.typed_search_attributes
        status = execution.status
        return cls(
            workflow_id=execution.id,
            run_id=execution.run_id,
            workflow_type=execution.workflow_type,
            status=status.name.lower() if status is not None else None,
            start_time=execution.start_time,
            close_time=execution.close_time,
            history_length=execution.history_length,
            business_ref=attributes.get(BUSINESS_REF),
            order_kind=attributes.get(ORDER_KIND),
            work_status=attributes.get(WORK_STATUS),
        )


async def list_runs(
    client: Client, f: WorkflowFilter, *, page_size: int, page_token: bytes | None = None
) -> tuple[list[WorkflowRun], bytes | None]:
    """One page of runs matching `f` and the token of the next page (None at the end)."""
    pages = client.list_workflows(visibility_query(f), page_size=page_size, next_page_token=page_token)
    await pages.fetch_next_page(page_size=page_size)
    return [WorkflowRun.of(e) for e in pages.current_page or ()], pages.next_page_token or None


async def fetch_history(client: Client, workflow_id: str, run_id: str | None = None) -> WorkflowHistory:
    """A run's full history as stored (payloads still encrypted); the latest run when run_id is None."""
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()


def _messages_with_payloads(message: Message) -> Iterator[Message]:
    """Every Payload and Failure nested in a message, depth first (search attributes and headers skipped)."""
    for field, value in message.ListFields():
        kind = field.message_type
        if kind is None or kind.full_name in _NOT_ENCODED:
            continue
        if kind.GetOptions().map_entry:
            if kind.fields_by_name["value"].message_type is None:
                continue
            items = list(value.values())
        else:
            items = list(value) if field.is_repeated else [value]
        for item in items:
            name = item.DESCRIPTOR.full_name
            if name == _PAYLOAD:
                yield item
                continue
            yield from _messages_with_payloads(item)
            if name == _FAILURE:
                yield item  # after its encoded attributes were yielded (and so decoded)


def _restore_failure_text(failure: Failure) -> None:
    """Put a decoded failure's message and stack trace back where a reader expects them."""
    attributes = failure.encoded_attributes
    if not failure.HasField("encoded_attributes") or attributes.metadata.get("encoding") != b"json/plain":
        return
    decoded = json.loads(attributes.data)
    failure.message = decoded.get("message", failure.message)
    failure.stack_trace = decoded.get("stack_trace", failure.stack_trace)
    failure.ClearField("encoded_attributes")


async def decode_history(history: WorkflowHistory, codec: PayloadCodec) -> WorkflowHistory:
    """A copy of the history with every payload decrypted and failure texts restored; replays like the original."""
    copy = History(events=history.events)
    found = list(_messages_with_payloads(copy))
    payloads = [m for m in found if isinstance(m, Payload)]
    for payload, decoded in zip(payloads, await codec.decode(payloads), strict=True):
        if decoded is not payload:
            payload.CopyFrom(decoded)
    for failure in found:
        if isinstance(failure, Failure):
            _restore_failure_text(failure)
    return WorkflowHistory(history.workflow_id, copy.events)


def history_document(history: WorkflowHistory) -> dict[str, Any]:
    """The history as `temporal workflow show --output json` prints it."""
    return history.to_json_dict()
