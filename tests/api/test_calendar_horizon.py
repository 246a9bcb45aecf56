"""Calendars declare how far their holidays go: refused without a horizon, warned when it is near, flagged past it."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from api.main import create_app
from core.approvals import ApprovalInput
from core.calendar import Budget, BusinessCalendar, default_cn_calendar
from core.records import PolicyRef
from core.roles import Actor, Role
from db.models import CalendarVersion
from infra.settings import Settings
from tests.support import audit_rows, eventually, serve, unique

TODAY = datetime.now(UTC).date()  # what the API's checks compare with (Asia/Shanghai may be a day ahead)


def spec(**changes) -> dict:
    body = default_cn_calendar().model_dump(mode="json")
    body.pop("name"), body.pop("version")
    return {**body, **changes}


def ics(*events: tuple[str, str | None, str]) -> str:
    """An iCalendar file of all-day events (DTSTART, DTEND or None, SUMMARY), CRLF line ends as RFC 5545 wants."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//kexiang//CN"]
    for number, (start, end, summary) in enumerate(events):
        lines += ["BEGIN:VEVENT", f"UID:{number}@test", f"DTSTART;VALUE=DATE:{start}"]
        lines += [f"DTEND;VALUE=DATE:{end}"] if end else []
        lines += [f"SUMMARY:{summary}", "END:VEVENT"]
    return "\r\n".join([*lines, "END:VCALENDAR", ""])


def versions(sync_session, name: str) -> list[int]:
    with sync_session() as s:
        return list(s.scalars(select(CalendarVersion.version).where(CalendarVersion.name == name)))


async def test_a_calendar_without_a_usable_horizon_is_refused(http, login, sync_session):
    admin, name = await login("admin"), unique("kx-horizon")
    empty = await http.post(f"/api/calendars/{name}", json={}, headers=admin)
    assert empty.status_code == 422 and empty.json()["detail"].startswith("horizon: required"), empty.text
    without = spec()
    without.pop("horizon")
    assert (await http.post(f"/api/calendars/{name}", json=without, headers=admin)).status_code == 422
    past = await http.post(
        f"/api/calendars/{name}", json=spec(horizon="2020-12-31", holidays=[], makeup_workdays=[]), headers=admin
    )
    assert past.status_code == 422 and "in the past" in past.json()["detail"]
    early = await http.post(f"/api/calendars/{name}", json=spec(horizon="2027-06-30"), headers=admin)
    assert early.status_code == 422 and "2027-09-15 lies after the calendar's horizon 2027-06-30" in early.text
    assert versions(sync_session, name) == []
    open_24_7 = await http.post(f"/api/calendars/{name}", json={"always_open": True}, headers=admin)
    assert open_24_7.status_code == 201 and open_24_7.json()["warnings"] == []


async def test_a_short_horizon_is_published_with_a_warning_in_the_answer_and_the_journal(http, login, sync_session):
    admin, name = await login("admin"), unique("kx-horizon")
    horizon = TODAY + timedelta(days=200)
    body = spec(horizon=horizon.isoformat(), holidays=[], makeup_workdays=[])
    published = await http.post(f"/api/calendars/{name}", json=body, headers=admin)
    assert published.status_code == 201, published.text
    [warning] = published.json()["warnings"]
    assert f"declares holidays only up to {horizon.isoformat()}" in warning
    [row] = audit_rows(sync_session, subject_id=f"{name}@v1")
    assert row.action == "calendars.publish" and row.reason == warning and row.details == {"warnings": [warning]}
    reread = await http.get(f"/api/calendars/{name}", headers=admin)
    assert reread.json()["spec"]["horizon"] == horizon.isoformat() and reread.json()["warnings"] == []


async def test_the_seeded_calendar_knows_2027(http, login):
    latest = (await http.get("/api/calendars/cn-mainland", headers=await login("engineer1"))).json()["spec"]
    assert latest["horizon"] == "2027-12-31"
    for day in ("2027-01-01", "2027-02-05", "2027-02-10", "2027-04-05", "2027-05-03", "2027-06-09", "2027-09-15"):
        assert day in latest["holidays"]
    assert "2027-10-05" in latest["holidays"] and "2027-10-06" not in latest["holidays"]


async def test_an_official_schedule_imported_as_icalendar_becomes_the_next_version(http, login, sync_session):
    admin, name = await login("admin"), unique("kx-ics")
    assert (await http.post(f"/api/calendars/{name}", json=spec(), headers=admin)).status_code == 201
    schedule = ics(
        ("20280101", None, "元旦"),
        ("20280125", "20280202", "春节"),  # DTEND is exclusive: 25 January to 1 February
        ("20280122", None, "春节 补班"),
        ("20271001", "20271008", "国庆节"),  # 2027 as the official notice has it: replaces the provisional days
        ("20270925", None, "国庆节 上班"),
    )
    imported = await http.post(
        f"/api/calendars/{name}/import", content=schedule.encode(), headers={**admin, "Content-Type": "text/calendar"}
    )
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert body["version"] == 2 and body["warnings"] == []
    holidays, workdays = body["spec"]["holidays"], body["spec"]["makeup_workdays"]
    assert {"2028-01-01", "2028-01-25", "2028-02-01"} <= set(holidays) and "2028-02-02" not in holidays
    assert "2027-10-07" in holidays and "2027-02-05" not in holidays  # 2027 is now exactly the file's
    assert "2026-02-15" in holidays  # years the file does not cover are kept
    assert workdays[-2:] == ["2027-09-25", "2028-01-22"] and "2026-01-04" in workdays
    assert body["spec"]["horizon"] == "2028-12-31"
    assert [r.action for r in audit_rows(sync_session, subject_id=f"{name}@v2")] == ["calendars.publish"]

    headers = {**admin, "Content-Type": "text/calendar"}
    for bad, words in (
        ("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "no VEVENT"),
        (ics(("20280101T090000Z", None, "meeting")), "only all-day events"),
        (ics(("2028-01-01", None, "typo")), "is not a date"),
        (ics(("20280101", None, "元旦"), ("20280101", None, "补班")), "both a holiday and a make-up workday"),
    ):
        refused = await http.post(f"/api/calendars/{name}/import", content=bad.encode(), headers=headers)
        assert refused.status_code == 422 and words in refused.json()["detail"], refused.text
    recurring = ics(("20280101", None, "元旦")).replace("SUMMARY", "RRULE:FREQ=YEARLY\r\nSUMMARY")
    refused = await http.post(f"/api/calendars/{name}/import", content=recurring.encode(), headers=headers)
    assert refused.status_code == 422 and "recurring" in refused.json()["detail"]
    missing = await http.post(f"/api/calendars/{unique('kx-none')}/import", content=schedule.encode(), headers=headers)
    assert missing.status_code == 404
    engineer = {**(await login("engineer1")), "Content-Type": "text/calendar"}
    forbidden = await http.post(f"/api/calendars/{name}/import", content=schedule.encode(), headers=engineer)
    assert forbidden.status_code == 403
    assert sorted(versions(sync_session, name)) == [1, 2]


async def test_readiness_is_degraded_when_the_active_calendar_ends_within_90_days(
    env, db, settings, http, login, worker
):
    admin, name = await login("admin"), unique("kx-near")
    horizon = TODAY + timedelta(days=30)
    body = spec(horizon=horizon.isoformat(), holidays=[], makeup_workdays=[])
    assert (await http.post(f"/api/calendars/{name}", json=body, headers=admin)).status_code == 201
    near = Settings(**{**settings.model_dump(), "default_calendar": name})
    async with serve(create_app(near, db=db, client=env.client)) as url, httpx.AsyncClient(base_url=url) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["ready"] is True and ready.json()["status"] == "degraded"
        assert ready.json()["calendar_horizon"] == horizon.isoformat()
        assert f"only up to {horizon.isoformat()}" in ready.json()["warnings"][0]


async def test_a_deadline_past_the_horizon_is_flagged_in_the_log(env, worker, task_queue, sync_session, caplog):
    """A task due after its calendar's horizon is logged as such by the workflow (the one place that flags it)."""
    now = await env.get_current_time()
    calendar = BusinessCalendar(name=unique("kx-horizon-wf"), horizon=now.date() + timedelta(days=1))
    with sync_session() as s:
        s.add(CalendarVersion(name=calendar.name, version=1, spec=calendar.model_dump(mode="json"), created_by="test"))
        s.commit()
    workflow_id = f"approval-horizon-{uuid.uuid4().hex[:8]}"
    caplog.set_level(logging.WARNING, logger="temporalio.workflow")
    handle = await env.client.start_workflow(
        "Approval",
        ApprovalInput(
            subject="Due after the horizon",
            reason="test",
            requested_by=Actor(username="agent1", roles=(Role.AGENT,)),
            request_id=workflow_id,
            budget=Budget(amount=72, unit="hours"),
            policy=PolicyRef(calendar=calendar.name),
        ),
        id=workflow_id,
        task_queue=task_queue,
    )
    try:

        async def flagged():
            return [
                r
                for r in caplog.records
                if getattr(r, "beyond_calendar_horizon", False) and workflow_id in r.msg % r.args
            ]

        [record] = await eventually(flagged, what="the beyond-horizon warning")
        assert f"after the horizon {calendar.horizon} of calendar {calendar.name} v1" in record.getMessage()
    finally:
        await handle.terminate("test done")
