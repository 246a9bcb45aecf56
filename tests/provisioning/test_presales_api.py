"""Pre-sales over HTTP only, as its people would: raised by the group-customer department, refined by a coordinator,
through the resource check to a provisioning order; every task completed by following its inbox hint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.provisioning.flow import NANJING, SUZHOU
from tests.provisioning.test_api import upload
from tests.support import eventually

DEMANDS = "/api/presales-demands"
SO = "/tmf-api/serviceOrdering/v4/serviceOrder"
DEPARTMENT_STAFF = {
    "operations": "ops1",
    "fixed-network": "fixed1",
    "mobile-network": "mobile1",
    "construction": "build1",
    "procurement": "procure1",
    "hq-operations": "hqops1",
}


def demand_body(now: datetime) -> dict:
    """An access demand as the group-customer department raises it."""
    return {
        "customer_id": "C-5101",
        "customer_name": "华信物流有限公司",
        "contact": "13812345678",
        "description": "南京—苏州两地互联",
        "items": [
            {
                "item_id": "1",
                "sites": ["南京市鼓楼区中山路 1 号"],
                "service_type": "internet",
                "circuit_type": "mpls_vpn",
                "bandwidth": "100M",
                "wanted_date": "2027-03-01",
            }
        ],
        "circuit_type": "mpls_vpn",
        "a_end": NANJING.model_dump(),
        "z_end": SUZHOU.model_dump(),
        "bandwidth": "100M",
        "requested_completion": (now + timedelta(days=40)).isoformat(),
    }


class Inbox:
    """Tasks as the inbox shows them, completed the way their `completion` hint says."""

    def __init__(self, http, login) -> None:
        self.http, self.login = http, login

    async def task(self, business_ref: str, kind: str, *, user: str = "supervisor1") -> dict:
        headers = await self.login(user)

        async def probe():
            params = {"business_ref": business_ref, "kind": kind, "scope": "all"}
            items = (await self.http.get("/api/tasks", params=params, headers=headers)).json()["items"]
            return items[0] if items else None

        return await eventually(probe, what=f"open {kind} task of {business_ref}")

    async def complete(self, task: dict, user: str, fill: dict, *, act: int = 0, status: int = 200):
        """Send the hinted request: the hint's body as it is, plus the fields filled in."""
        hint = task["completion"]["acts"][act]
        assert hint["method"] == "POST" and set(hint["required"]) <= set(fill), (hint, fill)
        response = await self.http.post(hint["path"], json={**hint["body"], **fill}, headers=await self.login(user))
        assert response.status_code == status, response.text
        return response.json()


async def _demand(http, headers, demand_id: str, status: str) -> dict | None:
    view = (await http.get(f"{DEMANDS}/{demand_id}", headers=headers)).json()
    return view["demand"] if view["demand"]["status"] == status else None


async def test_presales_from_the_group_customer_department_to_a_provisioning_order_and_its_closure(
    http, login, env, dispatch_simulator
):
    gcd, coordinator = await login("gcd1"), await login("coordinator1")
    inbox = Inbox(http, login)
    now = max(datetime.now(UTC), await env.get_current_time())

    raised = await http.post(DEMANDS, json=demand_body(now), headers=gcd)
    assert raised.status_code == 201, raised.text
    demand = raised.json()["demand"]
    demand_id = demand["demand_id"]
    assert demand["status"] == "refining" and demand["request"]["contact"] == "138****5678"
    assert (await http.post(DEMANDS, json=demand_body(now), headers=await login("ops1"))).status_code == 403

    # The coordinator refines it: the hint says it is a decision, with its outcomes and the data it may change.
    refine = await inbox.task(demand_id, "refine")
    assert refine["candidate_roles"] == ["coordinator"]
    assert refine["completion"]["by"] == "decision" and refine["completion"]["outcomes"] == ["refined", "rejected"]
    assert "bandwidth" in refine["completion"]["acts"][0]["data_optional"]
    bad = await inbox.complete(refine, "coordinator1", {"outcome": "refined", "data": {"bandwidth": ""}}, status=422)
    assert "data.bandwidth" in bad["detail"]
    await inbox.complete(refine, "gcd1", {"outcome": "refined"}, status=403)  # the department does not refine
    await inbox.complete(refine, "coordinator1", {"outcome": "refined", "data": {"bandwidth": "200M"}})
    demand = await eventually(lambda: _demand(http, gcd, demand_id, "product_fit"), what="refined")
    assert demand["raised"]["bandwidth"] == "100M" and demand["request"]["bandwidth"] == "200M"
    assert demand["raised"]["contact"] == "138****5678"

    fit = await inbox.task(demand_id, "product_fit")
    await inbox.complete(fit, "presales1", {"outcome": "fit"})
    demand = await eventually(lambda: _demand(http, gcd, demand_id, "resource_check"), what="check started")
    check_id = demand["check_id"]

    # Every department the check asks completes its task by the act the hint names (item and department given).
    # The departments' tasks reach the read model one by one, so answer each as it appears until the requester's
    # task opens (answering only the first batch seen left a later department unasked and the check waiting).
    answered: set[str] = set()

    async def answer_each_then_requester():
        params = {"business_ref": check_id, "kind": "rc_answer", "scope": "all"}
        items = (await http.get("/api/tasks", params=params, headers=await login("supervisor1"))).json()["items"]
        for task in (t for t in items if t["task_id"] not in answered):
            hint = task["completion"]
            assert hint["by"] == "act" and task["outcomes"] == []
            assert hint["acts"][0]["path"] == f"/api/resource-checks/{check_id}/acts"
            body = {"type": "answer", "item_id": "1", "department": task["candidate_department"]}
            assert hint["acts"][0]["body"] == body
            refused = await http.post(
                f"/api/tasks/{task['task_id']}/decision", json={"outcome": "done"}, headers=await login("ops1")
            )
            assert refused.status_code in (403, 409)
            await inbox.complete(task, DEPARTMENT_STAFF[task["candidate_department"]], {"result": "qualified"})
            answered.add(task["task_id"])
        params = {"business_ref": check_id, "kind": "rc_requester", "scope": "all"}
        waiting = (await http.get("/api/tasks", params=params, headers=await login("supervisor1"))).json()["items"]
        return waiting[0] if waiting else None

    accept = await eventually(answer_each_then_requester, timeout=30, what=f"open rc_requester task of {check_id}")
    assert answered
    assert [a["body"]["type"] for a in accept["completion"]["acts"]] == ["accept", "recheck"]
    assert accept["completion"]["acts"][1]["required"] == ["reason"]
    await inbox.complete(accept, "gcd1", {})

    solution = await inbox.task(demand_id, "solution")
    await inbox.complete(
        solution, "coordinator1", {"outcome": "proposed", "comment": "MPLS-VPN 200M 南京 PE1—苏州 PE3"}
    )
    contract = await inbox.task(demand_id, "contract")
    await inbox.complete(contract, "gcd1", {"outcome": "signed", "comment": "合同 HT-2026-101"})
    demand = await eventually(lambda: _demand(http, gcd, demand_id, "ordered"), what="order started")
    order_id = demand["order_id"]
    assert [s["stage"] for s in demand["stages"]] == [
        "refine",
        "product_fit",
        "resource_check",
        "solution",
        "contract",
        "order",
    ]

    async def order():
        response = await http.get(f"{SO}/{order_id}", headers=coordinator)
        return response.json() if response.status_code == 200 else None

    tmf = await eventually(order, what="the provisioning order in the read model")
    characteristics = {c["name"]: c["value"] for c in tmf["serviceOrderItem"][0]["service"]["serviceCharacteristic"]}
    assert characteristics["bandwidth"] == "200M" and characteristics["resourceCheckId"] == check_id
    assert tmf["externalId"] == demand_id

    # Steps follow their hints; the step after dispatch is completed at once, without waiting for it to open.
    dispatch = await inbox.task(order_id, "dispatch")
    assert dispatch["completion"]["acts"][0]["path"] == f"/api/provisioning-orders/{order_id}/steps/dispatch/complete"
    await inbox.complete(dispatch, "coordinator1", {"note": "dispatched"})
    path = f"/api/provisioning-orders/{order_id}/steps/data_configuration/complete"
    response = await http.post(path, json={"note": "configured"}, headers=await login("ops1"))
    assert response.status_code == 200, response.text
    assert response.json()["currentStep"] == "activation"

    # The rest of the steps, each by its hint; the reviewer approves and the circuit enters the ledger.
    async def run_steps(order_id: str, doers: dict[str, str]) -> None:
        while True:
            current = (await http.get(f"{SO}/{order_id}", headers=coordinator)).json()["currentStep"]
            if current == "review":
                break
            task = await inbox.task(order_id, current)
            fill = {"note": f"{current} done"}
            if current in ("completion_order", "completion"):
                kinds = ("completion_order", "test_report") if current == "completion_order" else ("completion_order",)
                fill["documents"] = [upload(kind) for kind in kinds]
            await inbox.complete(task, doers.get(task["candidate_department"] or "", "coordinator1"), fill)
        review = await inbox.task(order_id, "review")
        assert review["completion"]["acts"][0]["path"] == f"/api/provisioning-orders/{order_id}/review"
        await inbox.complete(review, "reviewer1", {"outcome": "approve"})

    staff = DEPARTMENT_STAFF | {"group-customer": "gcd1"}
    await run_steps(order_id, staff)
    completed = await eventually(lambda: _state(http, coordinator, order_id, "completed"), what="order completed")
    circuit_id = completed["circuitId"]

    # Later the customer gives the line up: the closure is a TMF641 delete item naming the circuit.
    closure_body = {
        "externalId": demand_id,
        "requestedCompletionDate": (now + timedelta(days=60)).isoformat(),
        "serviceOrderItem": [{"id": "1", "action": "delete", "service": {"id": circuit_id}}],
    }
    created = await http.post(SO, json=closure_body, headers=coordinator)
    assert created.status_code == 201, created.text
    closure_id = created.json()["id"]
    assert created.json()["serviceOrderItem"][0]["action"] == "delete"
    await eventually(lambda: _state(http, coordinator, closure_id, "acknowledged", planned=True), what="planned")
    await run_steps(closure_id, staff)
    await eventually(lambda: _state(http, coordinator, closure_id, "completed"), what="closure completed")
    ledger = (await http.get(f"/api/circuit-ledger/{circuit_id}", headers=coordinator)).json()
    assert ledger["order_id"] == order_id and ledger["status"] == "closed"


async def _state(http, headers, order_id: str, state: str, *, planned: bool = False) -> dict | None:
    body = (await http.get(f"{SO}/{order_id}", headers=headers)).json()
    return body if body["state"] == state and (not planned or body["currentStep"]) else None
