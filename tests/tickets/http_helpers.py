"""HTTP helpers shared by the ticket API tests (no fixtures here)."""

from __future__ import annotations

import httpx

from api.tickets.tmf621_examples import EXAMPLE_CONTACT as CONTACT  # noqa: F401 - re-exported to the ticket tests
from api.tickets.tmf621_examples import complete_intake as full_intake  # noqa: F401 - the tests' name for it
from tests.support import eventually

TT = "/tmf-api/troubleTicket/v4/troubleTicket"


async def create(http, headers, body: dict, **extra_headers) -> httpx.Response:
    """POST a TMF621 trouble ticket."""
    return await http.post(TT, json=body, headers={**headers, **extra_headers})


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
