"""Administration (users and roles; an SLA policy change reviewed as a diff, then published), the dashboards'
charts, and the wording (task subjects in Chinese on Chinese pages, statuses in English on English ones), in a
real browser. Screenshots: .data/test-artifacts/console/4x-*.png; with KX_DOCS_SCREENSHOTS=1 the inbox and the
ticket page are also written to docs/console/ for the README.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import datetime
from pathlib import Path

from playwright.async_api import expect
from sqlalchemy import select

from core.kpis import CATALOGUE
from core.sla import default_sla_policy
from db.models import AuditEntry, SlaPolicyVersion, User
from tests.console.conftest import sign_in, snap
from tests.support import eventually
from tests.tickets.http_helpers import act, create, full_intake, routed

DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"  # the README's screenshots


async def test_an_admin_creates_a_user_changes_their_roles_and_deactivates_them(open_page, sync_session):
    username = f"console-{uuid.uuid4().hex[:6]}"
    page = await open_page()
    await sign_in(page, "admin")
    await page.click("nav >> text=系统管理")
    await page.get_by_test_id("admin-nav").get_by_text("用户与角色").click()
    await expect(page.get_by_test_id("users")).to_contain_text("engineer1")

    # The department role without a department: refused by the API's model, nothing created.
    form = page.get_by_test_id("new-user")
    await form.locator("#new-username").fill(username)
    await form.locator("#new-full_name").fill("控制台测试员")
    await form.locator("#new-password").fill("a-long-enough-password")
    await form.locator("input[name=roles][value=department]").check()
    await form.get_by_role("button").click()
    await expect(page.get_by_test_id("error-department")).to_have_text("required for the department role")
    assert await page.locator("#new-password").input_value() == ""  # the password is not sent back
    await snap(page, "40-admin-user-refused")

    await page.locator("#new-password").fill("a-long-enough-password")
    await page.locator("#new-department").fill("hardware-engineering")
    await page.get_by_test_id("new-user").get_by_role("button").click()
    await expect(page.get_by_test_id("done")).to_contain_text(username)
    row = page.locator(f"tr[data-user='{username}']")
    await expect(row).to_contain_text("部门")
    await expect(row).to_contain_text("hardware-engineering")
    await snap(page, "41-admin-users")

    await row.get_by_role("link").click()
    await page.locator("#user-roles input[value=department]").uncheck()
    await page.locator("#user-roles input[value=engineer]").check()
    await page.locator("#user-department").fill("software-engineering")
    await page.get_by_test_id("change-user").get_by_role("button").click()
    await expect(page.get_by_test_id("done")).to_have_text("已修改")
    await expect(page.locator("#user-roles input[value=engineer]")).to_be_checked()
    await expect(page.locator("#user-department")).to_have_value("software-engineering")

    await page.get_by_test_id("active-form").get_by_role("button").click()
    await expect(page.get_by_test_id("state")).to_have_text("已停用")
    await snap(page, "42-admin-user-deactivated")
    with sync_session() as s:
        stored = s.scalars(select(User).where(User.username == username)).one()
        journaled = s.scalars(
            select(AuditEntry.action).where(AuditEntry.actor == "admin", AuditEntry.subject_id == username)
        ).all()
    assert stored.roles == ["engineer"] and stored.department == "software-engineering" and not stored.active
    assert sorted(journaled) == ["user.create", "user.update", "user.update"]

    # Deactivated: the sign-in form refuses them.
    other = await open_page()
    await other.goto("/console/login")
    await other.fill("input[name=username]", username)
    await other.fill("input[name=password]", "a-long-enough-password")
    await other.click("button[type=submit]")
    await expect(other.locator(".error")).to_be_visible()
    assert "/console/login" in other.url

    # An administrator cannot deactivate themselves: the button is off, and the API's rule refuses the post.
    await page.goto("/console/admin/users/admin")
    await expect(page.get_by_test_id("active-form").get_by_role("button")).to_be_disabled()
    csrf = await page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    answer = await page.request.post("/console/admin/users/admin/active", form={"csrf": csrf, "active": "0"})
    assert answer.status == 409 and "cannot deactivate" in await answer.text()


async def test_an_admin_sees_the_diff_of_an_sla_policy_change_and_publishes_it(open_page, http, login, sync_session):
    name = f"console-{uuid.uuid4().hex[:8]}"  # its own policy: the seeded one stays as the other tests expect
    spec = default_sla_policy().model_dump(mode="json")
    created = await http.post(f"/api/sla-policies/{name}", json=spec, headers=await login("admin"))
    assert created.status_code == 201, created.text

    page = await open_page()
    await sign_in(page, "admin")
    await page.click("nav >> text=系统管理")
    await page.get_by_test_id("admin-nav").get_by_text("SLA 策略").click()
    await page.get_by_test_id("documents").get_by_text(name).click()
    await expect(page.get_by_test_id("latest-version")).to_have_text("v1")
    edited = json.loads(await page.locator("#document").input_value())
    assert "name" not in edited and "version" not in edited
    assert edited["priorities"]["urgent"]["response"]["amount"] == 2

    # A policy without budgets for a priority: refused by the model, with nothing to publish.
    broken = {**edited, "priorities": {k: v for k, v in edited["priorities"].items() if k != "urgent"}}
    await page.locator("#document").fill(json.dumps(broken))
    await page.click("button:has-text('审阅变更')")
    await expect(page.get_by_test_id("refusal")).to_contain_text("budgets missing for urgent")
    await expect(page.get_by_test_id("publish")).to_have_count(0)

    edited["priorities"]["urgent"]["response"]["amount"] = 1.5
    edited["task_budgets"]["callback"] = {"amount": 48, "unit": "hours"}
    await page.locator("#document").fill(json.dumps(edited, ensure_ascii=False, indent=2))
    await page.click("button:has-text('审阅变更')")
    proposed = page.get_by_test_id("proposed")
    urgent = proposed.locator("tr[data-path='priorities.urgent.response.amount']")
    await expect(urgent.locator("td.before")).to_have_text("2.0")
    await expect(urgent.locator("td.after")).to_have_text("1.5")
    await expect(proposed.locator("tr[data-path='task_budgets.callback.amount']")).to_contain_text("48.0")
    await expect(proposed.locator("tbody tr")).to_have_count(2)  # nothing else differs
    await snap(page, "43-admin-sla-diff")
    with sync_session() as s:  # reviewing stored nothing
        assert s.scalars(select(SlaPolicyVersion.version).where(SlaPolicyVersion.name == name)).all() == [1]

    await page.get_by_test_id("publish").click()
    await expect(page.get_by_test_id("published")).to_contain_text(f"{name} v2")
    await expect(page.get_by_test_id("latest-version")).to_have_text("v2")
    compared = page.get_by_test_id("compared")
    await expect(compared.locator("tr[data-path='priorities.urgent.response.amount'] td.after")).to_have_text("1.5")
    await expect(page.get_by_test_id("versions")).to_contain_text("admin")
    await snap(page, "44-admin-sla-published")

    # Publishing the same review again: v2 is in use now, so the v1-based edit is refused, not published twice.
    csrf = await page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    again = await page.request.post(
        f"/console/admin/documents/sla-policies/{name}/publish",
        form={"csrf": csrf, "base": "1", "document": json.dumps(edited)},
    )
    assert again.status == 409 and "was published since" in await again.text()
    with sync_session() as s:
        versions = s.scalars(select(SlaPolicyVersion).where(SlaPolicyVersion.name == name)).all()
        journaled = s.scalars(
            select(AuditEntry.subject_id).where(
                AuditEntry.actor == "admin", AuditEntry.action == "sla-policies.publish"
            )
        ).all()
    assert sorted(v.version for v in versions) == [1, 2]
    latest = max(versions, key=lambda v: v.version)
    assert latest.spec["priorities"]["urgent"]["response"]["amount"] == 1.5 and latest.created_by == "admin"
    assert f"{name}@v2" in journaled

    # The same pages for the rules documents.
    await page.get_by_test_id("admin-nav").get_by_text("派单规则").click()
    await page.get_by_test_id("documents").get_by_role("link").first.click()
    await expect(page.locator("#document")).to_contain_text("resource_check")


async def test_others_are_refused_the_administration(open_page):
    page = await open_page()
    await sign_in(page, "supervisor1")
    for path in ("/console/admin/users", "/console/admin/users/admin", "/console/admin/documents/sla-policies"):
        response = await page.goto(path)
        assert response is not None and response.status == 403, path
        await expect(page.get_by_test_id("refused")).to_contain_text("role admin required")


async def test_the_dashboards_draw_their_charts(open_page, http, login):
    created = await create(http, await login("agent1"), full_intake())
    assert created.status_code == 201, created.text
    await routed(http, await login("agent1"), created.json()["id"])

    page = await open_page()
    await sign_in(page, "supervisor1")
    assert await page.locator("script[src*=echarts]").count() == 0  # ECharts only on the pages with charts
    await page.click("nav >> text=看板")
    await page.wait_for_url("**/console/dashboards")
    assert await page.locator("script[src*=echarts]").count() == 1
    for chart in ("kpis", "tickets", "breaches", "departments", "due"):
        await expect(page.get_by_test_id(f"chart-{chart}").locator("canvas")).to_have_count(1)
        await expect(page.get_by_test_id(f"chart-{chart}")).to_have_attribute("data-drawn", "true")
    data = json.loads(await page.locator("#dashboard-data").text_content() or "{}")
    rates = [k.name for k in CATALOGUE if k.is_rate]  # the chart draws the rates; counts and means stay out
    assert data["kpis"]["keys"] == rates and "sla_breaches" not in rates
    assert "首次响应（受理）及时率" in data["kpis"]["names"]
    assert data["tickets"]["total"] >= 1 and data["tickets"]["priorities"][0] == "紧急"
    assert sum(sum(row) for row in data["tickets"]["counts"]) == data["tickets"]["total"]
    await expect(page.get_by_test_id("open-tickets")).to_have_text(str(data["tickets"]["total"]))
    await expect(page.get_by_test_id("breaches-today")).to_have_text(str(data["breaches"]["today"]))
    await expect(page.get_by_test_id("kpi-table").locator("tr[data-kpi]")).to_have_count(len(rates))
    await snap(page, "45-dashboards")

    await page.select_option("select[name=days]", "7")
    await page.wait_for_url("**/console/dashboards?days=7")
    await expect(page.get_by_test_id("chart-kpis").locator("canvas")).to_have_count(1)
    await page.goto("/console/dashboards?lang=en")
    data = json.loads(await page.locator("#dashboard-data").text_content() or "{}")
    assert "Timeliness of the first response (acceptance)" in data["kpis"]["names"]
    assert "In progress" in data["tickets"]["statuses"]

    engineer = await open_page()
    await sign_in(engineer, "engineer1")
    response = await engineer.goto("/console/dashboards")
    assert response is not None and response.status == 403


async def test_subjects_in_chinese_statuses_in_english_and_the_screenshots_for_the_readme(open_page, http, login):
    agent, engineer = await login("agent1"), await login("engineer1")
    numbers = []
    for priority, customer in (("urgent", "华信物流有限公司"), ("high", "东方航运集团"), ("medium", "云峰数据科技")):
        created = await create(http, agent, full_intake(priority=priority, customerName=customer))
        assert created.status_code == 201, created.text
        numbers.append(created.json()["id"])
    for number in numbers:
        await routed(http, agent, number)
    worked = numbers[1]  # accepted, with a progress entry: the ticket page the README shows
    cap = datetime.fromisoformat((await routed(http, agent, worked))["sla"]["cycles"][0]["resolutionCap"])
    await act(http, engineer, worked, {"type": "accept", "expected_resolution_at": cap.isoformat()})
    await act(
        http,
        engineer,
        worked,
        {"type": "log_progress", "kind": "action", "text": "已联系客户，现场更换光模块后链路恢复，观察中"},
    )

    page = await open_page()
    await sign_in(page, "engineer1")
    accept_row = page.locator("#rows tr", has_text=numbers[0])

    async def listed() -> int:
        await page.goto("/console/inbox")
        return await accept_row.count()

    await eventually(listed, what="the accept task in engineer1's inbox")
    await expect(accept_row.first).to_contain_text(f"{numbers[0]}: 受理工单并设定预计解决时间")
    await expect(accept_row.first).to_contain_text("绿色通道")  # urgent: the green channel, first
    await expect(page.locator("#rows tr", has_text=worked).first).to_contain_text(f"{worked}: 发送处理方案")
    await expect(page.locator("header .notifications")).to_be_visible()  # the badge's place in the header
    inbox = await snap(page, "46-inbox")

    await page.goto(f"/console/tickets/{worked}")
    await expect(page.locator("body")).to_contain_text("受理工单并设定预计解决时间")
    await expect(page.locator("body")).to_contain_text("engineer1 已受理")  # the status history's reason
    status_zh = await page.get_by_test_id("status").text_content()
    assert status_zh == "处理中"
    ticket = await snap(page, "47-ticket")

    await page.goto(f"/console/tickets/{worked}?lang=en")
    await expect(page.get_by_test_id("status")).to_have_text("In progress")
    await expect(page.locator("body")).to_contain_text("accept the ticket and set the expected resolution time")
    await expect(page.locator("body")).to_contain_text("accepted by engineer1")
    await snap(page, "48-ticket-english")

    if os.environ.get("KX_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(inbox, DOCS / "inbox.png")
        shutil.copy(ticket, DOCS / "ticket.png")
