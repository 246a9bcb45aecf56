"""Pure parts of replay verification: reading divergence messages and history documents."""

from __future__ import annotations

import json

import pytest

from audit.history import WorkflowFilter, visibility_query
from audit.replay import divergence_point, histories_in
from tests.replay.golden import golden_files


@pytest.mark.parametrize(
    ("message", "point"),
    [
        (
            "[TMPRL1100] Nondeterminism error: Timer machine does not handle this event:"
            " HistoryEvent(id: 5, ActivityTaskScheduled)",
            (5, "ActivityTaskScheduled"),
        ),
        (
            "[TMPRL1100] No command scheduled for event HistoryEvent(id: 36, WorkflowExecutionCompleted)",
            (36, "WorkflowExecutionCompleted"),
        ),
        ("Nondeterminism error: mismatch at event id 12", (12, None)),
        ("Workflow task failed: boom", (None, None)),
    ],
)
def test_divergence_point_is_read_from_the_message(message, point):
    assert divergence_point(message) == point


def _golden() -> dict:
    return json.loads(golden_files()[0].read_text())


def test_history_documents_need_their_workflow_id():
    labelled = _golden()
    [history] = histories_in(labelled, name="golden")
    assert history.workflow_id == labelled["workflow_id"]
    bare = labelled["history"]
    assert histories_in(bare, name="bare", workflow_id="given")[0].workflow_id == "given"
    with pytest.raises(ValueError, match="does not name its workflow"):
        histories_in(bare, name="bare")
    assert len(histories_in([labelled, labelled], name="list")) == 2
    with pytest.raises(ValueError, match="expected a history"):
        histories_in({"what": 1}, name="junk")


def test_visibility_query_quotes_only_validated_values():
    query = visibility_query(
        WorkflowFilter(
            business_ref="CS202605010001",
            workflow_type="ServiceTicket",
            status="timed_out",
            closed_until="2026-05-02T00:00:00+08:00",
        )
    )
    assert query == (
        "BusinessRef = 'CS202605010001' AND WorkflowType = 'ServiceTicket' AND ExecutionStatus = 'TimedOut'"
        " AND CloseTime < '2026-05-01T16:00:00.000000Z' AND ExecutionStatus != 'Running'"
    )
    assert visibility_query(WorkflowFilter()) == ""
