"""Three results (feasible, feasible after new construction, not feasible) on checks and in the ledger; re-checks
with changed requirements, each round kept and diffable; impossible wanted, start and completion dates refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from core.calendar import Budget, deadline, default_cn_calendar
from core.resource_checks import (
    AcceptResult,
    Feasibility,
    ItemChange,
    Qualification,
    Recheck,
    check_needs,
)
from db.resource_checks import load_check_needs
from tests.provisioning.test_api import SO, order_body
from tests.reservations.flow import MPLS, accepted_check, reviews_open
from tests.resource_checks.flow import REQUESTER, CheckFlow, item
from tests.resource_checks.test_api import request_body
from tests.support import assert_tmf_error, eventually, rid

SQ = "/tmf-api/serviceQualificationManagement/v4/checkServiceQualification"
BUILD = dict(new_construction=True, construction="12-core fibre from the Zhangjiang PoP", construction_days=15)


async def test_past_and_impossible_dates_are_refused_naming_the_field(http, login):
    requester, coordinator = await login("gcd1"), await login("coordinator1")
    body = request_body("C-dates")
    body["serviceQualificationItem"][0]["expectedServiceAvailabilityDate"] = "2020-01-01"
    assert_tmf_error(
        await http.post(SQ, json=body, headers=requester),
        400,
        "serviceQualificationItem[0].expectedServiceAvailabilityDate",
        "in the past",
    )
    now = datetime.now(UTC)
    for start, words in (
        (now - timedelta(days=2), "requestedStartDate: must not be in the past"),
        (now + timedelta(days=30), "requestedStartDate: must be before requestedCompletionDate"),
    ):
        order = {**order_body(now=now, days=20), "requestedStartDate": start.isoformat()}
        assert_tmf_error(await http.post(SO, json=order, headers=coordinator), 400, words)
    past = order_body(now=now, days=-3)
    assert_tmf_error(await http.post(SO, json=past, headers=coordinator), 400, "requestedCompletionDate")
    fine = {**order_body(now=now, days=20), "requestedStartDate": (now + timedelta(days=1)).isoformat()}
    created = await http.post(SO, json=fine, headers=coordinator)
    assert created.status_code == 201, created.text
    assert created.json()["requestedStartDate"] is not None


async def test_new_construction_gives_feasible_after_construction_on_the_check_and_in_the_ledger(
    env, worker, task_queue, http, login, db
):
    flow = await CheckFlow.start(env, task_queue, MPLS)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await flow.answer("1", "fixed-network", Qualification.QUALIFIED, new_construction=True)
    assert refused.value.cause.type == "invalid" and "construction:" in refused.value.cause.message
    answered_at = await env.get_current_time()
    await flow.answer("1", "fixed-network", Qualification.QUALIFIED, needs_procurement=True, **BUILD)
    await flow.answer("1", "operations", Qualification.QUALIFIED)
    state = await flow.wait(reviews_open, "joint review of the construction")
    for review in state.round.reviews:
        await flow.review(review.department)
    await flow.wait(lambda c: c.status == "awaiting_requester", "result reported")
    await flow.act(AcceptResult(request_id=rid(), actor=REQUESTER))
    state = await flow.wait(lambda c: c.status == "accepted", "accepted")
    assert state.feasibility == Feasibility.AFTER_CONSTRUCTION and state.result == Qualification.QUALIFIED
    needs = check_needs(state)
    assert needs.needs_construction and needs.needs_procurement and needs.procurement_by == ("fixed-network",)
    [build] = needs.construction
    assert (build.department, build.construction, build.working_days) == ("fixed-network", BUILD["construction"], 15)
    expected = deadline(default_cn_calendar(), answered_at, Budget(amount=15, unit="working_days"))
    assert abs((build.ready_by - expected).total_seconds()) < 600
    async with db.session() as session:  # the one function orders read a check's answers through
        assert await load_check_needs(session, flow.check_id) == needs

    auditor = await login("auditor1")
    tmf = (await http.get(f"{SQ}/{flow.check_id}", headers=auditor)).json()
    assert (tmf["qualificationResult"], tmf["feasibility"]) == ("alternate", "feasible_after_construction")
    [proposal] = tmf["serviceQualificationItem"][0]["alternateServiceProposal"]
    assert proposal["id"] == "construction-fixed-network" and proposal["alternateServiceAvailabilityDate"]
    assert proposal["alternateService"]["description"] == BUILD["construction"]
    assert {"name": "constructionWorkingDays", "value": 15} in proposal["alternateService"]["serviceCharacteristic"]
    listed = await http.get(SQ, params={"feasibility": "feasible_after_construction"}, headers=auditor)
    assert flow.check_id in {c["id"] for c in listed.json()}

    async def ledger_row():
        page = await http.get(
            "/api/resource-checks/ledger", params={"feasibility": "feasible_after_construction"}, headers=auditor
        )
        return next((r for r in page.json()["items"] if r["check_id"] == flow.check_id), None)

    row = await eventually(ledger_row, what="ledger row feasible after construction")
    assert row["feasibility"] == "feasible_after_construction" and row["qualification_result"] == "alternate"
    assert row["construction"][0]["construction"] == BUILD["construction"]
    assert row["construction"][0]["working_days"] == 15


async def test_plain_feasible_and_not_feasible(env, worker, task_queue):
    _, feasible = await accepted_check(env, task_queue, item("1"))
    assert (feasible.feasibility, feasible.tmf_result) == (Feasibility.FEASIBLE, Qualification.QUALIFIED)
    assert not check_needs(feasible).needs_construction
    flow = await CheckFlow.start(env, task_queue, item("1"))
    await flow.answer("1", "operations", Qualification.UNQUALIFIED, reasons="no fibre in the street")
    state = await flow.wait(lambda c: c.status == "awaiting_requester", "result reported")
    assert state.feasibility == Feasibility.NOT_FEASIBLE and state.round.reservations == []


async def test_recheck_with_changed_requirements_keeps_every_round_and_the_diff(env, worker, task_queue, http, login):
    flow = await CheckFlow.start(env, task_queue, item("1"), item("2"))
    await flow.answer("1", "operations", Qualification.UNQUALIFIED, reasons="100M is not available there")
    await flow.answer("2", "operations", Qualification.QUALIFIED)
    await flow.wait(lambda c: c.status == "awaiting_requester", "result reported")
    today = (await env.get_current_time()).date()
    for changes, words in (
        ((ItemChange(item_id="9", bandwidth="200M"),), "changes[0].item_id"),
        ((ItemChange(item_id="1", wanted_date=date(2020, 1, 1)),), "changes[0].wanted_date"),
        ((ItemChange(item_id="1", bandwidth="100M"),), "nothing changes"),
    ):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await flow.act(Recheck(request_id=rid(), actor=REQUESTER, reason="try again", changes=changes))
        assert refused.value.cause.type == "invalid" and words in refused.value.cause.message
    later = today + timedelta(days=90)
    change = ItemChange(item_id="1", bandwidth="50M", sites=("上海市浦东新区张江路 99 号",), wanted_date=later)
    await flow.act(
        Recheck(request_id=rid(), actor=REQUESTER, reason="50M is enough at the new site", changes=(change,))
    )
    state = await flow.wait(lambda c: len(c.rounds) == 2 and all(ln.task_id for ln in c.round.lines), "round 2")
    first, second = state.rounds
    assert first.items[0].bandwidth == "100M" and first.requested_changes == [change]
    assert [i.bandwidth for i in second.items] == ["50M", "100M"] and second.items[0].wanted_date == later
    assert {(c.item_id, c.field) for c in second.changes} == {("1", "bandwidth"), ("1", "sites"), ("1", "wanted_date")}
    bandwidth = next(c for c in second.changes if c.field == "bandwidth")
    assert (bandwidth.before, bandwidth.after) == ("100M", "50M")
    asked = await flow.tasks("rc_answer")
    assert any("50M" in t.subject and "99 号" in t.subject for t in asked)

    auditor = await login("auditor1")

    async def second_round_saved():
        body = (await http.get(f"{SQ}/{flow.check_id}", headers=auditor)).json()
        return body if len(body["rounds"]) == 2 else None

    tmf = await eventually(second_round_saved, what="round 2 in the read model")
    characteristics = tmf["serviceQualificationItem"][0]["service"]["serviceCharacteristic"]
    assert {"name": "bandwidth", "value": "50M"} in characteristics
    assert tmf["serviceQualificationItem"][0]["expectedServiceAvailabilityDate"] == later.isoformat()
    assert [c["field"] for c in tmf["rounds"][1]["changes"]] == ["bandwidth", "sites", "wanted_date"]
    assert tmf["rounds"][0]["items"][0]["bandwidth"] == "100M"
