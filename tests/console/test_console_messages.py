"""A customer's online message walked through the console in a real browser: the agent registers it on the form,
the thread page shows its deadlines and the contact masked, a "takes longer" without an explanation is refused with
the rule's message, then the agent acknowledges and answers, each act journaled under the agent."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import expect
from sqlalchemy import select

from db.models import AuditEntry, CustomerMessage
from tests.console.conftest import sign_in, snap

CONTACT = "13612345678"
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_an_online_message_through_the_console(open_page, sync_session):
    page = await open_page()
    await sign_in(page, "agent1")
    await page.goto("/console/messages/new")
    await page.fill("input[name=contact]", CONTACT)
    await page.fill("input[name=customer_name]", "华信物流有限公司")
    await page.select_option("select[name=urgency]", "urgent")
    await page.fill("textarea[name=body]", f"专线中断，请回电 {CONTACT}")
    await page.click('form[action="/console/messages/new"] button[type=submit]')
    await page.wait_for_url("**/console/messages/MS*?done=registered")
    thread_id = page.url.rsplit("/", 1)[1].split("?")[0]
    await expect(page.get_by_test_id("contact")).to_have_text("136****5678")
    await expect(page.get_by_test_id("customer")).to_contain_text("华信物流有限公司")
    assert CONTACT not in await page.content()
    await expect(page.get_by_test_id("acknowledge-due")).to_contain_text("剩余")
    await snap(page, "message-thread")

    await page.reload()
    await page.click("button[data-act=takes_longer]")
    await page.fill("#act-takes_longer textarea[name=explanation]", "需上门检修，敬请谅解")
    soon = (datetime.now(SHANGHAI) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")  # before the answer is due
    await page.fill("#act-takes_longer input[name=answer_by]", soon)
    await page.click("#act-takes_longer button[type=submit]")
    await expect(page.get_by_test_id("refusal")).to_contain_text("later than the current answer due time")

    await page.goto(f"/console/messages/{thread_id}")
    await page.click("button[data-act=acknowledge]")
    await page.click("#act-acknowledge button[type=submit]")
    await page.wait_for_url("**?done=acknowledge")
    await page.click("button[data-act=answer]")
    await page.fill("#act-answer textarea[name=text]", "已恢复，请确认。")
    await page.click("#act-answer button[type=submit]")
    await page.wait_for_url("**?done=answer")
    await expect(page.get_by_test_id("status")).to_have_text("已答复")
    await expect(page.get_by_test_id("no-acts")).to_be_visible()
    await page.goto("/console/messages")
    await expect(page.get_by_test_id("messages")).to_contain_text(thread_id)
    await snap(page, "messages")

    with sync_session() as s:
        journal = {
            (a.actor, a.action, a.outcome)
            for a in s.scalars(select(AuditEntry).where(AuditEntry.subject_id == thread_id)).all()
        }
        sent = s.scalars(select(CustomerMessage.kind).where(CustomerMessage.thread_id == thread_id)).all()
    assert {
        ("agent1", "message.create", "accepted"),
        ("agent1", "message.takes_longer", "refused"),
        ("agent1", "message.acknowledge", "accepted"),
        ("agent1", "message.answer", "accepted"),
    } <= journal
    assert sorted(sent) == ["acknowledgement", "answer"]
