"""The auditor's timeline tells the same story of a plain ticket walk before and after read-model-one-write.

Under read-model-local every task change had a marker of its own (its whole input echoed); under
read-model-one-write an act's task changes ride with the ticket's write, whose marker echoes only the audit
row and the task changes. Both golden histories must still show who did what to which task.
"""

from __future__ import annotations

import base64
import json

from temporalio.client import WorkflowHistory

from audit.timeline import build_timeline
from tests.replay.golden import HISTORIES

TICKETS = HISTORIES / "ServiceTicket"
BEFORE = TICKETS / (
    "resolved-rated-closed+read-model-local+survey-secret-from-activity+ticket-resolution-template"
    "+ticket-sla-due-at.json"
)
AFTER = TICKETS / "resolved-rated-closed+read-model-one-write.json"


def _story(path) -> list[tuple[str, str | None, str | None]]:
    """(action, actor, task kind or outcome) of every act and task change, in order."""
    document = json.loads(path.read_text(encoding="utf-8"))
    history = WorkflowHistory.from_json(document["workflow_id"], document["history"])
    entries = build_timeline(history, []).entries
    return [
        (e.action, e.actor, e.details.get("task_kind") or e.outcome)
        for e in entries
        if e.kind == "act" or e.action.startswith("task.")
    ]


def test_both_paths_show_the_same_acts_and_task_changes():
    before, after = _story(BEFORE), _story(AFTER)
    assert after == before
    assert ("ticket.accept", "engineer1", "accepted") in after
    assert ("task.done", "engineer1", "accept") in after
    assert [kind for action, _, kind in after if action == "task.opened"] == ["accept", "plan", "resolve"]
    assert ("ticket.close", "agent1", "accepted") in after


def test_the_new_path_echoes_no_whole_ticket():
    document = json.loads(AFTER.read_text(encoding="utf-8"))
    markers = [
        e["markerRecordedEventAttributes"]
        for e in document["history"]["events"]
        if e.get("markerRecordedEventAttributes", {}).get("markerName") == "core_local_activity"
    ]
    results = [json.loads(_text(m["details"]["result"])) for m in markers if "result" in m["details"]]
    writes = [r for r in results if isinstance(r, dict) and "subject_id" in r]
    assert writes and all("ticket" not in r and "intake" not in json.dumps(r) for r in writes)


def _text(payloads: dict) -> str:
    return base64.b64decode(payloads["payloads"][0]["data"]).decode()
