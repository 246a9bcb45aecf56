"""Human tasks through HTTP only: inbox, claim, decisions, refusals (403/409/422) that change nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from db.models import AuditEntry, TaskRow
from tests.support import eventually
from tests.tickets.http_helpers import TT, full_intake, routed


async def open_approval(http, login, requester: str = "agent1", **body) -> dict:
    """POST an approval request and wait for its task to reach the read model."""
    response = await http.post(
        "/api/approvals",
        json={"subject": "Move the cut-over window", "reason": "customer request", **body},
        headers=await login(requester),
    )
    assert response.status_code == 201, response.text
    workflow_id = response.json()["workflow_id"]

    async def task():
        found = await http.get(f"/api/approvals/{workflow_id}", headers=await login(requester))
        assert found.status_code == 200, found.text  # readable at once; its task follows
        return next(iter(found.json()["tasks"]), None)

    return await eventually(task, what="approval task in the read model")


def refusals(sync_session, task_id: str) -> list[AuditEntry]:
    with sync_session() as s:
        return s.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject_id == task_id, AuditEntry.outcome == "refused")
            .order_by(AuditEntry.id)
        ).all()


async def test_inbox_claim_and_decide_over_http(http, login, sync_session):
    task = await open_approval(http, login)
    tid = task["task_id"]
    inbox = (await http.get("/api/tasks", headers=await login("supervisor1"))).json()
    assert tid in [t["task_id"] for t in inbox["items"]]
    assert tid not in [
        t["task_id"] for t in (await http.get("/api/tasks", headers=await login("engineer1"))).json()["items"]
    ]

    claimed = await http.post(f"/api/tasks/{tid}/claim", headers=await login("supervisor1"))
    assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "supervisor1"
    mine = (await http.get("/api/tasks", params={"scope": "mine"}, headers=await login("supervisor1"))).json()
    assert [t["task_id"] for t in mine["items"]] == [tid]

    # Someone else may not decide a claimed task.
    other = await http.post(
        f"/api/tasks/{tid}/decision", json={"outcome": "approve"}, headers=await login("supervisor2")
    )
    assert other.status_code == 409 and "claimed by supervisor1" in other.json()["detail"]

    key = str(uuid.uuid4())
    decided = await http.post(
        f"/api/tasks/{tid}/decision",
        json={"outcome": "approve", "comment": "ok"},
        headers={**await login("supervisor1"), "Idempotency-Key": key},
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["outcome"], decided.json()["decided_by"]) == (
        "done",
        "approve",
        "supervisor1",
    )
    # The same request again changes nothing and answers the same.
    again = await http.post(
        f"/api/tasks/{tid}/decision",
        json={"outcome": "approve", "comment": "ok"},
        headers={**await login("supervisor1"), "Idempotency-Key": key},
    )
    assert again.status_code == 200 and again.json()["decided_by"] == "supervisor1"
    # A second approval of the closed task is refused and journaled.
    second = await http.post(
        f"/api/tasks/{tid}/decision", json={"outcome": "reject", "comment": "no"}, headers=await login("supervisor2")
    )
    assert second.status_code == 409
    with sync_session() as s:
        accepted = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject_id == tid, AuditEntry.outcome == "accepted")
            .order_by(AuditEntry.id)
        ).all()
        assert [a.action for a in accepted] == ["task.claim", "task.approve"]
    assert [r.actor for r in refusals(sync_session, tid)] == ["supervisor2", "supervisor2"]


@pytest.mark.parametrize(
    ("requester", "decider", "body", "status", "words"),
    [
        ("agent1", "engineer1", {"outcome": "approve"}, 403, "not a candidate"),
        ("supervisor1", "supervisor1", {"outcome": "approve"}, 403, "four-eyes"),
        ("agent1", "supervisor1", {"outcome": "maybe"}, 422, "outcome"),
        ("agent1", "supervisor1", {"outcome": "reject"}, 422, "comment"),
        ("agent1", "auditor1", {"outcome": "approve"}, 403, "role"),
    ],
)
async def test_refused_decision_changes_nothing(http, login, sync_session, requester, decider, body, status, words):
    task = await open_approval(http, login, requester)
    tid = task["task_id"]
    response = await http.post(f"/api/tasks/{tid}/decision", json=body, headers=await login(decider))
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    with sync_session() as s:
        row = s.get(TaskRow, tid)
        assert (row.status, row.outcome, row.revision) == ("open", None, task_revision(row))
    journal = refusals(sync_session, tid) if decider != "auditor1" else _endpoint_refusals(sync_session, tid)
    assert [r.actor for r in journal] == [decider]


def task_revision(row: TaskRow) -> int:
    return 1  # opened, never changed


def _endpoint_refusals(sync_session, tid: str) -> list[AuditEntry]:
    with sync_session() as s:
        return s.scalars(
            select(AuditEntry).where(
                AuditEntry.subject_id == f"/api/tasks/{tid}/decision", AuditEntry.outcome == "refused"
            )
        ).all()


async def test_malformed_body_is_422_naming_the_field(http, login):
    task = await open_approval(http, login)
    response = await http.post(
        f"/api/tasks/{task['task_id']}/decision", json={"comment": "x"}, headers=await login("supervisor1")
    )
    assert response.status_code == 422 and "outcome" in response.text


async def test_unknown_task_is_404(http, login):
    response = await http.post(
        "/api/tasks/no-such-task/decision", json={"outcome": "approve"}, headers=await login("supervisor1")
    )
    assert response.status_code == 404


async def test_ticket_tasks_say_which_act_completes_them(http, login):
    agent, engineer, supervisor = await login("agent1"), await login("engineer1"), await login("supervisor1")
    created = await http.post(TT, json=full_intake(), headers=agent)
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    cap = (await routed(http, agent, number))["sla"]["cycles"][0]["resolutionCap"]

    async def task(kind: str) -> dict:
        async def probe():
            params = {"business_ref": number, "kind": kind, "scope": "all"}
            return next(iter((await http.get("/api/tasks", params=params, headers=supervisor)).json()["items"]), None)

        return await eventually(probe, what=f"{kind} task of {number}")

    async def follow(hint: dict, headers: dict, **fill) -> None:
        assert set(hint["required"]) <= set(fill)
        response = await http.post(hint["path"], json={**hint["body"], **fill}, headers=headers)
        assert response.status_code == 200, response.text

    accept = await task("accept")
    [hint] = accept["completion"]["acts"]
    assert accept["completion"]["by"] == "act" and accept["outcomes"] == []
    assert (hint["path"], hint["body"], hint["required"]) == (
        f"/api/tickets/{number}/acts",
        {"type": "accept"},
        ["expected_resolution_at"],
    )
    await follow(hint, engineer, expected_resolution_at=cap)
    plan = await task("plan")
    [hint] = plan["completion"]["acts"]
    assert hint["body"] == {"type": "log_progress", "is_plan": True} and hint["required"] == ["kind", "text"]
    await follow(hint, engineer, kind="action", text="更换光模块")
    resolve = await task("resolve")
    assert resolve["completion"]["acts"][0]["body"] == {"type": "resolve"}
    assert (await http.get(f"/api/tasks/{plan['task_id']}", headers=supervisor)).json()["status"] == "done"
