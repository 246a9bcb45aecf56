"""KPIs over HTTP, checked exactly against a walk of four tickets of one customer on the time-skipping clock.

A (urgent): accepted, planned, resolved at once, rated satisfied, closed, reopened.
D (urgent): accepted, planned, resolved at once, rated neutral.
B (urgent): left unclaimed past its response deadline (accept breach charged to the department), then accepted,
   planned, resolved, rated dissatisfied.
C (urgent): accepted at once, no plan until past its plan deadline (plan breach charged to engineer1).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.kpis import BY_NAME, KpiTarget, KpiTargets
from core.roles import Role
from db.models import AuditEntry, KpiTargetsVersion, SlaBreach, TicketRow
from tests.support import eventually, skip_to
from tests.tickets.http_helpers import TT, act, full_intake, routed
from tests.tickets.test_survey_api import survey_token

CENTER = ZoneInfo("Asia/Shanghai")
RESOLUTION = {"cause": "光模块老化", "solution": "更换光模块", "advice": "定期巡检", "channel": "phone"}


async def _register(http, agent, customer: str) -> tuple[str, dict]:
    body = full_intake(priority="urgent", customerId=customer)
    created = await http.post(TT, json=body, headers=agent)
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    return number, (await routed(http, agent, number))["sla"]["cycles"][0]


async def _accept_and_plan(http, handler, number: str, cycle: dict, *, plan: bool = True) -> None:
    await act(http, handler, number, {"type": "accept", "expected_resolution_at": cycle["resolutionCap"]})
    if plan:
        entry = {"type": "log_progress", "kind": "action", "text": "更换光模块", "is_plan": True}
        await act(http, handler, number, entry)


async def _resolve_and_rate(http, handler, sync_session, number: str, rating: str) -> None:
    contact = {"type": "log_progress", "kind": "customer_contact", "text": "电话告知客户", "outcome": "客户确认"}
    await act(http, handler, number, contact)
    await act(http, handler, number, {"type": "resolve", "resolution": RESOLUTION})
    answer = await http.post(
        f"/api/survey/{survey_token(sync_session, number)}", json={"resolved": True, "rating": rating}
    )
    assert answer.status_code == 200, answer.text


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_kpis_match_the_walk(env, http, login, sync_session):
    agent, engineer, supervisor = await login("agent1"), await login("engineer1"), await login("supervisor1")
    customer = f"C-KPI-{datetime.now().strftime('%H%M%S%f')}"
    first_day = (await env.get_current_time()).astimezone(CENTER).date()

    a, a_cycle = await _register(http, agent, customer)
    await _accept_and_plan(http, engineer, a, a_cycle)
    await _resolve_and_rate(http, engineer, sync_session, a, "satisfied")
    await act(http, agent, a, {"type": "close"})
    await act(http, agent, a, {"type": "reopen", "reason": "客户反馈再次中断"})

    d, d_cycle = await _register(http, agent, customer)
    await _accept_and_plan(http, engineer, d, d_cycle)
    await _resolve_and_rate(http, engineer, sync_session, d, "neutral")

    b, b_cycle = await _register(http, agent, customer)
    c, c_cycle = await _register(http, agent, customer)
    await _accept_and_plan(http, engineer, c, c_cycle, plan=False)

    # B's response deadline passes unclaimed; then it is taken, planned and resolved before its plan deadline.
    await skip_to(env, _at(b_cycle["responseDue"]) + timedelta(minutes=1))
    workflows = {}
    with sync_session() as s:
        for number in (a, b, c, d):
            workflows[s.get(TicketRow, number).workflow_id] = number

    def breaches() -> list[tuple[str, str, str]]:
        with sync_session() as s:
            rows = s.scalars(select(SlaBreach).where(SlaBreach.workflow_id.in_(list(workflows))))
            return sorted((workflows[r.workflow_id], r.kind, r.responsible) for r in rows)

    async def breached(count: int) -> list | None:
        return breaches() if len(breaches()) >= count else None

    await eventually(lambda: breached(1), what="B's accept breach")
    assert breaches() == [(b, "accept", "department hardware-engineering")]
    assert _at(b_cycle["planDue"]) > await env.get_current_time()
    await _accept_and_plan(http, engineer, b, b_cycle)
    await _resolve_and_rate(http, engineer, sync_session, b, "dissatisfied")

    # C's plan deadline passes: the breach is engineer1's, who holds the plan task.
    await skip_to(env, _at(c_cycle["planDue"]) + timedelta(minutes=1))
    await eventually(lambda: breached(2), what="C's plan breach")
    assert breaches() == sorted([(b, "accept", "department hardware-engineering"), (c, "plan", "engineer1")])
    last_day = (await env.get_current_time()).astimezone(CENTER).date()

    async def kpi(name: str, headers=supervisor, **filters) -> dict:
        params = {"from": first_day.isoformat(), "to": last_day.isoformat(), "customer": customer} | filters
        response = await http.get(f"/api/kpis/{name}", params={k: v for k, v in params.items() if v}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def figures(answer: dict) -> tuple:
        return answer["numerator"], answer["denominator"], answer["value"], answer["met"]

    # First response: A, D, C on time; B breached (its reopened cycle of A is not a first response).
    response = await kpi("response_timeliness")
    assert figures(response) == (3, 4, 0.75, False) and response["counts"] == {"breached": 1}
    assert response["target"] == 0.95 and response["owner"] == "supervisor"
    # Plan: A, D, B on time; C breached; A's reopened cycle asks no plan.
    assert figures(await kpi("plan_timeliness")) == (3, 4, 0.75, False)
    # Resolution: A's first cycle, D, B on time; C and A's reopened cycle are still open.
    assert figures(await kpi("resolution_timeliness")) == (3, 3, 1.0, True)
    satisfaction = await kpi("satisfaction_rate")
    assert figures(satisfaction) == (1, 3, 1 / 3, False)
    assert satisfaction["counts"] == {"satisfied": 1, "neutral": 1, "dissatisfied": 1}
    # Reopen: A was closed and reopened; no other ticket was closed.
    assert figures(await kpi("reopen_rate")) == (1, 1, 1.0, False)

    # Breaches: engineer1 answers for C's plan and, as a member of the department, for B's unclaimed accept.
    center = await kpi("sla_breaches")
    assert figures(center) == (2, None, 2.0, False) and center["counts"] == {"accept": 1, "plan": 1}
    mine = await kpi("sla_breaches", person="engineer1")
    assert figures(mine) == (2, None, 2.0, False) and mine["counts"] == {"accept": 1, "plan": 1, "unclaimed": 1}
    assert figures(await kpi("sla_breaches", person="engineer2")) == (0, None, 0.0, True)
    assert figures(await kpi("sla_breaches", department="hardware-engineering")) == (2, None, 2.0, False)
    assert figures(await kpi("sla_breaches", department="software-engineering"))[0] == 0
    assert figures(await kpi("sla_breaches", priority="low"))[0] == 0

    async def breakdown(by: str) -> list[tuple[str, int, int]]:
        params = {"by": by, "from": first_day.isoformat(), "to": last_day.isoformat(), "customer": customer}
        response = await http.get("/api/kpis/sla_breaches/breakdown", params=params, headers=supervisor)
        assert response.status_code == 200, response.text
        return [(i["who"], i["breaches"], i["unclaimed"]) for i in response.json()["items"]]

    assert await breakdown("person") == [("engineer1", 2, 1)]
    assert await breakdown("department") == [("hardware-engineering", 2, 1)]

    # Narrowing: by handler, priority, department; a period before the walk holds nothing.
    assert figures(await kpi("response_timeliness", person="engineer1")) == (3, 4, 0.75, False)
    assert figures(await kpi("response_timeliness", person="engineer2")) == (0, 0, None, None)
    assert figures(await kpi("plan_timeliness", priority="urgent", department="hardware-engineering"))[:2] == (3, 4)
    assert figures(await kpi("plan_timeliness", priority="medium"))[:2] == (0, 0)
    before = (first_day - timedelta(days=3)).isoformat(), (first_day - timedelta(days=1)).isoformat()
    assert figures(await kpi("satisfaction_rate", **{"from": before[0], "to": before[1]}))[:2] == (0, 0)

    # Auditors read KPIs too; the definitions list every KPI with its filters.
    assert figures(await kpi("reopen_rate", headers=await login("auditor1")))[:2] == (1, 1)
    listed = (await http.get("/api/kpis", headers=supervisor)).json()
    assert {k["name"] for k in listed} >= {"response_timeliness", "sla_breaches", "activation_timeliness"}
    filters = next(k for k in listed if k["name"] == "resource_check_timeliness")["filters"]
    assert filters == ["department", "person", "customer"]


async def test_bad_parameters_are_422_and_roles_are_checked(http, login):
    supervisor = await login("supervisor1")
    good = {"from": "2026-01-01", "to": "2026-01-31"}
    for params, where in [
        ({}, "from"),
        ({"from": "2026-01-01"}, "to"),
        ({**good, "from": "yesterday"}, "from"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "to"),
        ({**good, "priority": "asap"}, "priority"),
        ({**good, "person": ""}, "person"),
        ({**good, "customer": "x" * 65}, "customer"),
    ]:
        response = await http.get("/api/kpis/response_timeliness", params=params, headers=supervisor)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["detail"].startswith(where), response.text
    narrowed = await http.get("/api/kpis/activation_timeliness", params={**good, "priority": "low"}, headers=supervisor)
    assert narrowed.status_code == 422 and "cannot be filtered" in narrowed.json()["detail"]
    assert (await http.get("/api/kpis/uptime", params=good, headers=supervisor)).status_code == 404
    engineer = await login("engineer1")
    assert (await http.get("/api/kpis", headers=engineer)).status_code == 403
    assert (await http.get("/api/kpis/reopen_rate", params=good, headers=engineer)).status_code == 403
    assert (await http.get("/api/kpis", headers=await login("agent1"))).status_code == 403


async def test_admin_edits_a_target_journaled(http, login, sync_session):
    admin, supervisor = await login("admin"), await login("supervisor1")
    current = (await http.get("/api/kpi-targets/center", headers=admin)).json()
    targets = current["spec"]["targets"] | {"reopen_rate": {"target": 0.1, "owner": "supervisor"}}
    published = await http.post("/api/kpi-targets/center", json={"targets": targets}, headers=admin)
    assert published.status_code == 201, published.text
    version = published.json()["version"]
    assert version == current["version"] + 1
    listed = (await http.get("/api/kpis", headers=supervisor)).json()
    assert next(k for k in listed if k["name"] == "reopen_rate")["target"] == 0.1
    answer = await http.get("/api/kpis/reopen_rate", params={"from": "2026-01-01", "to": "2026-01-02"}, headers=admin)
    assert answer.json()["target"] == 0.1
    with sync_session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.subject_id == f"center@v{version}")).one()
    assert (entry.action, entry.actor, entry.outcome) == ("kpi-targets.publish", "admin", "accepted")

    # Refused, and nothing stored: an unknown KPI, a rate above 1, another document name, a non-admin.
    for body in (
        {"targets": {"uptime": {"target": 1, "owner": "admin"}}},
        {"targets": {"reopen_rate": {"target": 5, "owner": "supervisor"}}},
    ):
        refused = await http.post("/api/kpi-targets/center", json=body, headers=admin)
        assert refused.status_code == 422, refused.text
    assert (await http.post("/api/kpi-targets/other", json={"targets": {}}, headers=admin)).status_code == 422
    assert (await http.post("/api/kpi-targets/center", json={"targets": {}}, headers=supervisor)).status_code == 403
    assert (await http.get("/api/kpi-targets/center", headers=admin)).json()["version"] == version


async def test_targets_are_read_once_per_version_and_a_new_version_counts_at_once(http, login, sync_session):
    """The definitions are kept per published targets version: a version published through the API, or one
    another API process wrote (a row inserted beside this process), judges the very next answer."""
    admin, supervisor = await login("admin"), await login("supervisor1")
    period = {"from": "2026-02-01", "to": "2026-02-02"}

    async def target() -> tuple[float, float]:
        answer = (await http.get("/api/kpis/callback_rate", params=period, headers=supervisor)).json()
        listed = (await http.get("/api/kpis", headers=supervisor)).json()
        return answer["target"], next(k for k in listed if k["name"] == "callback_rate")["target"]

    current = (await http.get("/api/kpi-targets/center", headers=admin)).json()
    original = current["spec"]["targets"]
    await target()  # the current version is read and kept
    changed = original | {"callback_rate": {"target": 0.42, "owner": "supervisor"}}
    published = await http.post("/api/kpi-targets/center", json={"targets": changed}, headers=admin)
    assert published.status_code == 201, published.text
    assert await target() == (0.42, 0.42)

    version = published.json()["version"] + 1
    beside = KpiTargets(
        name="center",
        version=version,
        targets=original | {"callback_rate": KpiTarget(target=0.43, owner=Role.SUPERVISOR)},
    )
    with sync_session() as s:
        s.add(
            KpiTargetsVersion(name="center", version=version, spec=beside.model_dump(mode="json"), created_by="admin")
        )
        s.commit()
    assert await target() == (0.43, 0.43)

    restored = await http.post("/api/kpi-targets/center", json={"targets": original}, headers=admin)
    assert restored.status_code == 201, restored.text
    kept = original.get("callback_rate", {"target": BY_NAME["callback_rate"].target})["target"]
    assert await target() == (kept, kept)
