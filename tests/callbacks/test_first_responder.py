"""首问负责制 (DOMAIN.md §7): whoever first received the request owns the ticket, visibly (API and TMF), until a
recorded hand-over (who, to whom, why, when); refused hand-overs change nothing and are journaled."""

from __future__ import annotations

from tests.support import audit_rows
from tests.tickets.http_helpers import TT, act, full_intake, registered


async def test_the_first_responder_owns_the_ticket_until_a_recorded_hand_over(http, login, sync_session):
    agent, other_agent = await login("agent1"), await login("engineer1")
    created = await http.post(TT, json=full_intake(), headers=agent)
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    await registered(http, agent, number)

    detail = (await http.get(f"/api/tickets/{number}", headers=agent)).json()
    assert detail["ownership"] == {"first_responder": "agent1", "owner": "agent1", "handovers": []}
    roles = {p["role"]: p["id"] for p in detail["ticket"]["relatedParty"]}
    assert roles["firstResponder"] == "agent1" and "owner" not in roles

    # Refused: someone else hands it over; to an unknown user; to its owner; all change nothing.
    await act(http, other_agent, number, {"type": "hand_over", "to_user": "agent1", "reason": "x"}, status=403)
    await act(http, agent, number, {"type": "hand_over", "to_user": "nobody-here", "reason": "x"}, status=422)
    await act(http, agent, number, {"type": "hand_over", "to_user": "agent1", "reason": "x"}, status=422)
    await act(http, agent, number, {"type": "hand_over", "to_user": "supervisor1"}, status=422)  # no reason
    assert (await http.get(f"/api/tickets/{number}", headers=agent)).json()["ownership"]["owner"] == "agent1"

    body = {"type": "hand_over", "to_user": "supervisor2", "reason": "客户要求由大客户经理跟进，转交主管"}
    await act(http, agent, number, body)
    detail = (await http.get(f"/api/tickets/{number}", headers=agent)).json()
    ownership = detail["ownership"]
    assert (ownership["first_responder"], ownership["owner"]) == ("agent1", "supervisor2")
    [record] = ownership["handovers"]
    assert (record["from_user"], record["to_user"], record["by"]) == ("agent1", "supervisor2", "agent1")
    assert record["reason"] == body["reason"] and record["at"]
    tmf = (await http.get(f"{TT}/{number}", headers=agent)).json()
    roles = {p["role"]: p["id"] for p in tmf["relatedParty"]}
    assert (roles["firstResponder"], roles["owner"]) == ("agent1", "supervisor2")

    # Now the first responder no longer hands it over; the new owner may.
    await act(http, agent, number, {"type": "hand_over", "to_user": "agent1", "reason": "back"}, status=403)
    await act(http, await login("supervisor2"), number, {"type": "hand_over", "to_user": "agent1", "reason": "back"})
    rows = audit_rows(sync_session, subject_id=number, action="ticket.hand_over")
    assert [r.outcome for r in rows].count("accepted") == 2
    assert [r.outcome for r in rows].count("refused") >= 2
