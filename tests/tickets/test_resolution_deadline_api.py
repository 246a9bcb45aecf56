"""One resolution deadline, shown the same everywhere: after a pause, a customer's "not resolved" and a reopen."""

from __future__ import annotations

from datetime import datetime, timedelta

from db.models import TicketRow
from tests.support import skip_to
from tests.tickets.http_helpers import TT, act, full_intake, routed
from tests.tickets.test_survey_api import survey_token


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def shown_deadlines(http, headers, sync_session, number: str) -> set[datetime]:
    """Every place the resolution deadline is shown: TMF ticket, /api/tickets view, its task, the ticket row."""
    tmf = (await http.get(f"{TT}/{number}", headers=headers)).json()
    view = (await http.get(f"/api/tickets/{number}", headers=headers)).json()
    shown = {
        _at(tmf["expectedResolutionDate"]),
        _at(tmf["sla"]["cycles"][-1]["resolutionDue"]),
        _at(view["ticket"]["expectedResolutionDate"]),
        _at(view["ticket"]["sla"]["cycles"][-1]["resolutionDue"]),
    }
    shown |= {_at(t["due_at"]) for t in view["tasks"] if t["kind"] == "resolve" and t["status"] == "open"}
    with sync_session() as s:
        shown.add(s.get(TicketRow, number).resolution_due)
    return shown


async def test_pause_not_resolved_and_reopen_move_the_one_deadline_everywhere(env, http, login, sync_session):
    agent, engineer = await login("agent1"), await login("engineer1")
    number = (await http.post(TT, json=full_intake(priority="high"), headers=agent)).json()["id"]
    promised = _at((await routed(http, agent, number))["sla"]["cycles"][0]["resolutionCap"])  # 48 plain hours
    await act(http, engineer, number, {"type": "accept", "expected_resolution_at": promised.isoformat()})
    assert await shown_deadlines(http, engineer, sync_session, number) == {promised}

    # Paused for an hour: the deadline moves by exactly the paused time (plain hours: elapsed clock).
    await act(http, engineer, number, {"type": "pause", "kind": "customer", "reason": "等待客户提供日志"})
    await skip_to(env, await env.get_current_time() + timedelta(hours=1))
    resumed = await act(http, engineer, number, {"type": "resume", "note": "日志已收到"})
    pause = (await http.get(f"{TT}/{number}", headers=engineer)).json()["sla"]["pauses"][0]
    after_pause = promised + (_at(pause["endedAt"]) - _at(pause["startedAt"]))
    assert resumed["status"] == "inProgress" and after_pause >= promised + timedelta(hours=1)
    assert await shown_deadlines(http, engineer, sync_session, number) == {after_pause}

    # Resolved, but the customer says it is not: a new resolution deadline from the budget, shown everywhere.
    await act(http, engineer, number, {"type": "log_progress", "kind": "action", "text": "更换光模块", "is_plan": True})
    resolution = {"cause": "光模块老化", "solution": "更换光模块", "advice": "定期巡检", "channel": "phone"}
    await act(http, engineer, number, {"type": "resolve", "resolution": resolution})
    not_resolved = {"resolved": False, "rating": "satisfied", "comment": "服务好，但还是断"}
    answer = await http.post(f"/api/survey/{survey_token(sync_session, number)}", json=not_resolved)
    assert answer.status_code == 200, answer.text
    [again] = await shown_deadlines(http, engineer, sync_session, number)
    assert again > after_pause

    # Resolved and verified, closed, then reopened: the new cycle's deadline (its cap) is the one shown.
    await act(http, engineer, number, {"type": "resolve", "resolution": resolution})
    await act(http, engineer, number, {"type": "verify_resolution", "note": "现场测试正常"})
    await act(http, agent, number, {"type": "close"})
    reopened = await act(http, agent, number, {"type": "reopen", "reason": "故障复现"})
    assert reopened["status"] == "inProgress"
    cycles = (await http.get(f"{TT}/{number}", headers=engineer)).json()["sla"]["cycles"]
    assert len(cycles) == 2
    assert await shown_deadlines(http, engineer, sync_session, number) == {_at(cycles[1]["resolutionCap"])}
    await act(http, agent, number, {"type": "cancel", "reason": "测试结束"})  # ends the workflow
