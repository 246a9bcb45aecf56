"""Arbitration (issue 17 item 4): a cross-department disagreement on a stalled provisioning step goes to the arbiter
the rules name; the decision reassigns the stalled step; refusals change nothing and are journaled."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from core.provisioning import DISPATCH
from tests.provisioning.flow import DEPARTMENT_STAFF, OrderFlow
from tests.provisioning.flow import spec as order_spec
from tests.support import audit_rows, eventually, task_row

OTHER = {"operations": "construction"}


async def _ready(value):
    return value


async def test_an_arbitration_decision_reassigns_the_stalled_step(env, worker, task_queue, http, login, sync_session):
    flow = await OrderFlow.start(env, task_queue, order_spec(await env.get_current_time(), days=30))
    await flow.complete(DISPATCH)
    order = await flow.order()
    step = order.step(order.current)
    task = await flow.task(step.step)
    owner = step.department
    assert owner is not None
    other = OTHER.get(owner, "operations")
    parties = [
        {"department": owner, "position": "需要先新建光缆，不属于本部门的数据配置范围"},
        {"department": other, "position": "现有资源足够，应由对方直接配置"},
    ]
    body = {"task_id": task.task_id, "parties": parties, "stalled": f"{step.title}: 两个部门都不接手"}
    coordinator, supervisor = await login("coordinator1"), await login("supervisor1")

    # Refusals: one department only; an outsider (another department's staff); an unknown task.
    same_department = [parties[0], {**parties[0], "position": "x"}]
    one_side = await http.post("/api/arbitrations", json={**body, "parties": same_department}, headers=coordinator)
    assert one_side.status_code == 422, one_side.text
    outsider = await http.post("/api/arbitrations", json=body, headers=await login("mobile1"))
    assert outsider.status_code == 403, outsider.text
    unknown = await http.post("/api/arbitrations", json={**body, "task_id": "nope"}, headers=coordinator)
    assert unknown.status_code == 404
    refusals = audit_rows(sync_session, action="arbitration.request", workflow_id=flow.handle.id)
    assert [a.outcome for a in refusals] == ["refused", "refused"]

    asked = await http.post("/api/arbitrations", json=body, headers=coordinator)
    assert asked.status_code == 201, asked.text
    arbitration_task = asked.json()["task_id"]
    again = await http.post("/api/arbitrations", json=body, headers=coordinator)
    assert again.status_code == 409 and "already waiting" in again.text
    row = await eventually(lambda: _ready(task_row(sync_session, arbitration_task)), what="arbitration task")
    assert row.kind == "arbitration" and row.candidate_roles == ["supervisor"]

    # The arbiter decides: the department must be a party, the reasons are required, and only the arbiter decides.
    decide = f"/api/tasks/{arbitration_task}/decision"
    wrong = {"outcome": "decide", "comment": "x", "data": {"department": "mobile"}}
    response = await http.post(decide, json=wrong, headers=supervisor)
    assert response.status_code == 422 and "department" in response.text
    response = await http.post(decide, json={"outcome": "decide", "data": {"department": other}}, headers=supervisor)
    assert response.status_code == 422
    staff = await login(DEPARTMENT_STAFF[owner].username)
    mine = {"outcome": "decide", "comment": "我们不做", "data": {"department": other}}
    assert (await http.post(decide, json=mine, headers=staff)).status_code == 403
    assert (await flow.order()).step(step.step).department == owner  # nothing changed

    decision = {"outcome": "decide", "comment": "资源核查已确认需新建，由对方部门牵头", "data": {"department": other}}
    decided = await http.post(decide, json=decision, headers=supervisor)
    assert decided.status_code == 200, decided.text

    # Bound: the step and its task belong to the decided department now; the old owner may no longer complete it.
    async def moved():
        current = (await flow.order()).step(step.step)
        return current if current.department == other else None

    await eventually(moved, what="step reassigned")
    [still_open] = await flow.tasks(step.step)
    assert still_open.task_id == task.task_id and still_open.candidates.department == other
    listed = await http.get("/api/arbitrations", params={"workflow_id": flow.handle.id}, headers=coordinator)
    assert listed.status_code == 200, listed.text
    [record] = listed.json()
    assert record["decided_department"] == other and record["bound"] and record["decided_by"] == "supervisor1"
    actions = {a.action for a in audit_rows(sync_session, workflow_id=flow.handle.id)}
    assert {"arbitration.request", "task.decide", "task.reassign"} <= actions
    with pytest.raises(WorkflowUpdateFailedError):
        await flow.complete(step.step, DEPARTMENT_STAFF[owner])
    await flow.complete(step.step, DEPARTMENT_STAFF[other])

    async def done():
        return (await flow.order()).step(step.step).done_by

    assert await eventually(done, what="step done by the decided department") == DEPARTMENT_STAFF[other].username
