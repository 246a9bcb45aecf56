"""Emergencies (issue 17, item 1): tickets of one fault signature open an incident, which links them, keeps
management informed at its level's interval and resolves them with it; a major fault's report chain."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import col

from core.incidents import (
    AssignMember,
    ChainStep,
    ChangeLevel,
    Incident,
    IncidentLevel,
    IncidentStatus,
    LinkTicket,
    Member,
    Team,
)
from core.roles import Actor, Role
from core.tickets import Pause, TicketStatus
from db.models import AuditEntry, CustomerMessage, IncidentRow, Notification
from tests.incidents.flow import COMMANDER, REPORT, REVIEW, IncidentFlow, signature, tickets_of_one_signature
from tests.support import audit_rows, eventually, finished, rid
from tests.tickets.flow import ENGINEER, TicketFlow
from tests.tickets.http_helpers import create, full_intake, routed

AGENT = Actor(username="agent1", roles=(Role.AGENT,))


def _incident_row(sync_session, incident_no: str) -> IncidentRow | None:
    with sync_session() as session:
        return session.get(IncidentRow, incident_no)


def _notices(sync_session, workflow_id: str) -> dict[str, Notification]:
    with sync_session() as session:
        rows = session.scalars(select(Notification).where(col(Notification.workflow_id) == workflow_id))
        return {n.key.removeprefix(f"{workflow_id}:"): n for n in rows}


async def _tasks(http, headers, incident_no: str) -> dict[str, dict]:
    body = (await http.get(f"/api/incidents/{incident_no}", headers=headers)).json()
    return {t["kind"]: t for t in body["tasks"] if t["status"] == "open"}


async def _decide(http, headers, incident_no: str, kind: str, outcome: str, comment=None, **data):
    task = await eventually(lambda: _open(http, headers, incident_no, kind), what=f"open {kind} task")
    return await http.post(
        f"/api/tasks/{task['task_id']}/decision",
        json={"outcome": outcome, "comment": comment, "data": data},
        headers=headers,
    )


async def _open(http, headers, incident_no: str, kind: str) -> dict | None:
    return (await _tasks(http, headers, incident_no)).get(kind)


async def test_five_tickets_of_one_fault_open_a_larger_incident_resolved_with_it(
    env, worker, task_queue, http, login, sync_session
):
    fields = signature()
    flows = await tickets_of_one_signature(env, task_queue, 4, fields)
    assert _incident_for(sync_session, flows) is None  # four are not enough (the policy says five in 60 minutes)
    await flows[0].act(Pause(request_id=rid(), actor=ENGINEER, reason="客户机房断电"))
    fifth = await TicketFlow.start(env, task_queue, **fields)
    await fifth.accept()
    flows.append(fifth)
    incident_no = f"INC{fifth.handle.id.removeprefix('ticket-CS')}"

    async def linked() -> Incident | None:
        row = _incident_row(sync_session, incident_no)
        found = Incident.model_validate(row.detail) if row is not None else None
        return found if found is not None and found.stages else None  # declared, its report stage open

    incident = await eventually(linked, what="incident declared by the fifth ticket")
    assert incident.level == IncidentLevel.LARGER and incident.automatic and incident.declared_by == "system"
    assert [t.ticket_no for t in incident.tickets] == [f.handle.id.removeprefix("ticket-") for f in flows]
    with sync_session() as session:
        holding = session.scalars(select(CustomerMessage).where(col(CustomerMessage.kind) == "incident_holding"))
        held = {m.ticket_no for m in holding if m.key.startswith(incident.workflow_id)}
    assert held == {t.ticket_no for t in incident.tickets}
    await eventually(lambda: _logged_link(fifth, incident_no), what="the ticket's log names its incident")

    supervisor, agent = await login("supervisor1"), await login("agent1")
    # An agent on no team may not name members: 403, journaled, nothing changes.
    commander_member = {"username": "supervisor2", "team": "command", "role": "commander"}
    refused = await http.post(
        f"/api/incidents/{incident_no}/acts", json={"type": "assign_member", "member": commander_member}, headers=agent
    )
    assert refused.status_code == 403, refused.text
    assert _incident_row(sync_session, incident_no).revision == incident.revision
    assert audit_rows(sync_session, subject_id=incident_no, outcome="refused", actor="agent1")
    for member in (
        commander_member,
        {"username": "engineer2", "team": "technical", "role": "lead"},
        {"username": "agent1", "team": "service", "role": "member"},
    ):
        response = await http.post(
            f"/api/incidents/{incident_no}/acts", json={"type": "assign_member", "member": member}, headers=supervisor
        )
        assert response.status_code == 200, response.text
    assert [
        a.actor
        for a in audit_rows(sync_session, subject_id=incident_no, action="incident.assign_member", outcome="accepted")
    ] == ["supervisor1"] * 3

    # A sixth ticket of the signature joins the active incident by itself (left unaccepted: it cannot resolve).
    sixth = await TicketFlow.start(env, task_queue, **fields)
    sixth_no = sixth.handle.id.removeprefix("ticket-")
    await eventually(lambda: _has_ticket(sync_session, incident_no, sixth_no), what="sixth ticket linked")
    assert audit_rows(sync_session, subject_id=incident_no, action="incident.link_ticket", actor="system")

    # Management and the command group hear at the larger level's interval (60 min), not before.
    flow = IncidentFlow.of(env, incident_no)
    declared = (await flow.incident()).created_at
    await env.sleep(timedelta(minutes=59))
    assert "update1:r:supervisor" not in _notices(sync_session, incident.workflow_id)
    await env.sleep(timedelta(minutes=62))
    notices = await eventually(lambda: _with(sync_session, incident.workflow_id, "update2:u:supervisor2"), what="2")
    assert {"update1:r:supervisor", "update1:u:supervisor2", "update2:r:supervisor"} <= set(notices)
    updates = (await flow.incident()).updates
    assert [round((u.at - declared).total_seconds() / 60) for u in updates[:2]] == [60, 120]

    # The stages, through the API; a report without the symptom is refused and changes nothing.
    commander, lead = await login("supervisor2"), await login("engineer2")
    bad = await _decide(http, commander, incident_no, "incident_report", "reported", when="09:10", where="亦庄")
    assert bad.status_code == 422 and "symptom" in bad.text
    assert (await _decide(http, commander, incident_no, "incident_report", "reported", **REPORT)).status_code == 200
    steps = [
        (commander, "incident_start_plan", "started", "启动光缆中断应急预案"),
        (lead, "incident_analyse", "located", "亦庄段光缆被挖断"),
        (lead, "incident_solution", "agreed", "抢修熔接并启用备用路由"),
        (commander, "incident_carry_out", "restored", "已熔接，业务恢复"),
    ]
    for headers, kind, outcome, comment in steps:
        response = await _decide(http, headers, incident_no, kind, outcome, comment)
        assert response.status_code == 200, (kind, response.text)

    # Restored: the linked tickets are resolved through their own acts, as the commander (the paused one resumed).
    restored = await eventually(lambda: _in_status(flow, IncidentStatus.REVIEW), what="service restored")
    results = {t.ticket_no: t for t in restored.tickets}
    assert all(results[f.handle.id.removeprefix("ticket-")].resolved for f in flows)
    assert results[sixth_no].resolved is False and "pending_assignment" in (results[sixth_no].result or "")
    for ticket in flows:
        state = await ticket.ticket()
        assert state.status == TicketStatus.PENDING_FEEDBACK and state.resolution is not None
        assert state.resolution.cause == "亦庄段光缆被挖断"
    resolved = audit_rows(sync_session, action="ticket.resolve", actor="supervisor2", outcome="accepted")
    assert {r.subject_id for r in resolved} >= {f.handle.id.removeprefix("ticket-") for f in flows}
    assert audit_rows(sync_session, subject_id=sixth_no, action="ticket.resolve", outcome="refused")
    late = await http.post(
        f"/api/incidents/{incident_no}/acts", json={"type": "link_ticket", "ticket_no": sixth_no}, headers=supervisor
    )
    assert late.status_code == 409, late.text
    await env.sleep(timedelta(hours=3))
    assert len((await flow.incident()).updates) == len(updates)  # no more updates once service is restored

    # The review must record cause, measures and lessons.
    partial = {k: v for k, v in REVIEW.items() if k != "lessons"}
    missing = await _decide(http, commander, incident_no, "incident_review", "reviewed", **partial)
    assert missing.status_code == 422 and "lessons" in missing.text
    done = await _decide(http, commander, incident_no, "incident_review", "reviewed", **REVIEW)
    assert done.status_code == 200, done.text
    outcome = await finished(env, flow.handle)
    assert outcome.status == IncidentStatus.CLOSED
    closed = Incident.model_validate(_incident_row(sync_session, incident_no).detail)
    assert closed.review is not None and closed.review.lessons == REVIEW["lessons"]
    assert [s.done_by for s in closed.stages] == ["supervisor2", "supervisor2", "engineer2", "engineer2"] + [
        "supervisor2"
    ] * 2

    # TMF621: one parent trouble ticket with its children, and each child points at its parent.
    parent = (await http.get(f"/tmf-api/troubleTicket/v4/troubleTicket/{incident_no}", headers=supervisor)).json()
    assert parent["ticketType"] == "incident" and parent["status"] == "closed" and parent["severity"] == "larger"
    assert {e["id"] for e in parent["relatedEntity"] if e["role"] == "childTicket"} == set(results)
    child_no = flows[0].handle.id.removeprefix("ticket-")
    child = (await http.get(f"/tmf-api/troubleTicket/v4/troubleTicket/{child_no}", headers=supervisor)).json()
    assert child["relatedEntity"] == [
        {
            "@type": "RelatedEntity",
            "id": incident_no,
            "href": f"/tmf-api/troubleTicket/v4/troubleTicket/{incident_no}",
            "role": "parentIncident",
            "@referredType": "TroubleTicket",
        }
    ]
    assert child["circuitId"] == fields["circuit_id"]


async def test_a_major_fault_is_reported_along_the_chain_with_times(env, worker, task_queue, http, login, sync_session):
    supervisor, agent, gcd = await login("supervisor1"), await login("agent1"), await login("gcd1")
    body = {
        "incident_class": "system_failure",
        "level": "major",
        "title": "城域网核心节点宕机",
        "members": [{"username": "supervisor2", "team": "command", "role": "commander"}],
    }
    assert (await http.post("/api/incidents", json=body, headers=agent)).status_code == 403
    unknown = await http.post("/api/incidents", json={**body, "tickets": ["CS00000000"]}, headers=supervisor)
    assert unknown.status_code == 422 and "CS00000000" in unknown.text
    declared = await http.post("/api/incidents", json=body, headers=supervisor)
    assert declared.status_code == 201, declared.text
    incident_no = declared.json()["incident"]["incident_no"]
    flow = IncidentFlow.of(env, incident_no)
    commander = await login("supervisor2")
    start = await env.get_current_time()

    chain_task = await eventually(lambda: _open(http, commander, incident_no, "incident_chain_departments"), what="1")
    hint = chain_task["completion"]["acts"][0]
    assert (hint["data_required"], hint["data_optional"]) == (
        ["when", "where", "symptom", "plan", "departments"],
        ["people"],
    )
    first = dict(REPORT, plan="切换备用核心节点", departments=["operations", "fixed-network"], people=["opshead"])
    response = await _decide(http, commander, incident_no, "incident_chain_departments", "passed", **first)
    assert response.status_code == 200, response.text
    await env.sleep(timedelta(minutes=5))
    response = await _decide(
        http, commander, incident_no, "incident_chain_account_owner", "passed", account_owner="gcd1", manager="opshead"
    )
    assert response.status_code == 200, response.text
    await env.sleep(timedelta(minutes=4))
    # The account owner passes it to senior management; an agent may not.
    refused = await _decide(http, agent, incident_no, "incident_chain_senior_management", "passed", senior=["admin"])
    assert refused.status_code == 403, refused.text
    empty = await _decide(http, gcd, incident_no, "incident_chain_senior_management", "passed", senior=[])
    assert empty.status_code == 422, empty.text
    response = await _decide(http, gcd, incident_no, "incident_chain_senior_management", "passed", senior=["admin"])
    assert response.status_code == 200, response.text

    chain = (await flow.incident()).chain
    assert [(h.step, h.by, h.to) for h in chain] == [
        (ChainStep.DEPARTMENTS, "supervisor2", ("operations", "fixed-network", "opshead")),
        (ChainStep.ACCOUNT_OWNER, "supervisor2", ("gcd1", "opshead")),
        (ChainStep.SENIOR_MANAGEMENT, "gcd1", ("admin",)),
    ]
    assert [round((h.at - start).total_seconds() / 60) for h in chain] == [0, 5, 9]
    assert chain[0].details["symptom"] == REPORT["symptom"] and chain[0].details["plan"] == "切换备用核心节点"
    notices = _notices(sync_session, f"incident-{incident_no}")
    for key in ("chain:departments:d:operations", "chain:departments:u:opshead", "chain:account_owner:u:gcd1"):
        assert key in notices and "专线全部中断" in notices[key].message
    assert "chain:senior_management:u:admin" in notices

    # The major fault owes its fault report (seed 000), due by the report policy from the declaration.
    async def fault_report():
        response = await http.get(f"/api/reports/report-fault-{incident_no}", headers=supervisor)
        return response.json() if response.status_code == 200 else None

    report = await eventually(fault_report, what="the fault report owed")
    assert report["kind"] == "fault" and report["status"] == "open" and report["fault_ref"] == incident_no
    # The chain's people are followed up with the regular updates (every 30 min for a major fault).
    await env.sleep(timedelta(minutes=22))
    notices = await eventually(lambda: _with(sync_session, f"incident-{incident_no}", "update1:u:admin"), what="1")
    assert {"update1:u:gcd1", "update1:u:opshead", "update1:u:supervisor2", "update1:r:supervisor"} <= set(notices)
    assert [
        a.actor
        for a in audit_rows(sync_session, action="task.passed", outcome="accepted")
        if incident_no in (a.subject_id or "")
    ] == ["supervisor2", "supervisor2", "gcd1"]

    # Stood down by a supervisor: the open stage is cancelled and the workflow ends.
    stood = await http.post(
        f"/api/incidents/{incident_no}/acts", json={"type": "stand_down", "reason": "演练"}, headers=supervisor
    )
    assert stood.status_code == 200, stood.text
    assert (await finished(env, flow.handle)).status == IncidentStatus.STOOD_DOWN
    # The report outlives the incident (a child abandoned to its writer): ended here, as every test's workflows are.
    await env.client.get_workflow_handle(f"report-fault-{incident_no}").terminate("test over")


async def test_incident_acts_are_role_checked_and_refusals_change_nothing(env, worker, task_queue):
    flow = await IncidentFlow.declare(env, task_queue, members=())
    before = await flow.incident()
    outsider = Actor(username="mobile1", roles=(Role.DEPARTMENT,), department="mobile-network")
    for act in (
        LinkTicket(request_id=rid(), actor=outsider, ticket_no="CS299912310001"),
        LinkTicket(request_id=rid(), actor=AGENT, ticket_no="CS299912310001"),
    ):
        try:
            await flow.act(act)
        except Exception as err:  # the validator refuses: nothing enters history
            assert "supervisors and the incident's teams only" in str(err.__cause__ or err)
        else:
            raise AssertionError("an outsider linked a ticket")
    assert (await flow.incident()).revision == before.revision
    member = Member(username="agent1", team=Team.SERVICE)
    await flow.act(AssignMember(request_id=rid(), actor=COMMANDER, member=member))
    assert (await flow.incident()).members == [member]


def _incident_for(sync_session, flows: list[TicketFlow]) -> str | None:
    with sync_session() as session:
        return session.scalar(
            select(col(AuditEntry.subject_id)).where(
                col(AuditEntry.action) == "incident.declare",
                col(AuditEntry.request_id).in_(
                    [f"incident-detect:{f.handle.id.removeprefix('ticket-')}" for f in flows]
                ),
            )
        )


async def _logged_link(flow: TicketFlow, incident_no: str) -> bool:
    return any(incident_no in entry.text for entry in (await flow.ticket()).log)


async def _has_ticket(sync_session, incident_no: str, ticket_no: str) -> bool:
    row = _incident_row(sync_session, incident_no)
    return row is not None and Incident.model_validate(row.detail).linked(ticket_no)


async def _with(sync_session, workflow_id: str, key: str) -> dict[str, Notification] | None:
    notices = _notices(sync_session, workflow_id)
    return notices if key in notices else None


async def _in_status(flow: IncidentFlow, status: IncidentStatus) -> Incident | None:
    incident = await flow.incident()
    return incident if incident.status == status else None


async def test_a_trouble_ticket_carries_its_fault_signature(http, login):
    """TMF621 takes the fault signature as extensions, and keeps a bad one out (TMF 400)."""
    agent = await login("agent1")
    fields = signature()
    body = {**full_intake(), "faultSite": fields["fault_site"], "circuitId": fields["circuit_id"], "service": "dia"}
    created = await create(http, agent, body)
    assert created.status_code == 201, created.text
    ticket = await routed(http, agent, created.json()["id"])
    assert (ticket["faultSite"], ticket["circuitId"], ticket["service"]) == (
        fields["fault_site"],
        fields["circuit_id"],
        "dia",
    )
    assert ticket["relatedEntity"] == []
    too_long = await create(http, agent, {**full_intake(), "circuitId": "X" * 65})
    assert too_long.status_code == 400 and "circuitId" in too_long.text  # TMF answers bad input 400


async def test_raising_the_level_to_major_starts_the_report_chain(env, worker, task_queue, sync_session):
    flow = await IncidentFlow.declare(env, task_queue)
    service_member = Actor(username="agent1", roles=(Role.AGENT,))
    raise_it = ChangeLevel(request_id=rid(), actor=service_member, level=IncidentLevel.MAJOR, reason="影响扩大")
    try:
        await flow.act(raise_it)
    except Exception as err:
        assert "supervisors and the command group only" in str(err.__cause__ or err)
    else:
        raise AssertionError("the service team changed the level")
    request_id = rid()
    await flow.act(ChangeLevel(request_id=request_id, actor=COMMANDER, level=IncidentLevel.MAJOR, reason="影响扩大"))
    await flow.task("incident_chain_departments")
    assert (await flow.incident()).level == IncidentLevel.MAJOR
    (row,) = audit_rows(sync_session, request_id=request_id)
    assert (row.action, row.actor, row.reason) == ("incident.change_level", "supervisor2", "影响扩大")
    workflow_id = flow.handle.id
    assert f"level:{request_id}:r:supervisor" in _notices(sync_session, workflow_id)
    # Raised to major, it owes the fault report too (ended here: it outlives the incident).
    incident = await flow.incident()
    assert incident.fault_report_id == f"report-fault-{incident.incident_no}"
    await env.client.get_workflow_handle(incident.fault_report_id).terminate("test over")
