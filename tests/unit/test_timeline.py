"""The pure history → timeline mapping, read over committed golden histories (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.api.common.v1 import Payload

from audit.replay import histories_from_path
from audit.timeline import JournalRow, build_timeline, masked, payload_value, summarise
from tests.replay.golden import HISTORIES


def timeline_of(workflow_type: str, scenario: str, journal=(), **options):
    [history] = histories_from_path(HISTORIES / workflow_type / f"{scenario}.json")
    return build_timeline(history, journal, **options)


def kinds(timeline) -> list[str]:
    return [e.kind for e in timeline.entries if e.kind not in ("activity", "timer", "status")]


def test_every_entry_is_in_time_order_and_names_its_event():
    timeline = timeline_of("ServiceTicket", "resolved-rated-closed")
    times = [e.at for e in timeline.entries]
    assert times == sorted(times) and all(e.at.tzinfo is not None for e in timeline.entries)
    assert all(e.source == "history" and e.event_id for e in timeline.entries)
    assert timeline.workflow_type == "ServiceTicket" and timeline.business_ref.startswith("CS")
    first, last = timeline.entries[0], timeline.entries[-1]
    assert (first.action, first.actor, first.roles) == ("workflow.started", "agent1", ["agent"])
    assert last.action == "workflow.completed" and "status=closed" in last.outcome


def test_acts_carry_actor_roles_reason_and_the_journal_action():
    timeline = timeline_of("ServiceTicket", "extension-approved")
    acts = [(e.action, e.actor, e.roles, e.reason) for e in timeline.entries if e.kind == "act"]
    assert acts == [
        ("ticket.accept", "engineer1", ["engineer"], None),
        ("ticket.request_extension", "engineer1", ["engineer"], "spare part on order"),
        ("task.approve", "supervisor1", ["supervisor"], None),
    ]
    request = next(e for e in timeline.entries if e.action == "ticket.request_extension")
    assert request.subject == f"ticket {timeline.business_ref}" and request.outcome == "accepted"
    moved = next(e for e in timeline.entries if e.action == "task.due_moved")
    assert moved.subject.endswith(": resolve") and moved.details["due_at"] > moved.details["was"]


def test_ladder_reminders_escalation_and_breach_come_in_order():
    timeline = timeline_of("ServiceTicket", "urgent-unaccepted-escalates")
    assert kinds(timeline)[:8] == [
        "workflow",
        "deadline",
        "deadline",
        "reminder",
        "deadline",
        "reminder",
        "deadline",
        "escalation",
    ]
    breach = next(e for e in timeline.entries if e.kind == "breach")
    assert breach.details["responsible"] == "department hardware-engineering" and breach.outcome == "breached"
    reminders = [e for e in timeline.entries if e.kind == "reminder"]
    assert reminders[1].details["recipients"] == ["department hardware-engineering", "role supervisor"]
    timer = next(e for e in timeline.entries if e.action == "timer.started")
    lead = (
        datetime.fromisoformat(timer.details["due_at"]) - timer.at
    )  # from the workflow's clock, a hair before the event
    assert timer.subject.startswith("remind 50% ") and abs(lead - timedelta(hours=1)) < timedelta(seconds=1)


def test_pause_and_resume_of_the_sla_clock():
    entries = timeline_of("ServiceTicket", "paused-and-resumed").entries
    pause = next(e for e in entries if e.action == "ticket.pause")
    resume = next(e for e in entries if e.action == "ticket.resume")
    assert (pause.reason, resume.reason) == ("customer's test window", "customer ready")
    assert [e.kind for e in entries if e.kind in ("pause", "resume")] == ["pause", "pause", "resume", "resume"]
    assert resume.at - pause.at >= timedelta(hours=1)


def test_approval_claims_and_decisions_are_generic():
    timeline = timeline_of("Approval", "claimed-and-released")
    acts = [(e.action, e.actor) for e in timeline.entries if e.kind == "act"]
    assert acts == [("task.claim", "supervisor1"), ("task.release", "supervisor1"), ("task.approve", "supervisor2")]


def test_journal_adds_refusals_and_drops_rows_the_history_already_tells():
    [history] = histories_from_path(HISTORIES / "ServiceTicket" / "extension-approved.json")
    told = build_timeline(history, [])
    approve = next(e for e in told.entries if e.action == "task.approve")
    at = approve.at - timedelta(milliseconds=1)
    journal = [
        JournalRow(
            id=7,
            at=at,
            actor="engineer1",
            actor_roles=["engineer"],
            action="task.approve",
            subject_type="task",
            subject_id="t1",
            outcome="refused",
            reason="call 13912345678: role supervisor required",
            request_id="refused:x",
        ),
        JournalRow(
            id=8,
            at=approve.at,
            actor="supervisor1",
            action="task.approve",
            subject_type="task",
            subject_id="t1",
            outcome="accepted",
            request_id=approve.details["update_id"],
        ),
    ]
    merged = build_timeline(history, journal)
    assert len(merged.entries) == len(told.entries) + 1
    refusal = next(e for e in merged.entries if e.source == "journal")
    assert (refusal.actor, refusal.outcome, refusal.event_id) == ("engineer1", "refused", None)
    assert refusal.reason == "call 139****5678: role supervisor required" and refusal.details == {"journal_id": 7}
    assert merged.entries.index(refusal) < merged.entries.index(approve)
    assert [e.at for e in merged.entries] == sorted(e.at for e in merged.entries)
    only_acts = build_timeline(history, journal, kinds=["act"])
    assert {e.kind for e in only_acts.entries} == {"act"} and len(only_acts.entries) == 4


def test_values_are_summarised_masked_and_never_fail():
    assert payload_value(Payload(metadata={"encoding": b"binary/null"})) is None
    assert (
        payload_value(Payload(metadata={"encoding": b"binary/encrypted"}, data=b"\0")) == "<binary/encrypted payload>"
    )
    assert masked("reach li.ming@example.com or 13812345678") == "reach l***@example.com or 138****5678"
    assert len(masked("x" * 1000)) == 300 and masked("") is None
    snapshot = {"calendar": {"name": "cn-mainland", "version": 2}, "policy": {"name": "standard"}, "ok": True}
    assert summarise(snapshot) == "calendar=cn-mainland v2, policy=standard, ok=True"
    assert summarise(None) == "done" and summarise([1, 2]) == "2 items"
    assert summarise({"contact": "010-62345678", "n": 1}) == "contact=010*****5678, n=1"
    assert summarise({"at": datetime(2026, 1, 1, tzinfo=UTC).isoformat()}) == "at=2026-01-01T00:00:00+00:00"
