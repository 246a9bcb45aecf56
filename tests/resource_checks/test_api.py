"""One resource check driven from request to ledger through HTTP only, as each of its people would; TMF645 errors."""

from __future__ import annotations

import uuid

from tests.support import MASKED, assert_tmf_error, count_audit, eventually

SQ = "/tmf-api/serviceQualificationManagement/v4/checkServiceQualification"


def request_body(customer_id: str, **changes) -> dict:
    """A TMF645 create: one MPLS-VPN item (fixed network and operations answer it)."""
    body = {
        "description": "总部与两个分支互联",
        "externalId": f"PS-{uuid.uuid4().hex[:6]}",
        "contact": "13812345678",
        "relatedParty": [{"id": customer_id, "name": "华信物流有限公司", "role": "customer"}],
        "serviceQualificationItem": [
            {
                "id": "1",
                "expectedServiceAvailabilityDate": "2027-03-01",
                "service": {
                    "serviceType": "internet",
                    "place": [{"name": "上海市浦东新区张江路 88 号", "role": "site"}],
                    "serviceCharacteristic": [
                        {"name": "circuitType", "value": "mpls-vpn"},
                        {"name": "bandwidth", "value": "100M"},
                    ],
                },
            }
        ],
    }
    return {**body, **changes}


async def _post(http, path: str, headers: dict, body: dict, status: int = 200) -> dict:
    response = await http.post(path, json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


async def test_check_from_request_to_ledger_over_http(http, login, sync_session):
    requester, coordinator = await login("gcd1"), await login("coordinator1")
    fixed, ops = await login("fixed1"), await login("ops1")
    customer = f"C-{uuid.uuid4().hex[:8]}"
    created = await http.post(SQ, json=request_body(customer), headers={**requester, "Idempotency-Key": customer})
    assert created.status_code == 201, created.text
    check = created.json()
    check_id = check["id"]
    assert check["href"] == f"{SQ}/{check_id}" == created.headers["location"] and check["contact"] == MASKED
    assert (
        check["state"] == "acknowledged"
        and check["serviceQualificationItem"][0]["service"]["serviceType"] == "internet"
    )
    again = await http.post(SQ, json=request_body(customer), headers={**requester, "Idempotency-Key": customer})
    assert again.status_code == 201 and again.json()["id"] == check_id  # a retried create registers nothing new
    base = f"/api/resource-checks/{check_id}"

    async def inbox(headers, kind):
        async def probe():
            items = (
                await http.get("/api/tasks", params={"business_ref": check_id, "kind": kind}, headers=headers)
            ).json()["items"]
            return items or None

        return await eventually(probe, what=f"{kind} task in the inbox")

    [fixed_task] = await inbox(fixed, "rc_answer")
    [ops_task] = await inbox(ops, "rc_answer")
    assert (fixed_task["candidate_department"], ops_task["candidate_department"]) == ("fixed-network", "operations")
    line = {"item_id": "1", "department": "operations"}
    await _post(http, f"{base}/acts", coordinator, {"type": "ask", **line, "text": "机房有空余机架吗？"})
    await _post(http, f"{base}/acts", ops, {"type": "reply", **line, "text": "有，两个"})
    await _post(http, f"{base}/acts", coordinator, {"type": "chase", **line, "note": "请今日答复"})
    # The fixed network cannot answer operations' line; the refusal is journaled and changes nothing.
    before = count_audit(sync_session, actor="fixed1", subject_id=check_id, outcome="refused")
    refused = await _post(http, f"{base}/acts", fixed, {"type": "answer", **line, "result": "qualified"}, 403)
    assert "only staff of department operations" in refused["detail"]
    assert count_audit(sync_session, actor="fixed1", subject_id=check_id, outcome="refused") == before + 1
    await _post(
        http, f"{base}/acts", ops, {"type": "answer", **line, "result": "qualified", "resources": {"rack": "ZJ-B2-07"}}
    )
    after = await _post(
        http,
        f"{base}/acts",
        fixed,
        {
            "type": "answer",
            "item_id": "1",
            "department": "fixed-network",
            "result": "alternate",
            "proposal": "50M now over the existing PE, 100M after the new fibre",
            "new_construction": True,
            "construction": "new fibre to the Zhangjiang PoP",
            "construction_days": 25,
            "resources": {"pe_port": "ZJ-PE2 ge-0/0/7"},
        },
    )
    assert after["state"] == "inProgress"

    for head in ("fixedhead", "opshead"):  # the joint review: every involved department head approves
        headers = await login(head)
        [review] = await inbox(headers, "rc_review")
        decided = await _post(http, f"/api/tasks/{review['task_id']}/decision", headers, {"outcome": "approve"})
        assert decided["status"] == "done"

    async def reported():
        body = (await http.get(f"{SQ}/{check_id}", headers=requester)).json()
        return body if body["state"] == "done" else None

    result = await eventually(reported, what="result reported")
    item = result["serviceQualificationItem"][0]
    assert result["qualificationResult"] == item["qualificationResult"] == "alternate"
    assert item["alternateServiceProposal"][0]["alternateService"]["description"].startswith("50M now")
    assert result["rounds"][0]["reservations"][0]["status"] == "held" and result["expirationDate"]
    ops_line = next(line for line in result["rounds"][0]["lines"] if line["department"] == "operations")
    assert [c["kind"] for c in ops_line["chases"]] == ["manual"] and len(ops_line["messages"]) == 2
    await _post(http, f"{base}/acts", requester, {"type": "accept"})

    ledger = (
        await http.get("/api/resource-checks/ledger", params={"customer_id": customer}, headers=coordinator)
    ).json()
    [row] = ledger["items"]
    assert (row["check_id"], row["outcome"], row["qualification_result"], row["lines_total"]) == (
        check_id,
        "accepted",
        "alternate",
        2,
    )
    assert row["on_time"] is True and row["items"][0]["results"] == ["alternate"]
    detail = (await http.get(base, headers=await login("auditor1"))).json()
    assert detail["check"]["checkStatus"] == "accepted" and {t["kind"] for t in detail["tasks"]} >= {
        "rc_answer",
        "rc_review",
    }
    listed = await http.get(
        SQ, params={"relatedParty.id": customer, "fields": "state,qualificationResult"}, headers=requester
    )
    assert listed.headers["x-total-count"] == "1"
    assert listed.json() == [
        {
            "id": check_id,
            "href": f"{SQ}/{check_id}",
            "@type": "CheckServiceQualification",
            "state": "done",
            "qualificationResult": "alternate",
        }
    ]
    await _post(http, f"{base}/acts", requester, {"type": "cancel", "reason": "too late"}, 409)


async def test_tmf_errors_and_role_gates(http, login):
    requester = await login("gcd1")
    assert_tmf_error(await http.get(f"{SQ}/RC-NOPE", headers=requester), 404, "RC-NOPE")
    no_customer = request_body("C-x", relatedParty=[{"id": "u1", "role": "requester"}])
    assert_tmf_error(await http.post(SQ, json=no_customer, headers=requester), 400, "relatedParty")
    no_items = request_body("C-x", serviceQualificationItem=[])
    assert_tmf_error(await http.post(SQ, json=no_items, headers=requester), 400, "serviceQualificationItem")
    assert_tmf_error(await http.post(SQ, json=request_body("C-x"), headers=await login("engineer1")), 403, "role")
    assert_tmf_error(await http.get(SQ, params={"state": "bogus"}, headers=requester), 400, "state")
    page = await http.get(SQ, params={"limit": 1, "offset": 0}, headers=requester)
    assert page.status_code == 200 and len(page.json()) <= 1 and "x-total-count" in page.headers
    missing = await http.post("/api/resource-checks/RC-NOPE/acts", json={"type": "accept"}, headers=requester)
    assert missing.status_code == 404
