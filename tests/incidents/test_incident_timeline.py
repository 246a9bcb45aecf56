"""The auditor's timeline of an incident, read from its golden histories: who linked, decided, handed on and
stood down, when; the tickets resolved with it; the progress updates and their recipients."""

from __future__ import annotations

from audit.replay import histories_from_path
from audit.timeline import build_timeline
from tests.replay.golden import HISTORIES


def _timeline(scenario: str):
    (history,) = histories_from_path(HISTORIES / "Incident" / f"{scenario}.json")
    return build_timeline(history, [])


def test_a_restored_incident_shows_its_tickets_stages_and_updates():
    timeline = _timeline("restored-and-reviewed")
    assert timeline.workflow_type == "Incident" and timeline.business_ref.startswith("INC")
    entries = timeline.entries
    linked = [e for e in entries if e.action == "incident.ticket_linked"]
    resolved = [e for e in entries if e.action == "incident.ticket_resolved"]
    assert len(linked) == 2 and {e.actor for e in linked} == {"supervisor1"}
    assert {e.subject for e in resolved} == {e.subject for e in linked} and {e.outcome for e in resolved} == {
        "resolved"
    }
    acts = {(e.action, e.actor) for e in entries if e.kind == "act"}
    started = next(e for e in entries if e.action == "workflow.started")
    assert started.actor == "supervisor1"  # the declaration
    assert ("incident.assign_member", "supervisor2") in acts
    assert ("incident.log_note", "engineer2") in acts
    decided = [(e.details["task_kind"], e.actor) for e in entries if e.action == "task.done"]
    assert decided == [
        ("incident_report", "supervisor2"),
        ("incident_start_plan", "supervisor2"),
        ("incident_analyse", "engineer2"),
        ("incident_solution", "engineer2"),
        ("incident_carry_out", "supervisor2"),
        ("incident_review", "supervisor2"),
    ]
    (update,) = [e for e in entries if e.action == "incident.progress_update"]
    assert "role:supervisor" in update.details["recipients"] and "user:supervisor2" in update.details["recipients"]
    assert [e.at for e in entries] == sorted(e.at for e in entries)


def test_a_major_fault_shows_each_hand_on_with_its_time_and_the_stand_down():
    entries = _timeline("major-chain-stood-down").entries
    hand_ons = [e for e in entries if e.action == "incident.hand_on"]
    assert [(e.subject, e.actor, e.details["to"]) for e in hand_ons] == [
        ("report chain: departments", "supervisor2", ["operations", "opshead"]),
        ("report chain: account_owner", "supervisor2", ["gcd1", "opshead"]),
        ("report chain: senior_management", "gcd1", ["admin"]),
    ]
    assert [e.at for e in hand_ons] == sorted(e.at for e in hand_ons)
    (stood,) = [e for e in entries if e.action == "incident.stand_down"]
    assert (stood.actor, stood.reason) == ("supervisor1", "演练结束")
    assert any(e.action == "task.cancelled" for e in entries)
