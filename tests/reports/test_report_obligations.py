"""Report obligations over HTTP on the time-skipping clock: a major fault's report is owed once, due the policy's
24 hours after the fault, marked late (and its task escalated, the breach recorded) when the due passes, and still
handed in afterwards; who may start and read reports; the report timeliness KPI counts it."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus

from core.reports import default_report_policy
from db.models import ReportRow, SlaBreach
from infra.worker_factory import build_worker
from tests.reports.caller_workflows import FaultReportCaller
from tests.reports.flow import open_task
from tests.support import SHANGHAI, end_workflow, eventually, finished, skip_to, when
from workflows.registry import ALL_WORKFLOWS


async def _row(sync_session, report_id: str) -> ReportRow | None:
    with sync_session() as s:
        row = s.get(ReportRow, report_id)
        if row is not None:
            s.expunge(row)
        return row


async def test_fault_report_owed_once_late_escalated_then_handed_in(env, worker, http, login, sync_session):
    supervisor, auditor = await login("supervisor1"), await login("auditor1")
    occurred = await env.get_current_time()
    fault = f"INC-{uuid.uuid4().hex[:8]}"
    body = {"fault_ref": fault, "occurred_at": occurred.isoformat(), "summary": "核心路由器宕机，多家客户专线中断"}

    assert (await http.post("/api/reports/fault", json=body, headers=await login("agent1"))).status_code == 403
    bad = await http.post("/api/reports/fault", json={**body, "fault_ref": "空格 不行"}, headers=supervisor)
    assert bad.status_code == 422 and "fault_ref" in bad.text
    naive = await http.post(
        "/api/reports/fault", json={**body, "occurred_at": "2026-12-01T10:00:00"}, headers=supervisor
    )
    assert naive.status_code == 422 and "occurred_at" in naive.text
    first = await http.post("/api/reports/fault", json=body, headers=supervisor)
    assert first.status_code == 202, first.text
    report_id = first.json()["report_id"]
    assert first.json() == {"report_id": f"report-fault-{fault}", "started": True}
    again = await http.post("/api/reports/fault", json=body, headers=supervisor)
    assert again.json() == {"report_id": report_id, "started": False}

    handle = env.client.get_workflow_handle(report_id)
    task = await open_task(handle, "fault_report", sync_session)
    assert task.due_at == occurred + timedelta(hours=24)  # a budget in hours runs around the clock
    view = (await http.get(f"/api/tasks/{task.task_id}", headers=supervisor)).json()
    assert view["completion"]["outcomes"] == ["submit"]
    assert view["completion"]["acts"][0]["data_required"] == ["content"]
    listed = await http.get("/api/reports", params={"kind": "fault", "status": "open"}, headers=auditor)
    assert report_id in [r["report_id"] for r in listed.json()]
    assert (await http.get("/api/reports", headers=await login("engineer1"))).status_code == 403

    await skip_to(env, task.due_at + timedelta(minutes=1))

    async def marked_late():
        row = await _row(sync_session, report_id)
        return row if row is not None and row.on_time is False else None

    await eventually(marked_late, what="the fault report marked late at its due")
    with sync_session() as s:
        breaches = list(s.scalars(select(SlaBreach).where(SlaBreach.task_id == task.task_id)))
    assert len(breaches) == 1 and breaches[0].kind == "fault_report"

    refused = await http.post(
        f"/api/tasks/{task.task_id}/decision", json={"outcome": "submit", "data": {"content": " "}}, headers=supervisor
    )
    assert refused.status_code == 422 and "content" in refused.text
    content = "故障原因：主控板故障；影响：12家客户；恢复：倒换备板后40分钟恢复。"
    done = await http.post(
        f"/api/tasks/{task.task_id}/decision",
        json={"outcome": "submit", "data": {"content": content}},
        headers=supervisor,
    )
    assert done.status_code == 200, done.text

    async def submitted():
        response = await http.get(f"/api/reports/{report_id}", headers=auditor)
        return response.json() if response.json()["status"] == "submitted" else None

    report = await eventually(submitted, what="the fault report handed in")
    assert report["on_time"] is False and when(report["done_at"]) > when(report["due_at"])
    assert report["sections"]["content"] == content and report["sections"]["written_by"] == "supervisor1"
    assert report["files"] == []
    assert (await http.get(f"/api/reports/{report_id}/files/pdf", headers=auditor)).status_code == 404

    day = task.due_at.astimezone(SHANGHAI).date()
    with sync_session() as s:
        due_rows = list(s.scalars(select(ReportRow).where(ReportRow.on_time.is_not(None))))
    start, end = _local_day_bounds(day)
    expected = [r for r in due_rows if start <= r.due_at < end]
    kpi = await http.get(
        "/api/kpis/report_timeliness", params={"from": day.isoformat(), "to": day.isoformat()}, headers=supervisor
    )
    assert kpi.status_code == 200, kpi.text
    answer = kpi.json()
    assert answer["denominator"] == len(expected) and answer["numerator"] == sum(bool(r.on_time) for r in expected)
    assert answer["counts"]["fault"] >= 1 and answer["counts"]["late"] >= 1 and answer["met"] is False


def _local_day_bounds(day: date) -> tuple[datetime, datetime]:
    return datetime.combine(day, time(), SHANGHAI), datetime.combine(day + timedelta(days=1), time(), SHANGHAI)


async def test_report_workflows_show_in_the_auditors_timeline(env, worker, http, login, sync_session):
    supervisor, auditor = await login("supervisor1"), await login("auditor1")
    fault = f"INC-{uuid.uuid4().hex[:8]}"
    body = {"fault_ref": fault, "occurred_at": (await env.get_current_time()).isoformat(), "summary": "传输网中断"}
    report_id = (await http.post("/api/reports/fault", json=body, headers=supervisor)).json()["report_id"]
    task = await open_task(env.client.get_workflow_handle(report_id), "fault_report", sync_session)
    decision = {"outcome": "submit", "data": {"content": "已恢复"}}
    assert (
        await http.post(f"/api/tasks/{task.task_id}/decision", json=decision, headers=supervisor)
    ).status_code == 200

    async def finished_timeline():
        response = await http.get("/api/audit/timeline", params={"ref": report_id}, headers=auditor)
        body = response.json()
        return body if any(e["action"] == "workflow.completed" for e in body.get("entries", [])) else None

    timeline = await eventually(finished_timeline, what="the report's timeline")
    assert timeline["workflow_type"] == "ReportObligation" and timeline["business_ref"] == report_id
    decided = [e for e in timeline["entries"] if e["actor"] == "supervisor1" and e["action"] == "task.submit"]
    assert decided and decided[0]["kind"] == "act"


async def test_a_workflow_owes_a_fault_report_through_start_fault_report(env, db, settings, sync_session):
    """What the incident workflow calls: the report starts once, as an abandoned child that outlives its caller."""
    queue = f"kx-caller-{uuid.uuid4().hex[:8]}"
    fault = f"INC-{uuid.uuid4().hex[:8]}"
    occurred = await env.get_current_time()
    async with build_worker(env.client, db, settings, task_queue=queue, workflows=[*ALL_WORKFLOWS, FaultReportCaller]):
        caller = await env.client.start_workflow(
            FaultReportCaller.run, args=[fault, occurred], id=f"caller-{fault}", task_queue=queue
        )
        assert await finished(env, caller) == [f"report-fault-{fault}"] * 2
        report = env.client.get_workflow_handle(f"report-fault-{fault}")
        task = await open_task(report, "fault_report", sync_session)
        assert task.due_at == occurred + timedelta(hours=24)
        assert (await report.describe()).status == WorkflowExecutionStatus.RUNNING
        await end_workflow(report)


async def test_report_policy_is_seeded_and_versioned(http, login):
    """The migration seeds the catalogue's policy; a malformed major customer is refused and nothing is published."""
    admin = await login("admin")
    seeded = (await http.get("/api/report-policies/center/versions", headers=admin)).json()[0]
    assert seeded["version"] == 1
    assert seeded["spec"] == default_report_policy().model_dump(mode="json")
    bad = {**seeded["spec"], "major_customers": {"not an id": "某客户"}}
    refused = await http.post("/api/report-policies/center", json=bad, headers=admin)
    assert refused.status_code == 422 and "major_customers" in refused.text
    assert (
        await http.post("/api/report-policies/center", json=seeded["spec"], headers=await login("supervisor1"))
    ).status_code == 403
    latest = (await http.get("/api/report-policies/center", headers=admin)).json()
    assert latest["spec"]["major_customers"] == seeded["spec"]["major_customers"]
