"""The auditor's desk and the calendar administration, in a real browser.

The auditor finds a ticket by its number, reads its timeline (who, in which role, the refused act among them),
replays it against today's code, downloads its history and verifies the journal's chain; nothing there posts.
An admin publishes a calendar version with a new holiday from its month view; a supervisor is refused both.
Screenshots: .data/test-artifacts/console/3x-*.png.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta

from playwright.async_api import expect
from sqlalchemy import select

from core.calendar import default_cn_calendar
from db.models import AuditEntry, CalendarVersion
from tests.api.test_auth_matrix import _PARAM, ALL_ROUTES
from tests.console.conftest import sign_in, snap
from tests.tickets.http_helpers import act, create, full_intake, routed


async def ticket_with_a_refused_act(http, login) -> str:
    """A ticket the engineer accepted, then asked to move to an earlier date (refused by the workflow's rule)."""
    agent, engineer = await login("agent1"), await login("engineer1")
    created = await create(http, agent, full_intake())
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    cap = datetime.fromisoformat((await routed(http, agent, number))["sla"]["cycles"][0]["resolutionCap"])
    await act(http, engineer, number, {"type": "accept", "expected_resolution_at": cap.isoformat()})
    early = (cap - timedelta(days=30)).isoformat()
    refused = await http.post(
        f"/api/tickets/{number}/acts",
        json={"type": "request_extension", "new_expected_at": early, "reason": "审计台测试：过早的日期"},
        headers=engineer,
    )
    assert 400 <= refused.status_code < 500, refused.text
    return number


async def test_the_auditor_finds_a_ticket_reads_its_timeline_and_replays_it(open_page, http, login, sync_session):
    number = await ticket_with_a_refused_act(http, login)
    page = await open_page()
    await sign_in(page, "auditor1")
    await page.click("nav >> text=审计台")
    await expect(page.locator("h1")).to_have_text("审计台")
    # Listing by type goes to Temporal's visibility, which the time-skipping test server does not offer: said so.
    await page.select_option("select[name=workflow_type]", "ServiceTicket")
    await page.click("button:has-text('查找')")
    await expect(page.get_by_test_id("refusal")).to_contain_text("cannot list workflows")
    await snap(page, "29-auditor-find")
    await page.select_option("select[name=workflow_type]", "")
    await page.get_by_test_id("audit-ref").fill(number)
    await page.click("button:has-text('查找')")
    await page.wait_for_url(f"**/console/audit/workflows/ticket-{number}")
    timeline = page.get_by_test_id("timeline")
    await expect(timeline).to_contain_text("ticket.accept")
    refused_row = timeline.locator("tr.refused", has_text="ticket.request_extension")
    await expect(refused_row).to_contain_text("engineer1")
    await expect(refused_row).to_contain_text("must be later than the current deadline")  # the rule that refused
    ui = await page.get_by_test_id("temporal-ui").get_attribute("href")
    assert ui is not None and ui.startswith("http://127.0.0.1:8233/namespaces/default/workflows/ticket-")
    await snap(page, "30-auditor-timeline")
    await page.get_by_test_id("views").get_by_text("人的操作").click()
    await expect(timeline.locator("tr.refused")).to_have_count(1)
    await expect(timeline).not_to_contain_text("activity.scheduled")
    await snap(page, "30b-auditor-timeline-people")

    await page.get_by_test_id("replay").click()
    await expect(page.get_by_test_id("verdict")).to_contain_text("用当前工作流代码重放无偏差")
    await snap(page, "31-auditor-replayed")

    async with page.expect_download() as download:
        await page.get_by_test_id("export").click()
    saved = await (await download.value).path()
    assert (await download.value).suggested_filename == f"ticket-{number}.history.json"
    exported = json.loads(saved.read_text())
    assert exported["events"][0]["eventType"] in ("EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", "WorkflowExecutionStarted")

    await page.click("text=审计日志")
    await page.get_by_test_id("verify").click()
    await expect(page.get_by_test_id("chain")).to_contain_text("审计日志哈希链完整")
    await snap(page, "32-auditor-journal-verified")

    await page.goto(f"/console/audit/workflows/ticket-{number}?lang=en&view=people")
    await expect(page.locator("h1")).to_contain_text("Auditor's desk")
    await expect(page.get_by_test_id("timeline").locator("tr.refused")).to_contain_text("Refused")
    await snap(page, "32b-auditor-timeline-english")

    # Read-only: the auditor's posts are refused (and journaled as refused), like the API's.
    csrf = await page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    posted = await page.request.post(
        "/console/admin/calendars/cn-mainland", form={"csrf": csrf, "day": "2027-03-03", "change": "holiday"}
    )
    assert posted.status == 403
    with sync_session() as s:
        exports = s.scalars(
            select(AuditEntry).where(AuditEntry.actor == "auditor1", AuditEntry.action == "history.export")
        ).all()
    assert any(e.workflow_id == f"ticket-{number}" for e in exports)  # the decrypted read is itself journaled


def a_plain_weekday(after: date) -> date:
    """The first Wednesday after `after` that the default calendar counts as an ordinary working day."""
    cal = default_cn_calendar()
    day = after + timedelta(days=(2 - after.weekday()) % 7 or 7)
    while not cal.is_working_day(day) or day in cal.makeup_workdays:
        day += timedelta(days=7)
    return day


async def test_an_admin_publishes_a_calendar_with_a_new_holiday(open_page, http, login, sync_session):
    name = f"console-{uuid.uuid4().hex[:8]}"  # its own calendar: the shared default stays as the other tests expect
    spec = default_cn_calendar().model_dump(mode="json")
    published = await http.post(f"/api/calendars/{name}", json=spec, headers=await login("admin"))
    assert published.status_code == 201, published.text
    day = a_plain_weekday(date.today() + timedelta(days=30))

    page = await open_page()
    await sign_in(page, "admin")
    await page.click("nav >> text=系统管理")
    await page.click(f"text={name}")
    await expect(page.get_by_test_id("shown-version")).to_have_text("v1")
    await page.fill("#publish-day", day.isoformat())
    await page.select_option("#publish-change", "holiday")
    await page.click("button:has-text('发布 v2')")
    await expect(page.get_by_test_id("published")).to_contain_text(f"{name} v2")
    await expect(page.get_by_test_id("month")).to_have_text(day.strftime("%Y-%m"))
    cell = page.locator(f"td[data-day='{day.isoformat()}']")
    await expect(cell).to_have_attribute("data-kind", "holiday")
    await expect(page.get_by_test_id("versions")).to_contain_text("admin")
    await snap(page, "33-admin-calendar-published")

    # The history: v1 did not have the holiday.
    await page.click("a:has-text('v1')")
    await expect(cell).to_have_attribute("data-kind", "workday")
    await snap(page, "34-admin-calendar-old-version")

    # A make-up workday turned holiday; then a day past the calendar's horizon, refused by the model, unpublished.
    makeup = default_cn_calendar().makeup_workdays[-1]
    await page.goto(f"/console/admin/calendars/{name}")
    await page.fill("#publish-day", makeup.isoformat())
    await page.select_option("#publish-change", "holiday")
    await page.click("button:has-text('发布 v3')")
    await expect(page.get_by_test_id("published")).to_contain_text(f"{name} v3")
    beyond = date(default_cn_calendar().horizon.year + 1, 6, 1)
    await page.fill("#publish-day", beyond.isoformat())
    await page.click("button:has-text('发布 v4')")
    await expect(page.get_by_test_id("refusal")).to_contain_text("horizon")
    await snap(page, "35-admin-calendar-refused")
    with sync_session() as s:
        versions = s.scalars(select(CalendarVersion.version).where(CalendarVersion.name == name)).all()
        journaled = s.scalars(
            select(AuditEntry.subject_id).where(AuditEntry.actor == "admin", AuditEntry.action == "calendars.publish")
        ).all()
    assert sorted(versions) == [1, 2, 3]
    assert f"{name}@v2" in journaled and f"{name}@v3" in journaled


async def test_a_non_admin_is_refused_the_calendars(open_page, sync_session):
    page = await open_page()
    await sign_in(page, "supervisor1")
    response = await page.goto("/console/admin/calendars")
    assert response is not None and response.status == 403
    await expect(page.get_by_test_id("refused")).to_contain_text("role admin required")
    await snap(page, "36-supervisor-refused-admin")
    response = await page.goto("/console/audit")
    assert response is not None and response.status == 403
    csrf = await page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    posted = await page.request.post(
        "/console/admin/calendars/cn-mainland", form={"csrf": csrf, "day": "2027-03-03", "change": "holiday"}
    )
    assert posted.status == 403
    with sync_session() as s:
        mine = s.scalars(select(CalendarVersion).where(CalendarVersion.created_by == "supervisor1")).all()
    assert mine == []


# Every console post but signing in and out, discovered from the app, so a form added later is covered too.
_SESSION_POSTS = {"/console/login", "/console/logout"}
_VALUES = {"act": "cancel", "name": "cn-mainland"}


def console_posts() -> list[str]:
    """The paths of the console's POST routes (path parameters filled in), from the app's route table."""
    paths = [p for m, p in ALL_ROUTES if m == "POST" and p.startswith("/console/") and p not in _SESSION_POSTS]
    return [_PARAM.sub(lambda m: _VALUES.get(m.group(1), "x"), path) for path in paths]


async def test_every_console_post_is_refused_to_the_auditor(open_page, sync_session):
    posts = console_posts()
    assert {"/console/admin/calendars/cn-mainland", "/console/tickets/new", "/console/tasks/x/claim"} <= set(posts)
    page = await open_page()
    await sign_in(page, "auditor1")
    csrf = await page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    for path in posts:
        answer = await page.request.post(path, form={"csrf": csrf, "reason": "x", "day": "2027-03-03"})
        # The claim button's htmx rows carry the refusal above them (htmx swaps 2xx only); every other post is a 403.
        assert answer.status == (200 if path.endswith("/claim") else 403), (path, answer.status)
        assert "required" in await answer.text(), path
    with sync_session() as s:
        refused = set(
            s.scalars(
                select(AuditEntry.subject_id).where(AuditEntry.actor == "auditor1", AuditEntry.outcome == "refused")
            )
        )
    assert set(posts) <= refused  # each refusal journaled, as the API's gate does
