"""Quality inspection (质检) over HTTP on the time-skipping clock: a week's closed tickets sampled per handler,
scored by an inspector, a finding followed by an improvement action and, later, a check that it worked; the scores
feed the quality and staff-evaluation KPIs; the auditor's timeline shows every act."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.quality import ClosedTicket, QualityRules, draw_sample
from core.sla import Priority
from core.tickets import Category, Channel, Intake, SlaCycle, Ticket, TicketStatus
from db.models import TicketRow
from db.tickets import ticket_row_values
from tests.support import eventually, finished, skip_to

CENTER = ZoneInfo("Asia/Shanghai")
QI = "/api/quality/inspections"
RULES = {
    "sample_per_handler": 2,
    "criteria": [
        {"name": "diagnosis", "title": "问题判断准确", "points": 60},
        {"name": "communication", "title": "沟通清楚", "points": 40},
    ],
    "pass_ratio": 0.7,
    "check_after": {"amount": 3, "unit": "working_days"},
}


def _closed_ticket(run: str, n: int, handler: str | None, closed: datetime) -> Ticket:
    opened = closed - timedelta(hours=20)
    return Ticket(
        ticket_no=f"CQ{run}{n:03d}",
        workflow_id=f"ticket-CQ{run}{n:03d}",
        intake=Intake(
            customer_id=f"CQI-{run}",
            customer_name="质检客户",
            industry="制造",
            contact="13800002222",
            channel=Channel.PHONE,
            occurred_at=opened,
            scenario="质检",
            description="质检样本",
            categories=(Category.AFTERSALES_HARDWARE,),
            priority=Priority.HIGH,
        ),
        status=TicketStatus.CLOSED,
        created_at=opened,
        created_by="agent1",
        first_responder="agent1",
        handler=handler,
        candidates_department="hardware-engineering",
        cycles=[
            SlaCycle(
                number=1,
                started_at=opened,
                response_due=opened + timedelta(hours=4),
                plan_due=opened + timedelta(hours=8),
                resolution_cap=opened + timedelta(hours=48),
                responded_at=opened + timedelta(hours=1),
                resolved_at=closed - timedelta(hours=1),
            )
        ],
        closed_at=closed,
    )


async def test_a_week_inspected_followed_up_and_checked(env, http, login, sync_session):
    admin, supervisor, engineer = await login("admin"), await login("supervisor1"), await login("engineer1")
    run = uuid.uuid4().hex[:6]
    published = await http.post("/api/quality-rules/center", json=RULES, headers=admin)
    assert published.status_code == 201, published.text
    rules = QualityRules.model_validate(published.json()["spec"])

    # A past week (Mon 6 – Fri 10 May 2024): engineer1 closed three, engineer2 one; others fall outside.
    monday = datetime(2024, 5, 6, 10, tzinfo=CENTER)
    tickets = [
        _closed_ticket(run, 0, "engineer1", monday),
        _closed_ticket(run, 1, "engineer1", monday + timedelta(days=1)),
        _closed_ticket(run, 2, "engineer1", monday + timedelta(days=4, hours=13)),  # Fri 23:00
        _closed_ticket(run, 3, "engineer2", monday + timedelta(days=2)),
        _closed_ticket(run, 4, "engineer2", monday + timedelta(days=5)),  # Saturday: another period
        _closed_ticket(run, 5, None, monday + timedelta(days=1)),  # no handler: nobody to inspect
    ]
    with sync_session() as s:
        s.add_all(TicketRow(**ticket_row_values(t)) for t in tickets)
        s.commit()
    week = {"from": "2024-05-06", "to": "2024-05-10"}

    # Refused: not an inspector, a malformed or unfinished period.
    assert (await http.post(QI, json=week, headers=engineer)).status_code == 403
    for bad in ({"from": "2024-05-10", "to": "2024-05-06"}, {"from": "May", "to": "2024-05-06"}):
        assert (await http.post(QI, json=bad, headers=supervisor)).status_code == 422
    future = {"from": "2030-01-01", "to": "2030-01-02"}
    assert (await http.post(QI, json=future, headers=supervisor)).status_code == 422

    started = await http.post(QI, json=week, headers=supervisor)
    assert started.status_code == 201, started.text
    inspection_id = started.json()["inspection"]["inspection_id"]
    assert inspection_id == "QI-20240506-20240510"
    handle = env.client.get_workflow_handle(f"quality-{inspection_id}")
    try:
        again = await http.post(QI, json=week, headers=supervisor)
        assert again.status_code == 409, again.text

        async def reviews() -> dict | None:
            body = (await http.get(f"{QI}/{inspection_id}", headers=supervisor)).json()
            opened = [t for t in body["tasks"] if t["kind"] == "quality_review"]
            sent = [r for r in body["inspection"]["reviews"] if r["task_id"]]
            return body["inspection"] if len(opened) == len(sent) == 3 else None

        body = await eventually(reviews, what="three review tasks")
        sampled = {(r["ticket_no"], r["handler"]) for r in body["reviews"]}
        closed = [ClosedTicket(ticket_no=t.ticket_no, handler=t.handler or "") for t in tickets[:4]]
        expected = draw_sample(closed, rules, inspection_id)
        assert sampled == {(t.ticket_no, t.handler) for t in expected}
        assert sorted(h for _, h in sampled) == ["engineer1", "engineer1", "engineer2"]
        assert body["rules_version"] == published.json()["version"]
        by_ticket = {r["ticket_no"]: r["task_id"] for r in body["reviews"]}

        async def decide(task_id: str, headers, outcome: str, comment: str | None = None, **data):
            payload = {"outcome": outcome, "comment": comment, "data": data}
            return await http.post(f"/api/tasks/{task_id}/decision", json=payload, headers=headers)

        first, second = sorted(t for t, h in sampled if h == "engineer1")
        [third] = [t for t, h in sampled if h == "engineer2"]
        # The form must fit the criteria; the handler of a ticket cannot inspect it; engineers do not inspect.
        for form, word in (
            ({"marks": {"diagnosis": 50}}, "communication"),
            ({"marks": {"diagnosis": 50, "communication": 41}}, "communication"),
            ({"marks": {"diagnosis": 50, "communication": 30, "speed": 1}}, "speed"),
            ({"marks": {"diagnosis": 50, "communication": 30}, "findings": [{"text": ""}]}, "findings"),
        ):
            refused = await decide(by_ticket[first], supervisor, "scored", **form)
            assert refused.status_code == 422 and word in refused.text, refused.text
        assert (await decide(by_ticket[first], engineer, "scored", marks={})).status_code == 403

        finding = {"text": "未向客户说明故障原因", "owner": "engineer1"}
        marks = {"diagnosis": 50, "communication": 30}
        scored = await decide(by_ticket[first], supervisor, "scored", marks=marks, findings=[finding])
        assert scored.status_code == 200, scored.text
        low = await decide(by_ticket[second], supervisor, "scored", marks={"diagnosis": 30, "communication": 20})
        assert low.status_code == 200, low.text
        other = await decide(by_ticket[third], supervisor, "scored", marks={"diagnosis": 55, "communication": 35})
        assert other.status_code == 200, other.text

        async def task_of(kind: str) -> dict | None:
            body = (await http.get(f"{QI}/{inspection_id}", headers=supervisor)).json()
            return next((t for t in body["tasks"] if t["kind"] == kind and t["status"] == "open"), None)

        action = await eventually(lambda: task_of("improvement_action"), what="the improvement action")
        assert action["assignee"] == "engineer1" and finding["text"] in action["subject"]
        assert (await decide(action["task_id"], engineer, "done")).status_code == 422  # a note is required
        done = await decide(action["task_id"], engineer, "done", comment="已培训并更新话术")
        assert done.status_code == 200, done.text

        # The effect is checked only after check_after (3 working days) has passed since the action was done.
        assert await task_of("improvement_check") is None
        await skip_to(env, await env.get_current_time() + timedelta(days=7))
        check = await eventually(lambda: task_of("improvement_check"), what="the effect check")
        assert check["assignee"] == "supervisor1"
        checked = await decide(check["task_id"], supervisor, "effective", comment="复查两张工单，均已说明原因")
        assert checked.status_code == 200, checked.text
        result = await finished(env, handle)
        assert (result["reviews"], result["points"], result["possible"]) == (3, 220, 300)
        assert (result["actions"], result["effective"]) == (1, 1)
    finally:
        with contextlib.suppress(Exception):
            await handle.terminate("test over")

    body = (await http.get(f"{QI}/{inspection_id}", headers=supervisor)).json()["inspection"]
    assert body["status"] == "done"
    [act] = body["actions"]
    assert (act["owner"], act["effective"], act["checked_by"], act["done_note"]) == (
        "engineer1",
        True,
        "supervisor1",
        "已培训并更新话术",
    )
    listed = (await http.get(QI, headers=supervisor)).json()
    assert next(i for i in listed if i["inspection_id"] == inspection_id)["effective"] == 1

    # The scores feed the KPIs: engineer1 80 + 50 of 200 points; engineer2 90 of 100; staff evaluation by weight.
    today = (await env.get_current_time()).astimezone(CENTER).date()
    scope = {"from": (today - timedelta(days=20)).isoformat(), "to": today.isoformat()}

    async def kpi(name: str, **filters) -> dict:
        response = await http.get(f"/api/kpis/{name}", params=scope | filters, headers=supervisor)
        assert response.status_code == 200, response.text
        return response.json()

    mine = await kpi("quality_score", person="engineer1", customer=f"CQI-{run}")
    assert (mine["numerator"], mine["denominator"], mine["counts"]) == (130, 200, {"reviews": 2, "passed": 1})
    theirs = await kpi("quality_score", person="engineer2", customer=f"CQI-{run}")
    assert (theirs["numerator"], theirs["denominator"], theirs["value"]) == (90, 100, 0.9)
    evaluation = await kpi("staff_evaluation", person="engineer1", customer=f"CQI-{run}")
    # Satisfaction and complaints have nothing to count for these tickets in the period: the score alone counts.
    assert evaluation["parts"] == {"quality_score": 0.65, "satisfaction_rate": None, "complaint_completion_48h": None}
    assert evaluation["value"] == 0.65 and evaluation["met"] is False

    # The auditor's timeline of the inspection: who scored, who acted, who checked, and the start in the journal.
    auditor = await login("auditor1")
    timeline = await http.get(f"/api/audit/workflows/quality-{inspection_id}/timeline", headers=auditor)
    assert timeline.status_code == 200, timeline.text
    entries = timeline.json()["entries"]
    acts = {(e["action"], e["actor"], e["outcome"]) for e in entries if e["kind"] == "act"}
    assert ("task.scored", "supervisor1", "accepted") in acts
    assert ("task.done", "engineer1", "accepted") in acts and ("task.effective", "supervisor1", "accepted") in acts
    assert ("task.scored", "engineer1", "refused") in acts  # refused acts are on the record too
    started = next(e for e in entries if e["action"] == "workflow.started")
    assert (started["actor"], started["details"]) == ("supervisor1", {"business_ref": inspection_id})
    assert any(e["action"] == "workflow.completed" for e in entries)
    assert timeline.json()["workflow_type"] == "QualityInspection"
