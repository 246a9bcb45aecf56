"""Versioned calendars and SLA policies over the real HTTP API, and workflows keeping their version."""

from __future__ import annotations

import copy
from datetime import timedelta

from sqlalchemy import select

from core.calendar import default_cn_calendar
from core.sla import default_sla_policy
from db.models import CalendarVersion, SlaPolicyVersion
from tests.support import approval_task, audit_rows, close_approval, count_audit, request_approval, unique, when


def stored_versions(sync_session, table, name: str) -> list[int]:
    with sync_session() as s:
        return list(s.scalars(select(table.version).where(table.name == name).order_by(table.version)))


def calendar_spec(**changes) -> dict:
    spec = default_cn_calendar().model_dump(mode="json")
    spec.pop("name"), spec.pop("version")
    return {**spec, **changes}


def policy_spec() -> dict:
    spec = default_sla_policy().model_dump(mode="json")
    spec.pop("name"), spec.pop("version")
    return spec


# ------------------------------------------------------------------------------------------
# Calendars
# ------------------------------------------------------------------------------------------


async def test_default_calendar_is_listed_and_readable(http, login):
    reader = await login("agent1")  # any role may read configuration
    listing = await http.get("/api/calendars", headers=reader)
    assert listing.status_code == 200, listing.text
    by_name = {c["name"]: c["latest_version"] for c in listing.json()}
    assert by_name["cn-mainland"] >= 1
    assert [c["name"] for c in listing.json()] == sorted(by_name)

    latest = await http.get("/api/calendars/cn-mainland", headers=reader)
    assert latest.status_code == 200
    assert latest.json()["version"] == by_name["cn-mainland"]
    assert latest.json()["spec"]["timezone"] == "Asia/Shanghai"

    first = await http.get("/api/calendars/cn-mainland/versions/1", headers=reader)
    assert first.status_code == 200
    body = first.json()
    assert (body["name"], body["version"], body["created_by"]) == ("cn-mainland", 1, "system")
    assert body["spec"]["weekend"] == [5, 6]
    assert "2026-10-01" in body["spec"]["holidays"] and "2026-10-10" in body["spec"]["makeup_workdays"]

    history = await http.get("/api/calendars/cn-mainland/versions", headers=reader)
    assert [v["version"] for v in history.json()] == list(range(by_name["cn-mainland"], 0, -1))

    assert (await http.get("/api/calendars/cn-mainland/versions/9999", headers=reader)).status_code == 404
    assert (await http.get(f"/api/calendars/{unique('kx-none')}", headers=reader)).status_code == 404
    assert (await http.get(f"/api/calendars/{unique('kx-none')}/versions", headers=reader)).status_code == 404


async def test_publishing_a_calendar_creates_versions(http, login, sync_session):
    admin = await login("admin")
    name = unique("kx-api-test-cal")
    # The body's own name and version are ignored: the path names the document, the server numbers it.
    v1 = await http.post(f"/api/calendars/{name}", json=calendar_spec(name="other", version=42), headers=admin)
    assert v1.status_code == 201, v1.text
    assert (v1.json()["name"], v1.json()["version"], v1.json()["created_by"]) == (name, 1, "admin")
    assert (v1.json()["spec"]["name"], v1.json()["spec"]["version"]) == (name, 1)

    spec = calendar_spec()
    spec["holidays"] = [*spec["holidays"], "2026-12-31"]
    v2 = await http.post(f"/api/calendars/{name}", json=spec, headers=admin)
    assert v2.status_code == 201, v2.text
    assert v2.json()["version"] == 2
    assert "2026-12-31" in v2.json()["spec"]["holidays"]

    reader = await login("engineer1")
    latest = await http.get(f"/api/calendars/{name}", headers=reader)
    assert latest.json()["version"] == 2 and "2026-12-31" in latest.json()["spec"]["holidays"]
    old = await http.get(f"/api/calendars/{name}/versions/1", headers=reader)
    assert old.status_code == 200
    assert old.json()["version"] == 1 and "2026-12-31" not in old.json()["spec"]["holidays"]
    assert [v["version"] for v in (await http.get(f"/api/calendars/{name}/versions", headers=reader)).json()] == [2, 1]
    listing = {c["name"]: c["latest_version"] for c in (await http.get("/api/calendars", headers=reader)).json()}
    assert listing[name] == 2

    assert stored_versions(sync_session, CalendarVersion, name) == [1, 2]
    for version in (1, 2):
        rows = audit_rows(sync_session, subject_id=f"{name}@v{version}")
        assert [(r.action, r.actor, r.outcome, r.subject_type) for r in rows] == [
            ("calendars.publish", "admin", "accepted", "calendar")
        ]


async def test_invalid_calendars_are_refused_naming_the_problem(http, login, sync_session):
    admin = await login("admin")
    name = unique("kx-api-test-cal")
    assert (await http.post(f"/api/calendars/{name}", json=calendar_spec(), headers=admin)).status_code == 201

    clash = calendar_spec()
    clash["makeup_workdays"] = [*clash["makeup_workdays"], "2026-10-01"]  # already a National Day holiday
    cases = [
        (clash, ("2026-10-01", "holiday", "make-up workday")),
        (calendar_spec(timezone="Mars/Olympus_Mons"), ("timezone:", "Mars/Olympus_Mons")),
        (calendar_spec(weekend=[5, 7]), ("weekend:",)),
        (
            calendar_spec(working_hours=[{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "18:00"}]),
            ("working_hours:", "overlap"),
        ),
        (calendar_spec(working_hours=[{"start": "18:00", "end": "09:00"}]), ("working_hours.0:",)),
        (calendar_spec(holidays=["2026-02-30"]), ("holidays.0:",)),
        (calendar_spec(weekend=[0, 1, 2, 3, 4, 5, 6], makeup_workdays=[]), ("no working day",)),
    ]
    for body, expected in cases:
        response = await http.post(f"/api/calendars/{name}", json=body, headers=admin)
        assert response.status_code == 422, f"{expected}: {response.text}"
        detail = response.json()["detail"]
        assert isinstance(detail, str)
        for fragment in expected:
            assert fragment in detail, f"{fragment!r} not in {detail!r}"
    # Nothing was stored, nothing journaled, and the next valid edit is still version 2.
    assert stored_versions(sync_session, CalendarVersion, name) == [1]
    assert count_audit(sync_session, subject_id=f"{name}@v2") == 0
    assert (await http.get(f"/api/calendars/{name}", headers=admin)).json()["version"] == 1
    ok = await http.post(f"/api/calendars/{name}", json=calendar_spec(), headers=admin)
    assert ok.status_code == 201 and ok.json()["version"] == 2


# ------------------------------------------------------------------------------------------
# SLA policies
# ------------------------------------------------------------------------------------------


async def test_default_sla_policy_is_listed_and_readable(http, login):
    reader = await login("auditor1")
    listing = {p["name"]: p["latest_version"] for p in (await http.get("/api/sla-policies", headers=reader)).json()}
    assert listing["standard"] >= 1
    latest = await http.get("/api/sla-policies/standard", headers=reader)
    assert latest.status_code == 200 and latest.json()["version"] == listing["standard"]
    first = (await http.get("/api/sla-policies/standard/versions/1", headers=reader)).json()
    assert (first["version"], first["created_by"]) == (1, "system")
    assert set(first["spec"]["priorities"]) == {"urgent", "high", "medium", "low"}
    assert first["spec"]["priorities"]["urgent"]["response"] == {"amount": 2.0, "unit": "hours"}
    assert first["spec"]["task_budgets"]["approval"] == {"amount": 1.0, "unit": "working_days"}


async def test_publishing_sla_policy_versions(http, login, sync_session):
    admin = await login("admin")
    name = unique("kx-api-test-sla")
    v1 = await http.post(f"/api/sla-policies/{name}", json=policy_spec(), headers=admin)
    assert v1.status_code == 201, v1.text
    assert (v1.json()["name"], v1.json()["version"]) == (name, 1)

    spec = policy_spec()
    spec["priorities"]["urgent"]["response"] = {"amount": 1, "unit": "working_hours"}
    v2 = await http.post(f"/api/sla-policies/{name}", json=spec, headers=admin)
    assert v2.status_code == 201, v2.text
    assert v2.json()["version"] == 2
    assert v2.json()["spec"]["priorities"]["urgent"]["response"] == {"amount": 1.0, "unit": "working_hours"}
    old = (await http.get(f"/api/sla-policies/{name}/versions/1", headers=admin)).json()
    assert old["spec"]["priorities"]["urgent"]["response"] == {"amount": 2.0, "unit": "hours"}
    assert stored_versions(sync_session, SlaPolicyVersion, name) == [1, 2]
    assert [r.action for r in audit_rows(sync_session, subject_id=f"{name}@v2", outcome="accepted")] == [
        "sla-policies.publish"
    ]


async def test_invalid_sla_policies_are_refused_naming_the_field(http, login, sync_session):
    admin = await login("admin")
    name = unique("kx-api-test-sla")
    assert (await http.post(f"/api/sla-policies/{name}", json=policy_spec(), headers=admin)).status_code == 201

    missing_low = policy_spec()
    del missing_low["priorities"]["low"]
    falling_ladder = policy_spec()
    falling_ladder["ladder"] = [{"percent": 75, "action": "remind"}, {"percent": 50, "action": "remind"}]
    fractional_days = policy_spec()
    fractional_days["task_budgets"]["approval"] = {"amount": 1.5, "unit": "working_days"}
    zero_budget = policy_spec()
    zero_budget["priorities"]["high"]["plan"] = {"amount": 0, "unit": "hours"}
    unknown_priority = policy_spec()
    unknown_priority["priorities"]["critical"] = unknown_priority["priorities"]["urgent"]
    cases = [
        (missing_low, ("priorities:", "low")),
        ({k: v for k, v in policy_spec().items() if k != "priorities"}, ("priorities:",)),
        (falling_ladder, ("ladder:",)),
        (fractional_days, ("task_budgets.approval:", "whole number")),
        (zero_budget, ("priorities.high.plan:",)),
        (unknown_priority, ("priorities.critical",)),
    ]
    for body, expected in cases:
        response = await http.post(f"/api/sla-policies/{name}", json=body, headers=admin)
        assert response.status_code == 422, f"{expected}: {response.text}"
        detail = response.json()["detail"]
        for fragment in expected:
            assert fragment in detail, f"{fragment!r} not in {detail!r}"
    assert stored_versions(sync_session, SlaPolicyVersion, name) == [1]
    assert count_audit(sync_session, subject_id=f"{name}@v2") == 0

    # An invalid edit of the shared default policy changes nothing either.
    before = (await http.get("/api/sla-policies/standard", headers=admin)).json()["version"]
    response = await http.post("/api/sla-policies/standard", json=missing_low, headers=admin)
    assert response.status_code == 422 and "priorities" in response.json()["detail"]
    assert (await http.get("/api/sla-policies/standard", headers=admin)).json()["version"] == before


# ------------------------------------------------------------------------------------------
# A running workflow keeps the policy version it started with
# ------------------------------------------------------------------------------------------


async def publish_standard_with_approval_budget(http, admin, hours: int) -> int:
    """A new version of the default policy whose approval budget is `hours` plain hours; returns its number."""
    current = (await http.get("/api/sla-policies/standard", headers=admin)).json()
    spec = copy.deepcopy(current["spec"])
    spec["task_budgets"]["approval"] = {"amount": hours, "unit": "hours"}
    response = await http.post("/api/sla-policies/standard", json=spec, headers=admin)
    assert response.status_code == 201, response.text
    assert response.json()["version"] == current["version"] + 1
    return response.json()["version"]


def budget_of(task: dict) -> timedelta:
    return when(task["due_at"]) - when(task["opened_at"])


async def test_running_approval_keeps_its_policy_version(http, login):
    admin, agent, supervisor = await login("admin"), await login("agent1"), await login("supervisor1")
    old_hours, new_hours = 7, 13  # plain hours: the due time does not depend on the calendar or the start time
    open_tasks: list[str] = []
    try:
        old_version = await publish_standard_with_approval_budget(http, admin, old_hours)
        first_id = await request_approval(http, agent, subject="keeps its policy (old)")
        first = await approval_task(http, supervisor, first_id)  # the workflow has read the policy by now
        open_tasks.append(first["task_id"])
        assert budget_of(first) == timedelta(hours=old_hours)

        new_version = await publish_standard_with_approval_budget(http, admin, new_hours)
        assert new_version == old_version + 1
        second_id = await request_approval(http, agent, subject="keeps its policy (new)")
        second = await approval_task(http, supervisor, second_id)
        open_tasks.append(second["task_id"])
        assert budget_of(second) == timedelta(hours=new_hours)

        # The first workflow still runs under the old version: a new act re-records its task with the old due time.
        claim = await http.post(f"/api/tasks/{first['task_id']}/claim", json={}, headers=supervisor)
        assert claim.status_code == 200, claim.text
        assert claim.json()["claimed_by"] == "supervisor1"
        assert claim.json()["due_at"] == first["due_at"]
        again = (await http.get(f"/api/approvals/{first_id}", headers=supervisor)).json()["tasks"]
        assert len(again) == 1 and budget_of(again[0]) == timedelta(hours=old_hours)
        assert again[0]["claimed_by"] == "supervisor1"

        # Both versions remain readable.
        for version, hours in ((old_version, old_hours), (new_version, new_hours)):
            stored = (await http.get(f"/api/sla-policies/standard/versions/{version}", headers=agent)).json()
            assert stored["spec"]["task_budgets"]["approval"] == {"amount": float(hours), "unit": "hours"}
    finally:
        for task_id in open_tasks:  # end the workflows so no ladder timer fires during later time skips
            await close_approval(http, supervisor, task_id)
