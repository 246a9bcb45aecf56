"""The resource-check board and the provisioning order pages, walked in a real browser through the console only.

The coordinator requests a check (bad input refused at the fields), asks operations a question, chases the fixed
network and escalates it to its head; operations replies and answers; the fixed network's alternate answer without
a proposal is refused at its field, then given with new construction; both department heads approve the joint
review; the coordinator asks for a re-check at a lower bandwidth, the departments answer the second round, and
the coordinator accepts it with its reservation held (the first round's released). On a cross-province order HQ
operations and operations complete their steps (the completion order without its test report is refused at the
documents); the reviewer returns the order to testing (without a reason: refused at the field), operations redo
it, and the reviewer approves. Screenshots: .data/test-artifacts/console/4x-*.png and 5x-*.png.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from playwright.async_api import Page, expect
from sqlalchemy import select

from db.models import AuditEntry, Notification, Reservation, ServiceOrderRow
from tests.console.conftest import sign_in, snap
from tests.provisioning.flow import BEIJING, SHANGHAI_END
from tests.provisioning.test_api import SO, order_body
from tests.provisioning.test_presales_api import demand_body
from tests.support import eventually, skip_to


async def reload_until(page: Page, selector: str, what: str) -> None:
    """Reload the page until `selector` shows (the workflow moves on after the act that answered)."""

    async def shown():
        await page.reload()
        return await page.locator(selector).count() or None

    await eventually(shown, what=what)


async def request_check(page: Page) -> str:
    """coordinator1 requests a check from the console: an empty form and a past date are refused at the fields."""
    await sign_in(page, "coordinator1")
    await page.click("nav >> text=资源核查")
    await expect(page.locator("h1")).to_contain_text("资源核查")
    await page.click("text=申请核查")
    await page.click("button:has-text('提交核查申请')")
    await expect(page.get_by_test_id("error-customer_id")).to_contain_text("at least 1 character")
    await expect(page.get_by_test_id("error-sites")).to_be_visible()
    await expect(page.get_by_test_id("error-wanted_date")).to_contain_text("Field required")
    await page.fill("#check-customer_id", "C-BOARD-01")
    await page.fill("#check-customer_name", "华信物流有限公司")
    await page.fill("#check-contact", "13812345678")
    await page.fill("#check-description", "总部与张江分支互联，需 100M MPLS-VPN")
    await page.fill("#check-sites", "上海市浦东新区张江路 88 号\n上海市静安区南京西路 1266 号")
    await page.fill("#check-service_type", "internet")
    await page.select_option("#check-circuit_type", "mpls_vpn")
    await page.fill("#check-bandwidth", "100M")
    await page.fill("#check-wanted_date", "2020-01-01")
    await page.click("button:has-text('提交核查申请')")
    await expect(page.get_by_test_id("error-wanted_date")).to_contain_text("is in the past")
    assert await page.locator("#check-customer_name").input_value() == "华信物流有限公司"  # kept for correction
    await snap(page, "40-coordinator-check-refused-at-field")
    await page.fill("#check-wanted_date", (date.today() + timedelta(days=60)).isoformat())
    await page.click("button:has-text('提交核查申请')")
    await page.wait_for_url("**/console/resource-checks/RC*?done=requested")
    check_id = page.url.rsplit("/", 1)[1].split("?")[0]
    await expect(page.get_by_test_id("contact")).to_have_text("138****5678")
    await reload_until(page, "[data-testid=cell-1-operations]", "the departments asked")
    await expect(page.get_by_test_id("cell-1-fixed-network")).to_contain_text("待答复")
    await expect(page.get_by_test_id("countdown-1-operations")).to_contain_text("剩余")
    return check_id


async def ask_and_chase(page: Page) -> None:
    """The coordinator asks operations a question, chases the fixed network and escalates it to its head."""
    line = page.get_by_test_id("line-1-operations")
    await line.locator("button[data-act=ask]").click()
    await page.fill("#ask-1-operations-text", "机房有空余机架吗？")
    await line.locator("#act-ask-1-operations button[type=submit]").click()
    await page.wait_for_url("**?done=ask")
    await expect(page.get_by_test_id("thread-1-operations")).to_contain_text("机房有空余机架吗？")
    fixed = page.get_by_test_id("line-1-fixed-network")
    await fixed.locator("button[data-act=chase]").click()
    await page.fill("#chase-1-fixed-network-note", "请今日答复")
    await fixed.locator("#act-chase-1-fixed-network button[type=submit]").click()
    await page.wait_for_url("**?done=chase")
    await expect(page.get_by_test_id("chases-1-fixed-network")).to_contain_text("请今日答复")
    await expect(page.get_by_test_id("cell-1-fixed-network")).to_contain_text("催办 1×")
    await fixed.locator("button[data-act=escalate]").click()
    await page.fill("#escalate-1-fixed-network-note", "催办未果，请负责人协调")
    await fixed.locator("#act-escalate-1-fixed-network button[type=submit]").click()
    await page.wait_for_url("**?done=escalate")
    await expect(page.get_by_test_id("chases-1-fixed-network")).to_contain_text("升级至负责人")
    await expect(page.get_by_test_id("cell-1-fixed-network")).to_contain_text("已升级")
    assert await fixed.locator("button[data-act=escalate]").count() == 0  # once is enough
    await snap(page, "41-coordinator-board-asked-and-chased")


async def answer_as_operations(page: Page, check_id: str) -> None:
    """ops1 replies to the question and answers its line: qualified, with the rack it can give."""
    await sign_in(page, "ops1")
    await page.goto(f"/console/resource-checks/{check_id}")
    line = page.get_by_test_id("line-1-operations")
    assert await page.get_by_test_id("line-1-fixed-network").locator("button[data-act=answer]").count() == 0
    await line.locator("button[data-act=reply]").click()
    await page.fill("#reply-1-operations-text", "有，两个")
    await line.locator("#act-reply-1-operations button[type=submit]").click()
    await page.wait_for_url("**?done=reply")
    await line.locator("button[data-act=answer]").click()
    await page.select_option("#answer-1-operations-result", "qualified")
    await page.fill("#answer-1-operations-resources", "rack: ZJ-B2-07\nport: ZJ-PE2 ge-0/0/7")
    await snap(page, "42-operations-answer-form")
    await line.locator("#act-answer-1-operations button[type=submit]").click()
    await page.wait_for_url("**?done=answer")
    await expect(page.get_by_test_id("answer-1-operations")).to_contain_text("ZJ-B2-07")
    await expect(page.get_by_test_id("cell-1-operations")).to_contain_text("已答复")


async def answer_as_fixed_network(page: Page, check_id: str) -> None:
    """fixed1's alternate answer without a proposal is refused at the field; then it is given with construction."""
    await sign_in(page, "fixed1")
    await page.goto(f"/console/resource-checks/{check_id}")
    line = page.get_by_test_id("line-1-fixed-network")
    await line.locator("button[data-act=answer]").click()
    await page.select_option("#answer-1-fixed-network-result", "alternate")
    await line.locator("#act-answer-1-fixed-network button[type=submit]").click()
    error = page.get_by_test_id("error-proposal")
    await expect(error).to_contain_text("an alternate answer needs the proposed solution")
    await snap(page, "43-fixed-network-answer-refused-at-field")
    line = page.get_by_test_id("line-1-fixed-network")
    await page.fill("#answer-1-fixed-network-proposal", "先用现有 PE 提供 50M，新建光缆后升至 100M")
    await page.check("#answer-1-fixed-network-new_construction")
    await page.fill("#answer-1-fixed-network-construction", "张江局至客户机房新建光缆")
    await page.fill("#answer-1-fixed-network-construction_days", "25")
    await line.locator("#act-answer-1-fixed-network button[type=submit]").click()
    await page.wait_for_url("**?done=answer")
    await expect(page.get_by_test_id("answer-1-fixed-network")).to_contain_text("新建光缆")


async def answer_qualified(page: Page, check_id: str, department: str) -> None:
    """A department answers its line of the current round: qualified."""
    await page.goto(f"/console/resource-checks/{check_id}")
    line = page.get_by_test_id(f"line-1-{department}")
    await reload_until(page, f"[data-testid=line-1-{department}] button[data-act=answer]", f"{department} asked again")
    await line.locator("button[data-act=answer]").click()
    await page.select_option(f"#answer-1-{department}-result", "qualified")
    await line.locator(f"#act-answer-1-{department} button[type=submit]").click()
    await page.wait_for_url("**?done=answer")


async def approve_review(page: Page, head: str, department: str, check_id: str) -> None:
    """A department head approves the joint review from the board."""
    await sign_in(page, head)
    await page.goto(f"/console/resource-checks/{check_id}")
    row = page.get_by_test_id(f"review-{department}")
    await reload_until(page, f"[data-testid=review-{department}] button[value=approve]", f"{department} review")
    await row.locator("input[name=comment]").fill("方案可行")
    await row.locator("button[value=approve]").click()
    await page.wait_for_url("**?done=approve")
    await expect(row).to_contain_text("方案可行")


async def test_the_coordinator_runs_a_check_through_answers_to_a_reservation(open_page, sync_session):
    coordinator = await open_page()
    check_id = await request_check(coordinator)
    await ask_and_chase(coordinator)

    ops = await open_page()
    await answer_as_operations(ops, check_id)
    fixed = await open_page()
    await answer_as_fixed_network(fixed, check_id)
    await reload_until(fixed, "[data-testid=reviews]", "the joint review opened")
    await expect(fixed.get_by_test_id("round-result")).to_contain_text("需新建后可满足")
    await snap(fixed, "44-board-in-joint-review")

    for head, department in (("fixedhead", "fixed-network"), ("opshead", "operations")):
        await approve_review(await open_page(), head, department, check_id)

    await reload_until(coordinator, "[data-testid=check-acts] button[data-act=accept]", "the result reported")
    await expect(coordinator.get_by_test_id("reservations")).to_contain_text("预占中")
    await snap(coordinator, "45-coordinator-result-reported-reserved")

    # The requester asks again with a lower bandwidth: a second round, the first kept beside it.
    await coordinator.click("[data-testid=check-acts] button[data-act=recheck]")
    await coordinator.fill("#recheck-reason", "先以 50M 开通，光缆建成后再扩容")
    await coordinator.fill("#recheck-1-bandwidth", "50M")
    await coordinator.locator("#act-recheck button[type=submit]").click()
    await coordinator.wait_for_url("**?done=recheck")
    await reload_until(coordinator, "[data-testid=round-2]", "the second round")
    for page, department in ((ops, "operations"), (fixed, "fixed-network")):
        await answer_qualified(page, check_id, department)
    await reload_until(coordinator, "[data-testid=check-acts] button[data-act=accept]", "round 2 reported")
    await expect(coordinator.get_by_test_id("round-1")).to_contain_text("100M")
    await expect(coordinator.get_by_test_id("round-2")).to_contain_text("50M")
    await coordinator.click("[data-testid=check-acts] button[data-act=accept]")
    await coordinator.locator("#act-accept button[type=submit]").click()
    await coordinator.wait_for_url("**?done=accept")
    await expect(coordinator.get_by_test_id("status")).to_have_text("结果已接受")
    await expect(coordinator.get_by_test_id("rounds")).to_contain_text("第 2 轮")
    await expect(coordinator.get_by_test_id("round-1")).to_contain_text("要求重新核查")
    await snap(coordinator, "46-coordinator-check-accepted-rounds-side-by-side")

    with sync_session() as s:
        escalated = s.scalars(
            select(Notification).where(Notification.workflow_id == f"resource-check-{check_id}")
        ).all()
        assert any(n.recipient_user == "fixedhead" and n.kind == "escalate" for n in escalated)
        reservations = s.scalars(select(Reservation).where(Reservation.check_id == check_id)).all()
        assert sorted((r.reservation_id[-4:], r.status) for r in reservations) == [
            ("r1-1", "released"),
            ("r2-1", "held"),
        ]
        done = set(
            s.execute(
                select(AuditEntry.actor, AuditEntry.action, AuditEntry.outcome).where(AuditEntry.subject_id == check_id)
            ).all()
        )
    assert {
        ("coordinator1", "resource_check.create", "accepted"),
        ("coordinator1", "resource_check.ask", "accepted"),
        ("coordinator1", "resource_check.chase", "accepted"),
        ("coordinator1", "resource_check.escalate", "accepted"),
        ("ops1", "resource_check.reply", "accepted"),
        ("ops1", "resource_check.answer", "accepted"),
        ("fixed1", "resource_check.answer", "refused"),
        ("fixed1", "resource_check.answer", "accepted"),
        ("coordinator1", "resource_check.recheck", "accepted"),
        ("coordinator1", "resource_check.accept", "accepted"),
    } <= done


# ---- a provisioning order ------------------------------------------------------------------------------------


async def complete_step(page: Page, order_id: str, step: str, files: dict[str, bytes] | None = None) -> None:
    """Open the order, wait for the step's form, attach the files, report the step done."""
    await page.goto(f"/console/provisioning/{order_id}")
    await reload_until(page, f"form[action$='/steps/{step}/complete']", f"{step} open to {page.url}")
    await page.fill("#complete-note", f"{step} 完成")
    for kind, content in (files or {}).items():
        await page.set_input_files(
            f"#complete-{kind}", files=[{"name": f"{kind}.pdf", "mimeType": "application/pdf", "buffer": content}]
        )
    await page.locator("#act-complete button[type=submit]").click()


async def test_departments_complete_steps_and_the_reviewer_returns_then_approves(
    open_page, http, login, env, sync_session
):
    coordinator = await login("coordinator1")
    now = max(datetime.now(UTC), await env.get_current_time())
    body = order_body(z=SHANGHAI_END, now=now, days=30)
    body["serviceOrderItem"][0]["service"]["serviceCharacteristic"][1]["value"] = BEIJING.model_dump()
    created = await http.post(SO, json=body, headers=coordinator)
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]

    hq = await open_page()
    await sign_in(hq, "hqops1")
    await hq.click("nav >> text=开通")
    await hq.locator("[data-testid=orders] a", has_text=order_id).click()
    await expect(hq.get_by_test_id("gantt")).to_have_attribute("data-drawn", "1")
    await snap(hq, "50-hq-operations-order-gantt")
    for step in ("dispatch", "trunk_configuration"):
        await complete_step(hq, order_id, step)
        await hq.wait_for_url("**?done=complete_step")

    ops = await open_page()
    await sign_in(ops, "ops1")
    for step in ("data_configuration", "activation", "testing"):
        await complete_step(ops, order_id, step)
        await ops.wait_for_url("**?done=complete_step")
    await complete_step(ops, order_id, "completion_order", {"completion_order": b"completion order, signed"})
    await expect(ops.get_by_test_id("error-documents")).to_contain_text("test_report must be uploaded")
    await snap(ops, "51-operations-completion-refused-at-documents")
    files = {"completion_order": b"completion order, signed", "test_report": b"test report: 0 errors in 24h"}
    await complete_step(ops, order_id, "completion_order", files)
    await ops.wait_for_url("**?done=complete_step")
    await expect(ops.get_by_test_id("documents")).to_contain_text("test_report.pdf")

    reviewer = await open_page()
    await sign_in(reviewer, "reviewer1")
    await reviewer.goto(f"/console/provisioning/{order_id}")
    await reload_until(reviewer, "#act-review", "the review open")
    await reviewer.check("input[name=outcome][value=return]")
    await reviewer.select_option("#review-return_to", "testing")
    await reviewer.locator("#act-review button[type=submit]").click()
    await expect(reviewer.get_by_test_id("error-reason")).to_contain_text("a reason is required")
    await snap(reviewer, "52-reviewer-return-refused-at-field")
    await reviewer.check("input[name=outcome][value=return]")
    await reviewer.select_option("#review-return_to", "testing")
    await reviewer.fill("#review-reason", "测试报告缺少 24 小时误码记录，请重测")
    await reviewer.locator("#act-review button[type=submit]").click()
    await reviewer.wait_for_url("**?done=return")
    await expect(reviewer.get_by_test_id("reviews")).to_contain_text("请重测")
    await snap(reviewer, "53-reviewer-returned-to-testing")

    await complete_step(ops, order_id, "testing")
    await ops.wait_for_url("**?done=complete_step")
    await complete_step(ops, order_id, "completion_order", files)
    await ops.wait_for_url("**?done=complete_step")

    await reviewer.goto(f"/console/provisioning/{order_id}")
    await reload_until(reviewer, "#act-review", "the review open again")
    await reviewer.locator("#act-review button[type=submit]").click()  # approve is the default
    await reviewer.wait_for_url("**?done=approve")
    await reload_until(reviewer, "[data-testid=ledger-row]:has-text('CIR')", "the circuit in the ledger")
    await expect(reviewer.get_by_test_id("status")).to_have_text("已完成")
    await expect(reviewer.get_by_test_id("step-testing")).to_contain_text("返工 1")
    await snap(reviewer, "54-reviewer-order-completed")
    await reviewer.click("a:has-text('电路台帐')")
    await expect(reviewer.get_by_test_id("ledger")).to_contain_text(order_id)
    await snap(reviewer, "55-circuit-ledger")

    with sync_session() as s:
        done = set(
            s.execute(
                select(AuditEntry.actor, AuditEntry.action, AuditEntry.outcome).where(AuditEntry.subject_id == order_id)
            ).all()
        )
    assert {
        ("hqops1", "order.complete_step", "accepted"),
        ("ops1", "order.complete_step", "refused"),
        ("ops1", "order.complete_step", "accepted"),
        ("reviewer1", "order.review", "refused"),
        ("reviewer1", "order.review", "accepted"),
    } <= done


async def test_a_late_step_is_marked_in_jeopardy_then_breached_on_the_chart(open_page, http, login, env, sync_session):
    coordinator = await login("coordinator1")
    now = max(datetime.now(UTC), await env.get_current_time())
    created = await http.post(SO, json=order_body(now=now, days=20), headers=coordinator)
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]

    async def dispatch_due():
        with sync_session() as s:
            row = s.get(ServiceOrderRow, order_id)
            step = row.detail["steps"][0] if row and row.detail.get("steps") else None
            return datetime.fromisoformat(step["due_at"]) if step and step.get("task_id") else None

    due = await eventually(dispatch_due, what="the dispatch step opened")
    await skip_to(env, due + timedelta(minutes=5))  # the warning rung, then the breach

    async def breached():
        with sync_session() as s:
            detail = s.get(ServiceOrderRow, order_id).detail
            return detail if {a["jeopardy_type"] for a in detail["jeopardy_alerts"]} == {"warning", "breach"} else None

    await eventually(breached, what="warning and breach of the dispatch step")
    page = await open_page()
    await sign_in(page, "coordinator1")
    await page.goto(f"/console/provisioning/{order_id}")
    await expect(page.get_by_test_id("gantt")).to_have_attribute("data-drawn", "1")
    await expect(page.get_by_test_id("step-dispatch")).to_have_class("breached")
    await expect(page.get_by_test_id("step-dispatch")).to_contain_text("已超时")
    await expect(page.get_by_test_id("alerts")).to_contain_text("预警")
    await expect(page.get_by_test_id("alerts")).to_contain_text("超时")
    await snap(page, "57-coordinator-order-step-breached")

    raised = await http.post("/api/presales-demands", json=demand_body(now), headers=await login("gcd1"))
    assert raised.status_code == 201, raised.text
    demand_id = raised.json()["demand"]["demand_id"]
    await page.click("nav >> text=开通")
    demands = page.get_by_test_id("demands")
    await expect(demands.locator("tr", has_text=demand_id)).to_contain_text("需求细化")
    await expect(page.get_by_test_id("orders").locator("tr", has_text=order_id)).to_contain_text("下发调单")
    await snap(page, "58-coordinator-orders-and-presales-demands")
    await page.goto(f"/console/provisioning/{order_id}")
    await complete_step(page, order_id, "dispatch")
    await page.wait_for_url("**?done=complete_step")
    await expect(page.get_by_test_id("step-dispatch")).to_contain_text("超时")  # done, late: still marked


# ---- refusals --------------------------------------------------------------------------------------------------


async def test_other_roles_and_csrf_less_posts_are_refused_on_the_boards(open_page, sync_session):
    page = await open_page()
    await sign_in(page, "agent1")
    for url, rule in (
        ("/console/resource-checks", "role coordinator or department or supervisor or auditor required"),
        ("/console/resource-checks/new", "role coordinator or department or supervisor required"),
        ("/console/provisioning", "role coordinator or department or reviewer"),
        ("/console/provisioning/ledger", "role coordinator or department or reviewer"),
    ):
        response = await page.goto(url)
        assert response.status == 403, url
        await expect(page.get_by_test_id("refused")).to_contain_text(rule)
    await snap(page, "56-agent-refused-provisioning")
    csrf = await page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    posted = await page.request.post("/console/resource-checks/new", form={"csrf": csrf, "customer_id": "C-1"})
    assert posted.status == 403 and "role " in await posted.text()

    coordinator = await open_page()
    await sign_in(coordinator, "coordinator1")
    for url in (
        "/console/resource-checks/new",
        "/console/resource-checks/RC-NOPE/acts/chase",
        "/console/resource-checks/RC-NOPE/reviews/T-NOPE",
        "/console/provisioning/SO-NOPE/steps/dispatch/complete",
        "/console/provisioning/SO-NOPE/review",
    ):
        for headers, form in (({}, {"customer_id": "C-1"}), ({"X-CSRF-Token": "forged"}, {"note": "x"})):
            response = await coordinator.request.post(url, form=form, headers=headers)
            assert response.status == 403, (url, await response.text())
            assert "CSRF token missing or wrong" in await response.text()
    auditor = await open_page()
    await sign_in(auditor, "auditor1")
    response = await auditor.goto("/console/resource-checks/RC-NOPE")
    assert response.status == 404 and "RC-NOPE does not exist" in await auditor.content()
