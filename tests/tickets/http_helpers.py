"""HTTP helpers shared by the ticket API tests (no fixtures here)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx

from tests.support import SHANGHAI, eventually

TT = "/tmf-api/troubleTicket/v4/troubleTicket"
CONTACT = "13812345678"
MASKED = "138****5678"


def occurred(minutes_ago: int = 90) -> str:
    """A past minute in Shanghai time, as an agent would enter it."""
    at = (datetime.now(SHANGHAI) - timedelta(minutes=minutes_ago)).replace(second=0, microsecond=0)
    return at.isoformat()


def full_intake(**changes) -> dict:
    """A complete intake (hardware after-sales, medium) for a fresh customer."""
    body = {
        "description": "专线中断，路由器告警 LOS", "severity": "major", "ticketType": "aftersales_hardware",
        "name": "专线中断", "priority": "medium", "channel": {"id": "phone", "name": "phone"},
        "customerId": f"C-{uuid.uuid4().hex[:8]}", "customerName": "华信物流有限公司", "industry": "logistics",
        "contact": CONTACT, "occurredAt": occurred(), "scenario": "机房断电后", "preferredChannel": "phone",
    }
    return {**body, **changes}


async def create(http, headers, body: dict, **extra_headers) -> httpx.Response:
    return await http.post(TT, json=body, headers={**headers, **extra_headers})


def assert_tmf_error(response: httpx.Response, status: int, *words: str) -> dict:
    """A TMF Error body with the given status whose message names the field(s)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"code", "reason", "message", "status"} and body["status"] == str(status) and body["code"] == str(status)
    for word in words:
        assert word in body["message"], body
    return body


async def registered(http, headers, ticket_no: str) -> dict:
    """The TMF ticket once its workflow has written the read model (policy pinned)."""

    async def probe():
        body = (await http.get(f"{TT}/{ticket_no}", headers=headers)).json()
        return body if body["sla"]["policy"]["name"] else None

    return await eventually(probe, what=f"{ticket_no} registered by its workflow")


async def routed(http, headers, ticket_no: str) -> dict:
    """The TMF ticket once its workflow has routed it (an SLA cycle is running)."""

    async def probe():
        body = (await http.get(f"{TT}/{ticket_no}", headers=headers)).json()
        return body if body["sla"]["cycles"] else None

    return await eventually(probe, what=f"{ticket_no} routed")


async def act(http, headers, ticket_no: str, body: dict, status: int = 200, **extra_headers) -> dict:
    """POST /api/tickets/{no}/acts expecting `status`; the response body."""
    response = await http.post(f"/api/tickets/{ticket_no}/acts", json=body, headers={**headers, **extra_headers})
    assert response.status_code == status, response.text
    return response.json()
