"""The quarterly report end to end on the time-skipping clock: the scheduler fires at the quarter's end, the center
manager picks a typical case, people write their sections, the approval is refused once (four-eyes) and rejected
once, then approved; the PDF (Chinese as real glyphs, pages rendered to PNG) and the XLSX (native charts) are
published and downloadable by the auditor. The month's operation report is a task of its own."""

from __future__ import annotations

import re
import subprocess
import uuid
import zipfile
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.reports import ReportRecord, SchedulerState, quarter_months, quarter_of
from db.models import KnowledgeEntry, ReportRow, ResourceCheckLedger, TicketRow
from tests.reports.flow import forget_reports, local, next_month_end, open_task, reports_due_at, started
from tests.support import eventually, skip_to, workflow_tasks
from workflows.reports import ReportSchedulerWorkflow

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".data" / "test-artifacts" / "reports"
PLAN = "下季度计划：完成核心机房双路由改造，开展两次应急演练。"
PROBLEMS = "部分夜间工单首次响应超时。"
SUGGESTIONS = "夜班增加一名值班工程师。"


async def _decide(http, headers, task_id: str, outcome: str = "submit", status: int = 200, **body) -> dict:
    response = await http.post(f"/api/tasks/{task_id}/decision", json={"outcome": outcome, **body}, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


async def _report(http, headers, report_id: str, status: str) -> dict:
    async def probe():
        response = await http.get(f"/api/reports/{report_id}", headers=headers)
        return response.json() if response.status_code == 200 and response.json()["status"] == status else None

    return await eventually(probe, timeout=60, what=f"{report_id} {status}")


@pytest.fixture
def typical_case(sync_session):
    """A ticket of the knowledge base closed in the quarter the test reports on (with a phone number in its text)."""
    number = f"CS{uuid.uuid4().int % 10**12:012d}"

    def put(closed_at):
        with sync_session() as s:
            s.add(
                KnowledgeEntry(
                    ticket_no=number,
                    customer_id="C-1001",
                    customer_name="华信物流有限公司",
                    categories=["fault"],
                    priority="urgent",
                    title="仓库专线中断",
                    symptom="专线全部中断，联系人电话13812345678",
                    cause="光缆被施工挖断",
                    solution="抢修熔接光缆，两小时恢复",
                    opened_at=closed_at - timedelta(hours=3),
                    closed_at=closed_at,
                    search_terms="",
                )
            )
            s.commit()
        return number

    return put


@pytest.fixture
def quarter_facts(sync_session):
    """Facts of a customer of its own month by month in the quarter, so the KPI charts have bars; removed after."""
    customer = f"C-RPT-{uuid.uuid4().hex[:8]}"
    made: list[tuple[type, str]] = []

    def put(months: list):
        with sync_session() as s:
            for i, first in enumerate(months):
                start = local(first, 10) + timedelta(days=3)
                for j in range(4):  # four tickets a month; the j-th of month i late unless j > i
                    opened = start + timedelta(hours=j)
                    late = j < i
                    cycle = {
                        "number": 1,
                        "started_at": opened.isoformat(),
                        "response_due": (opened + timedelta(hours=2)).isoformat(),
                        "responded_at": (opened + timedelta(hours=3 if late else 1)).isoformat(),
                        "plan_due": (opened + timedelta(hours=4)).isoformat(),
                        "planned_at": (opened + timedelta(hours=2)).isoformat(),
                        "resolution_due": (opened + timedelta(hours=24)).isoformat(),
                        "resolved_at": (opened + timedelta(hours=5)).isoformat(),
                        "breaches": ["accept:late"] if late else [],
                        "rating": "satisfied" if j != 3 else "neutral",
                    }
                    number = f"CSR{uuid.uuid4().int % 10**12:012d}"
                    s.add(
                        TicketRow(
                            ticket_no=number,
                            workflow_id=f"wf-{number}",
                            status="closed",
                            tmf_status="closed",
                            priority="urgent",
                            customer_id=customer,
                            customer_name="测试客户",
                            created_by="agent1",
                            created_at=opened,
                            resolved_at=opened + timedelta(hours=5),
                            closed_at=opened + timedelta(hours=6),
                            detail={"cycles": [cycle]},
                        )
                    )
                    made.append((TicketRow, number))
                check = f"RC-RPT-{uuid.uuid4().hex[:10]}"
                s.add(
                    ResourceCheckLedger(
                        check_id=check,
                        customer_id=customer,
                        customer_name="测试客户",
                        outcome="accepted",
                        feasibility="feasible",
                        requested_at=start,
                        finished_at=start + timedelta(days=1),
                        on_time=i != 1,
                    )
                )
                made.append((ResourceCheckLedger, check))
            s.commit()
        return customer

    yield put
    with sync_session() as s:
        for table, key in made:
            s.delete(s.get(table, key))
        s.commit()


async def test_quarter_end_drafts_writes_approves_and_publishes(
    env, worker, task_queue, http, login, sync_session, typical_case, quarter_facts
):
    supervisor, manager, auditor = await login("supervisor2"), await login("supervisor1"), await login("auditor1")
    now = await env.get_current_time()
    boundary, month = next_month_end(now)
    while month.month % 3:  # the next quarter's end
        boundary, month = next_month_end(boundary + timedelta(hours=1))
    owed = reports_due_at(boundary)
    operation_id, quarterly_id = owed
    forget_reports(sync_session, *owed)
    case_no = typical_case(boundary - timedelta(days=3))
    quarter_facts(quarter_months(*quarter_of(month)))

    scheduler = await env.client.start_workflow(
        ReportSchedulerWorkflow.run,
        SchedulerState(rounds_per_run=4),
        id=f"report-scheduler-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
    )
    await skip_to(env, boundary + timedelta(minutes=1))
    quarterly = await started(env, quarterly_id)
    await eventually(lambda: scheduler.query("fired"), what="the scheduler fired")

    # The center manager picks typical cases from the knowledge base: only the quarter's closed tickets.
    cases = await open_task(quarterly, "report_typical_cases", sync_session)
    assert case_no in await quarterly.query("case_candidates")
    refused = await _decide(http, manager, cases.task_id, data={"cases": ["CS000000000000"]}, status=422)
    assert "CS000000000000" in refused["detail"]
    await _decide(http, manager, cases.task_id, data={"cases": [case_no]})
    problems = await open_task(quarterly, "report_problems", sync_session)
    await _decide(http, supervisor, problems.task_id, data={"problems": "初稿", "suggestions": SUGGESTIONS})
    plan = await open_task(quarterly, "report_plan", sync_session)
    await _decide(http, supervisor, plan.task_id, status=422, data={})  # the plan is required
    await _decide(http, supervisor, plan.task_id, data={"plan": PLAN})

    # Approval: not by the plan's writer (four-eyes); a rejection sends the written sections back.
    approval = await open_task(quarterly, "report_approval", sync_session)
    await _decide(http, supervisor, approval.task_id, "approve", status=403)
    await _decide(http, manager, approval.task_id, "reject", comment="问题写得太简略")
    problems = await open_task(quarterly, "report_problems", sync_session)
    assert "问题写得太简略" in problems.subject
    await _decide(http, supervisor, problems.task_id, data={"problems": PROBLEMS, "suggestions": SUGGESTIONS})
    await _decide(
        http, supervisor, (await open_task(quarterly, "report_plan", sync_session)).task_id, data={"plan": PLAN}
    )
    approval = await open_task(quarterly, "report_approval", sync_session)
    await _decide(http, manager, approval.task_id, "approve")

    report = await _report(http, auditor, quarterly_id, "published")
    assert report["on_time"] is True and report["done_at"] <= report["due_at"]
    assert report["sections"]["approved_by"] == "supervisor1" and report["sections"]["plan_by"] == "supervisor2"
    assert report["sections"]["problems"] == PROBLEMS and report["sections"]["typical_cases"] == [case_no]
    assert {f["format"] for f in report["files"]} == {"pdf", "xlsx"}
    held = (await quarterly.query("report", result_type=ReportRecord)).sections  # the workflow keeps them all too
    assert held["problems"] == PROBLEMS and held["plan_by"] == "supervisor2" and held["files"] == ["pdf", "xlsx"]

    assert (await http.get(f"/api/reports/{quarterly_id}/files/pdf", headers=await login("agent1"))).status_code == 403
    pdf = await http.get(f"/api/reports/{quarterly_id}/files/pdf", headers=auditor)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    _check_pdf(pdf.content, quarterly_id, case_no)
    xlsx = await http.get(f"/api/reports/{quarterly_id}/files/xlsx", headers=auditor)
    assert xlsx.status_code == 200
    _check_xlsx(xlsx.content)

    # The month's operation report for the major customer is a task of its own, due 5 working days on.
    operation = await started(env, operation_id)
    writing = await open_task(operation, "operation_report", sync_session)
    assert writing.due_at > boundary + timedelta(days=5)  # working days: at least one weekend or holiday between
    await _decide(http, supervisor, writing.task_id, data={"content": "本月专线可用率99.99%，无重大故障。"})
    submitted = await _report(http, auditor, operation_id, "submitted")
    assert submitted["on_time"] is True and submitted["customer_id"] == "C-1001"

    # Report timeliness over the month the two fell due in, against a count of the report table.
    first = local(boundary.astimezone(local(month).tzinfo).date())
    with sync_session() as s:
        due = s.scalar(
            select(func.count()).where(
                ReportRow.due_at >= first, ReportRow.due_at < first + timedelta(days=31), ReportRow.on_time.is_not(None)
            )
        )
    day = first.date()
    kpi = await http.get(
        "/api/kpis/report_timeliness",
        params={"from": day.isoformat(), "to": (day + timedelta(days=30)).isoformat()},
        headers=manager,
    )
    assert kpi.status_code == 200, kpi.text
    assert kpi.json()["denominator"] == due and kpi.json()["numerator"] >= 2
    assert not await workflow_tasks(quarterly)


def _check_pdf(content: bytes, report_id: str, case_no: str) -> None:
    """Chinese text extracts as text (real glyphs of an embedded CJK font, not boxes); pages render to PNG."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{report_id}.pdf"
    path.write_bytes(content)
    extracted = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    flat = re.sub(r"\s+", "", extracted.stdout)
    for words in (
        "季度报告",
        "一、响应体系",
        "二、服务客户",
        "三、服务交付",
        "四、项目支撑",
        "五、工作开展",
        "六、指标完成情况",
        "七、典型案例",
        "八、存在问题与改进建议",
        "九、下季度工作计划",
        "仓库专线中断",
        "客户满意率",
        "夜班增加一名值班工程师",
        re.sub(r"\s+", "", PLAN),
        case_no,
    ):
        assert words in flat, words
    assert "138****5678" in flat and "13812345678" not in flat
    assert "\ufffd" not in extracted.stdout and "□" not in extracted.stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Noto-(Sans|Serif)-CJK-SC\s+CID", fonts), fonts  # embedded, with a ToUnicode map
    for old in ARTIFACTS.glob(f"{report_id}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(ARTIFACTS / report_id)], check=True)
    pages = sorted(ARTIFACTS.glob(f"{report_id}-*.png"))
    assert len(pages) >= 4 and all(p.stat().st_size > 5_000 for p in pages)


def _check_xlsx(content: bytes) -> None:
    """A workbook with a sheet per section, native charts on the KPI sheet, no contact data."""
    with zipfile.ZipFile(BytesIO(content)) as book:
        names = book.namelist()
        assert {"xl/charts/chart1.xml", "xl/charts/chart2.xml"} <= set(names)
        strings = book.read("xl/sharedStrings.xml").decode()
        workbook = book.read("xl/workbook.xml").decode()
    for sheet in (
        "概览",
        "响应体系",
        "服务客户",
        "服务交付",
        "项目支撑",
        "工作开展",
        "指标",
        "典型案例",
        "问题建议与计划",
    ):
        assert f'name="{sheet}"' in workbook, sheet
    assert "客户满意率" in strings and "仓库专线中断" in strings and "13812345678" not in strings
