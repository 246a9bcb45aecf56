"""A service ticket walked through the console only, one role after another, in a real browser.

The agent registers it; the handler accepts, logs progress and asks for an extension (a too-early date is
refused at its field with the rule's message); the supervisor approves; the handler resolves; the customer
rates it on the survey page on a phone. Every page is screenshotted (.data/test-artifacts/console/).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect
from sqlalchemy import func, select

from db.models import AuditEntry, TicketRow
from db.seed import DEMO_PASSWORD
from tests.console.conftest import sign_in, snap
from tests.support import approval_task, close_approval, eventually, request_approval
from tests.tickets.test_survey_api import survey_token

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONTACT = "13912345678"


def local(at: datetime) -> str:
    """A datetime-local value in the center's zone."""
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


async def register_as_agent(page: Page) -> str:
    """agent1 fills in every intake field; the ticket page shows the number, the contact masked."""
    await sign_in(page, "agent1")
    await snap(page, "01-agent-inbox")
    await page.click("text=工单")
    await page.click("text=登记工单")
    await page.fill("#intake-name", "专线中断")
    await page.fill("#intake-customer_id", "C-CONSOLE-01")
    await page.fill("#intake-customer_name", "华信物流有限公司")
    await page.fill("#intake-industry", "logistics")
    await page.fill("#intake-contact", CONTACT)
    await page.select_option("#intake-channel", "phone")
    await page.select_option("#intake-preferred_channel", "phone")
    await page.fill("#intake-occurred_at", local(datetime.now(SHANGHAI) - timedelta(hours=2)))
    await page.select_option("#intake-priority", "medium")
    await page.check("input[name=categories][value=aftersales_hardware]")
    await page.fill("#intake-severity", "major")
    await page.fill("#intake-scenario", "机房断电后")
    await page.fill("#intake-description", f"专线中断，路由器告警 LOS，请回电 {CONTACT}")
    await snap(page, "02-agent-register-form")
    await page.click("button:has-text('登记')")
    await page.wait_for_url("**/console/tickets/CS*")
    number = page.url.rsplit("/", 1)[1].split("?")[0]
    await expect(page.get_by_test_id("contact")).to_have_text("139****5678")
    assert CONTACT not in await page.content()
    await routed(page)
    await snap(page, "03-agent-ticket-registered")
    return number


async def routed(page: Page) -> None:
    """Reload the ticket page until its workflow has routed it (the three deadlines are shown)."""

    async def shown():
        await page.reload()
        return await page.get_by_test_id("deadline-3").count() or None

    await eventually(shown, what="ticket routed")


async def handle_as_engineer(page: Page, number: str, sync_session) -> None:
    """engineer1 finds the ticket in My work, accepts it at the policy cap, logs the plan, asks for more time."""
    await sign_in(page, "engineer1")
    row = page.locator("tr", has_text=number).first
    await expect(row).to_be_visible()
    await snap(page, "04-engineer-inbox")
    await row.get_by_role("button", name="认领").click()
    await expect(page.locator("tr", has_text=number).first).to_contain_text("engineer1")
    await snap(page, "05-engineer-inbox-claimed")
    await page.locator("tr", has_text=number).first.locator("a").click()
    await page.wait_for_url(f"**/console/tickets/{number}")

    await page.click("button[data-act=accept]")
    await snap(page, "06-engineer-accept-form")
    await page.locator("#act-accept button[type=submit]").click()
    await page.wait_for_url("**?done=accept")
    await expect(page.get_by_test_id("status")).to_have_text("处理中")

    await page.click("button[data-act=log_progress]")
    await page.select_option("#log_progress-kind", "action")
    await page.fill("#log_progress-text", "更换光模块并测试")
    await page.check("#log_progress-is_plan")
    await page.locator("#act-log_progress button[type=submit]").click()
    await page.wait_for_url("**?done=log_progress")
    await expect(page.get_by_test_id("log")).to_contain_text("更换光模块并测试")

    # A new date before the current deadline: the workflow's rule refuses it, at the field.
    await page.click("button[data-act=request_extension]")
    await page.fill("#request_extension-new_expected_at", local(datetime.now(SHANGHAI) + timedelta(minutes=30)))
    await page.fill("#request_extension-reason", "需等待备件到货")
    await page.locator("#act-request_extension button[type=submit]").click()
    error = page.get_by_test_id("error-new_expected_at")
    await expect(error).to_contain_text("must be later than the current deadline")
    await snap(page, "07-engineer-extension-refused-at-field")

    # The contact, whole, for a reason (journaled).
    await page.fill("input[name=reason]", "回电客户确认故障")
    await page.click("button:has-text('查看联系方式')")
    await expect(page.get_by_test_id("revealed")).to_contain_text(CONTACT)

    await page.click("button[data-act=request_extension]")
    deadline = ticket_deadline(sync_session, number)
    await page.fill("#request_extension-new_expected_at", local(deadline + timedelta(days=2)))
    await page.fill("#request_extension-reason", "需等待备件到货")
    await page.locator("#act-request_extension button[type=submit]").click()
    await page.wait_for_url("**?done=request_extension")
    await snap(page, "08-engineer-ticket-extension-asked")


def ticket_deadline(sync_session, number: str) -> datetime:
    """The ticket's resolution deadline as its read model holds it."""
    with sync_session() as s:
        return s.get(TicketRow, number).resolution_due


async def approve_as_supervisor(page: Page, number: str) -> None:
    """supervisor1 approves the extension from the approvals queue."""
    await sign_in(page, "supervisor1")
    await page.click("nav >> text=审批")
    card = page.locator("section.approval", has_text=number)

    async def listed():
        await page.reload()
        return await card.count() or None

    await eventually(listed, what="extension request in the approvals queue")
    await expect(card).to_contain_text("需等待备件到货")
    await snap(page, "09-supervisor-approvals")
    await card.locator("input[name=comment]").fill("同意延期")
    await card.get_by_role("button", name="批准").click()
    await page.wait_for_url("**?done=approve")
    await expect(page.get_by_test_id("done")).to_contain_text("批准")


async def notified(page: Page) -> None:
    """The supervisor's badge counts the notifications not yet seen; the list shows them and clears the badge."""
    await page.goto("/console/inbox")
    badge = page.get_by_test_id("notifications")
    await expect(badge).to_be_visible()  # at least the assignment copy of the new ticket
    await page.click("a.notifications")
    await expect(page.locator("h1")).to_have_text("通知")
    await snap(page, "14-supervisor-notifications")
    async with page.expect_response("**/console/notifications/badge") as answer:
        await page.goto("/console/inbox")
    assert (await answer.value).ok and (await (await answer.value).text()).strip() == ""  # nothing new now


async def resolve_as_engineer(page: Page, number: str) -> None:
    """engineer1 resolves the ticket (the customer is sent the survey link)."""
    await page.goto(f"/console/tickets/{number}")
    await page.click("button[data-act=resolve]")
    await page.fill("#resolve-resolution-cause", "光模块老化")
    await page.fill("#resolve-resolution-solution", "更换光模块")
    await page.select_option("#resolve-resolution-channel", "phone")
    await page.locator("#act-resolve button[type=submit]").click()
    await page.wait_for_url("**?done=resolve")
    await expect(page.get_by_test_id("status")).to_have_text("待客户反馈")
    # Closing is not open yet: the page says which rule stands in the way.
    await expect(page.get_by_test_id("blocked-close")).to_contain_text("no rating yet")
    await snap(page, "10-engineer-ticket-resolved")


async def rate_as_customer(page: Page, token: str, number: str) -> None:
    """The customer opens the link on a phone: nothing about the ticket shows; a bare send is refused at the fields."""
    await page.goto(f"/survey/{token}")
    assert number not in await page.content() and "华信" not in await page.content()
    await snap(page, "11-customer-survey-phone")
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("error-rating")).to_be_visible()
    await expect(page.get_by_test_id("error-resolved")).to_be_visible()
    await snap(page, "12-customer-survey-refused-at-fields")
    await page.check("input[name=resolved][value=true]")
    await page.check("input[name=rating][value=satisfied]")
    await page.fill("textarea[name=comment]", "很快，谢谢")
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("thanks")).to_be_visible()
    await snap(page, "13-customer-survey-thanks")


async def test_ticket_walk_through_the_console(open_page, sync_session):
    agent = await open_page()
    number = await register_as_agent(agent)

    engineer = await open_page()
    await handle_as_engineer(engineer, number, sync_session)

    supervisor = await open_page()
    await approve_as_supervisor(supervisor, number)
    await notified(supervisor)
    with sync_session() as s:
        row = s.get(TicketRow, number)
        assert row.detail["pending_extension_task"] is None and row.handler == "engineer1"

    await resolve_as_engineer(engineer, number)
    customer = await open_page(mobile=True)
    await rate_as_customer(customer, survey_token(sync_session, number), number)

    with sync_session() as s:
        row = s.get(TicketRow, number)
        assert row.rating == "satisfied"
        journal = s.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.outcome).where(
                (AuditEntry.subject_id == number) | (AuditEntry.workflow_id == f"ticket-{number}")
            )
        ).all()
    done = {tuple(entry) for entry in journal}
    # Each act journaled under the person who did it in the console, the refused one too.
    assert {
        ("agent1", "ticket.create", "accepted"),
        ("engineer1", "task.claim", "accepted"),
        ("engineer1", "ticket.accept", "accepted"),
        ("engineer1", "ticket.log_progress", "accepted"),
        ("engineer1", "ticket.contact.reveal", "accepted"),
        ("engineer1", "ticket.request_extension", "refused"),
        ("engineer1", "ticket.request_extension", "accepted"),
        ("supervisor1", "task.approve", "accepted"),
        ("engineer1", "ticket.resolve", "accepted"),
        ("customer", "ticket.customer_feedback", "accepted"),
    } <= done


async def test_signed_out_pages_send_to_sign_in_and_a_wrong_password_is_refused(open_page):
    page = await open_page()
    await page.goto("/console/tickets?q=CS")
    assert "/console/login?next=" in page.url
    await page.fill("input[name=username]", "agent1")
    await page.fill("input[name=password]", "not-the-password")
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("login-error")).to_have_text("wrong username or password")
    await snap(page, "20-sign-in-refused")
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/console/tickets?q=CS")  # back where the user was going
    await page.click("text=English")
    await expect(page.locator("h1")).to_contain_text("Tickets")
    assert await page.locator("input[name=q]").input_value() == "CS"  # the language changed, the search stayed
    await snap(page, "23-ticket-list-english")
    await page.click("button:has-text('Sign out')")
    await page.wait_for_url("**/console/login")
    await page.goto("/console/inbox")
    assert "/console/login" in page.url


async def test_posts_without_the_csrf_token_are_refused(open_page, sync_session):
    page = await open_page()
    # Before sign-in too: the sign-in form's own token.
    refused = await page.request.post("/console/login", form={"username": "agent1", "password": DEMO_PASSWORD})
    assert refused.status == 403 and "CSRF" in await refused.text()
    await sign_in(page, "agent1")
    before = _tickets(sync_session)
    intake = {"customer_name": "无令牌公司", "description": "x"}
    for headers, form in (({}, intake), ({"X-CSRF-Token": "forged"}, intake), ({}, {**intake, "csrf": "forged"})):
        response = await page.request.post("/console/tickets/new", form=form, headers=headers)
        assert response.status == 403, await response.text()
        assert "CSRF token missing or wrong" in await response.text()
    logout = await page.request.post("/console/logout", form={})
    assert logout.status == 403
    assert _tickets(sync_session) == before  # nothing registered
    await page.goto("/console/inbox")
    assert page.url.endswith("/console/inbox")  # still signed in: the forged logout did nothing


def _tickets(sync_session) -> int:
    with sync_session() as s:
        return s.scalar(select(func.count()).select_from(TicketRow))


async def test_another_roles_pages_and_acts_are_refused(open_page, sync_session):
    page = await open_page()
    await sign_in(page, "engineer1")
    response = await page.goto("/console/tickets/new")
    assert response.status == 403
    assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"
    await expect(page.get_by_test_id("refused")).to_contain_text("role agent or supervisor required")
    await snap(page, "21-engineer-refused-register")
    # The inbox's rows alone, as its htmx poll asks for them.
    rows = await page.request.get("/console/inbox", headers={"HX-Request": "true", "HX-Target": "rows"})
    assert rows.ok and (await rows.text()).lstrip().startswith('<tbody id="rows"')
    response = await page.goto("/console/approvals")
    assert response.status == 403
    await expect(page.get_by_test_id("refused")).to_contain_text("role supervisor or department or admin required")

    auditor = await open_page()
    await sign_in(auditor, "auditor1")
    await auditor.goto("/console/tickets/new")
    csrf = await auditor.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    posted = await auditor.request.post(
        "/console/tickets/CS190001010001/acts/cancel", form={"csrf": csrf, "reason": "审计员不能操作"}
    )
    assert posted.status == 403 and "role " in await posted.text()
    with sync_session() as s:
        refusals = s.scalars(
            select(AuditEntry).where(AuditEntry.actor == "auditor1", AuditEntry.outcome == "refused")
        ).all()
    assert any(r.subject_id == "/console/tickets/CS190001010001/acts/cancel" for r in refusals)


async def test_the_intake_form_refuses_bad_input_at_the_field(open_page, sync_session):
    page = await open_page()
    await sign_in(page, "agent1")
    before = _tickets(sync_session)
    await page.goto("/console/tickets/new")
    await page.fill("#intake-customer_name", "华信物流有限公司")
    await page.fill("#intake-contact", "1" * 201)
    await page.fill("#intake-occurred_at", local(datetime.now(SHANGHAI) + timedelta(days=1)))
    await page.check("input[name=categories][value=complaint]")
    await expect(page.locator("#intake-complaint_type")).to_be_visible()  # shown for complaints only
    await page.click("button:has-text('登记')")
    await expect(page.get_by_test_id("error-contact")).to_contain_text("at most 200 characters")
    assert await page.locator("#intake-customer_name").input_value() == "华信物流有限公司"  # kept for correction
    await snap(page, "22-agent-register-refused-at-field")
    await page.fill("#intake-contact", "13912345678")
    await page.click("button:has-text('登记')")
    await expect(page.get_by_test_id("error-occurred_at")).to_have_text("must not be in the future")
    assert _tickets(sync_session) == before


async def test_a_four_eyes_refusal_is_shown_as_such(open_page, http, login):
    supervisor = await login("supervisor1")
    workflow_id = await request_approval(http, supervisor, "机房扩容申请 (console four-eyes)")
    task = await approval_task(http, supervisor, workflow_id)
    page = await open_page()
    await sign_in(page, "supervisor1")
    await page.goto("/console/approvals")
    card = page.locator("section.approval", has=page.locator(f"form[action='/console/approvals/{task['task_id']}']"))
    await expect(card).to_contain_text("本人申请")
    await card.get_by_role("button", name="批准").click()
    await expect(page.get_by_test_id("refusal")).to_contain_text("four-eyes")
    await snap(page, "24-supervisor-four-eyes-refused")
    await close_approval(http, await login("supervisor2"), task["task_id"])
