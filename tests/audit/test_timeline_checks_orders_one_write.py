"""The auditor's timeline tells the same story of resource checks and provisioning orders before and after their
one-write patches (check-one-write, order-one-write), and the new paths are shorter.

Before, every task change of a check or an order had a local-activity marker of its own and the state's write
echoed the whole state; now an act's task changes ride with the state's write (record_check_change,
record_order_change), whose marker echoes only the audit row and the task changes, and the act's search-attribute
upserts go in one command. Both golden histories of each scenario must show who did what to which task.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from audit.timeline import build_timeline
from tests.replay.golden import HISTORIES
from workflows.common import RECORD_CHECK_CHANGE, RECORD_ORDER_CHANGE

CHECKS, ORDERS = HISTORIES / "ResourceCheck", HISTORIES / "ProvisioningOrder"
BEFORE_CHECK = "circuit-type-vocabulary+read-model-one-write+reservation-expiry-recorded"
# (before, after, activity of the new write): a plain check walk, a check with chases and a joint review, a plain
# order walk (every step once, approved), an order whose step is reminded, escalated and completed late.
PAIRS = {
    "plain check": (
        CHECKS / f"qualified-accepted+{BEFORE_CHECK}.json",
        CHECKS / "qualified-accepted+check-one-write.json",
        RECORD_CHECK_CHANGE,
    ),
    "escalated check": (
        CHECKS / f"late-department-escalated-joint-review+{BEFORE_CHECK}.json",
        CHECKS / "late-department-escalated-joint-review+check-one-write.json",
        RECORD_CHECK_CHANGE,
    ),
    "plain order": (
        ORDERS / "outlives-its-reservation+order-claims-reservation-at-create+order-starts-callbacks"
        "+read-model-one-write.json",
        ORDERS / "outlives-its-reservation+order-one-write.json",
        RECORD_ORDER_CHANGE,
    ),
    "escalated order": (
        ORDERS / "jeopardy-escalated-then-completed+order-starts-callbacks+read-model-one-write.json",
        ORDERS / "jeopardy-escalated-then-completed+order-one-write.json",
        RECORD_ORDER_CHANGE,
    ),
}


def _document(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _story(path: Path) -> list[tuple[str, str | None, str | None]]:
    """(action, actor, task kind or outcome) of every act and task change, in order."""
    document = _document(path)
    history = WorkflowHistory.from_json(document["workflow_id"], document["history"])
    entries = build_timeline(history, []).entries
    return [
        (e.action, e.actor, e.details.get("task_kind") or e.outcome)
        for e in entries
        if e.kind in ("act", "reminder", "escalation", "breach") or e.action.startswith("task.")
    ]


def _events(path: Path) -> int:
    return len(_document(path)["history"]["events"])


@pytest.mark.parametrize("case", PAIRS)
def test_both_paths_show_the_same_acts_and_task_changes_by_the_same_people(case):
    before, after, _ = PAIRS[case]
    story = _story(after)
    assert story == _story(before)
    assert any(action == "task.opened" for action, _, _ in story)
    assert any(action == "task.done" and actor for action, actor, _ in story)


@pytest.mark.parametrize("case", PAIRS)
def test_the_new_path_is_shorter_and_echoes_no_whole_state(case):
    before, after, write = PAIRS[case]
    assert _events(after) < _events(before)
    markers = [
        e["markerRecordedEventAttributes"]["details"]
        for e in _document(after)["history"]["events"]
        if e.get("markerRecordedEventAttributes", {}).get("markerName") == "core_local_activity"
    ]
    writes = [
        json.loads(_text(m["result"]))
        for m in markers
        if "result" in m and json.loads(_text(m["data"])).get("activity_type") == write
    ]
    assert writes and all({"check", "order"}.isdisjoint(w) and "subject_id" in w for w in writes)
    assert any(w["tasks"] for w in writes)  # task changes rode with the state's write


def test_history_lengths_before_and_after():
    """The figures bench/README.md quotes (the golden files are fixed, so are these): events per history."""
    counts = {case: (_events(before), _events(after)) for case, (before, after, _) in PAIRS.items()}
    assert counts == {
        "plain check": (52, 42),
        "escalated check": (132, 107),
        "plain order": (127, 109),
        "escalated order": (136, 118),
    }


def _text(payloads: dict) -> str:
    return base64.b64decode(payloads["payloads"][0]["data"]).decode()
