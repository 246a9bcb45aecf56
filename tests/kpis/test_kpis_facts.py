"""The KPI facts of migration 0026 follow their rows: second follow-ups (kpi_followup and its hourly rollup) and
finished checks and circuits (kpi_work and the parties of their tasks), written through the app role as the
activities write them, in either order, then changed, reassigned, closed late and deleted."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from core.kpis import KpiQuery
from core.sla import Priority
from db import kpis

CENTER = ZoneInfo("Asia/Shanghai")
# A month no other test writes: the rollup's hours are shared by every test in the session.
START, END = datetime(2023, 7, 1, tzinfo=CENTER), datetime(2023, 8, 1, tzinfo=CENTER)
AT = datetime(2023, 7, 5, 10, tzinfo=CENTER)
HOUR = timedelta(hours=1)


async def _write(db, sql: str, **params) -> None:
    async with db.session() as s:
        await s.execute(text(sql), params)
        await s.commit()


async def _figures(db, name: str, **filters) -> tuple[int, int | None]:
    async with db.session() as s:
        got = await kpis.figures(s, name, KpiQuery(start=START, end=END, **filters))
    return got.numerator, got.denominator


async def _ticket(db, ticket_no: str, *, priority: str, department: str, customer: str) -> None:
    detail = {"ticket_no": ticket_no, "cycles": [{"number": 1, "started_at": AT.isoformat(), "breaches": []}]}
    await _write(
        db,
        """INSERT INTO ticket (ticket_no, workflow_id, status, tmf_status, priority, categories, customer_id,
                               customer_name, handler, candidate_department, tier, green_channel, created_by,
                               created_at, revision, detail, updated_at)
           VALUES (:no, :flow, 'in_progress', 'inProgress', :priority, ARRAY['complaint'], :customer,
                   '事实客户', 'engineer1', :department, 1, false, 'agent1', :at, 1, CAST(:detail AS jsonb), now())""",
        no=ticket_no,
        flow=f"ticket-{ticket_no}",
        priority=priority,
        customer=customer,
        department=department,
        at=AT,
        detail=json.dumps(detail),
    )


async def _task(db, task_id: str, workflow_id: str, kind: str, ref: str, *, department: str | None = None) -> None:
    await _write(
        db,
        """INSERT INTO human_task (task_id, workflow_id, kind, subject, business_ref, candidate_roles,
                                   candidate_department, assignee, outcomes, priority, status, opened_at, due_at,
                                   escalation_level, revision, updated_at)
           VALUES (:task_id, :workflow_id, :kind, :kind, :ref, ARRAY['engineer'], :department, 'engineer1',
                   ARRAY['done'], 0, 'open', :opened, :due, 0, 1, now())""",
        task_id=task_id,
        workflow_id=workflow_id,
        kind=kind,
        ref=ref,
        department=department,
        opened=AT + HOUR,
        due=AT + 25 * HOUR,
    )


async def test_second_followup_facts_follow_the_task_and_its_ticket(db, sync_session):
    run = uuid.uuid4().hex[:6]
    ticket_no, customer = f"CF{run}", f"CF-{run}"
    task_id = f"ticket-{ticket_no}:second_followup:1"
    try:
        # The follow-up is written before its ticket: its dimensions come with the ticket's first cycle.
        await _task(db, task_id, f"ticket-{ticket_no}", "second_followup", ticket_no)
        assert await _figures(db, "second_followup_timeliness", customer=customer) == (0, 0)
        await _ticket(db, ticket_no, priority="high", department="hardware-engineering", customer=customer)
        high = await _figures(db, "second_followup_timeliness", priority=Priority.HIGH)  # the rollup (whole hours)
        # Open and past its due (in 2023): settled, not on time; counted by customer, department and holder.
        assert await _figures(db, "second_followup_timeliness", customer=customer) == (0, 1)
        assert await _figures(
            db, "second_followup_timeliness", department="hardware-engineering", customer=customer
        ) == (0, 1)
        assert await _figures(db, "second_followup_timeliness", person="engineer1", customer=customer) == (0, 1)

        # Reassigned, then closed an hour after its due by the new holder: theirs, done late.
        await _write(db, "UPDATE human_task SET claimed_by = 'engineer2' WHERE task_id = :t", t=task_id)
        assert await _figures(db, "second_followup_timeliness", person="engineer1", customer=customer) == (0, 0)
        assert await _figures(db, "second_followup_timeliness", person="engineer2", customer=customer) == (0, 1)
        await _write(
            db,
            "UPDATE human_task SET status = 'done', decided_by = 'engineer2', decided_at = :at WHERE task_id = :t",
            t=task_id,
            at=AT + 26 * HOUR,
        )
        assert await _figures(db, "second_followup_timeliness", person="engineer2", customer=customer) == (0, 1)
        assert await _figures(db, "second_followup_timeliness", priority=Priority.HIGH) == high
        # Done on time after all (a corrected decision time): on time in the facts and in the rollup.
        await _write(db, "UPDATE human_task SET decided_at = :at WHERE task_id = :t", t=task_id, at=AT + 2 * HOUR)
        assert await _figures(db, "second_followup_timeliness", customer=customer) == (1, 1)
        assert await _figures(db, "second_followup_timeliness", priority=Priority.HIGH) == (high[0] + 1, high[1])

        # The ticket's priority and department change: the follow-up moves with them, in the rollup too.
        low = await _figures(db, "second_followup_timeliness", priority=Priority.LOW)
        await _write(
            db,
            "UPDATE ticket SET priority = 'low', candidate_department = 'software-engineering' WHERE ticket_no = :n",
            n=ticket_no,
        )
        assert await _figures(db, "second_followup_timeliness", priority=Priority.HIGH) == (high[0], high[1] - 1)
        assert await _figures(db, "second_followup_timeliness", priority=Priority.LOW) == (low[0] + 1, low[1] + 1)
        assert await _figures(
            db, "second_followup_timeliness", department="hardware-engineering", customer=customer
        ) == (0, 0)
        assert await _figures(
            db, "second_followup_timeliness", department="software-engineering", customer=customer
        ) == (1, 1)

        await _write(db, "DELETE FROM human_task WHERE task_id = :t", t=task_id)
        assert await _figures(db, "second_followup_timeliness", customer=customer) == (0, 0)
        assert await _figures(db, "second_followup_timeliness", priority=Priority.LOW) == low
    finally:
        await _write(db, "DELETE FROM human_task WHERE task_id = :t", t=task_id)
        await _write(db, "DELETE FROM ticket WHERE ticket_no = :n", n=ticket_no)
    with sync_session() as s:
        assert s.scalar(text("SELECT count(*) FROM kpi_followup WHERE ticket_no = :n"), {"n": ticket_no}) == 0


async def test_check_and_circuit_facts_follow_their_tasks(db, sync_session):
    run = uuid.uuid4().hex[:6]
    check_id, order_id, customer = f"RCF{run}", f"SOF{run}", f"CW-{run}"
    check_flow, order_flow = f"resource-check-{check_id}", f"provisioning-{order_id}"
    try:
        # The ledger first, then a task, then the check's own row: the fact is there once all three are.
        await _write(
            db,
            """INSERT INTO resource_check_ledger (check_id, customer_id, customer_name, outcome, construction, items,
                                                  reservations, requested_at, finished_at, rounds, on_time,
                                                  lines_total, lines_on_time, revision, updated_at)
               VALUES (:id, :customer, '事实客户', 'accepted', '[]', '[]', '[]', :at, :finished, 1, true, 1, 1, 1,
                       now())""",
            id=check_id,
            customer=customer,
            at=AT - 48 * HOUR,
            finished=AT,
        )
        await _task(db, f"{check_flow}:answer", check_flow, "rc_answer", check_id, department="fixed-network")
        await _write(db, "UPDATE human_task SET claimed_by = 'fixed1' WHERE task_id = :t", t=f"{check_flow}:answer")
        assert await _figures(db, "resource_check_timeliness", customer=customer) == (0, 0)
        await _write(
            db,
            """INSERT INTO resource_check (check_id, workflow_id, status, tmf_state, customer_id, customer_name,
                                           created_by, created_at, rounds, revision, detail, updated_at)
               VALUES (:id, :flow, 'accepted', 'done', :customer, '事实客户', 'gcd1', :at, 1, 1, '{}', now())""",
            id=check_id,
            flow=check_flow,
            customer=customer,
            at=AT - 48 * HOUR,
        )
        assert await _figures(db, "resource_check_timeliness", customer=customer) == (1, 1)
        assert await _figures(
            db, "resource_check_timeliness", department="fixed-network", person="fixed1", customer=customer
        ) == (1, 1)
        assert await _figures(db, "resource_check_timeliness", department="operations", customer=customer) == (0, 0)

        # Reassigned: the new holder answers for it, the old one no longer; the department stays.
        await _write(db, "UPDATE human_task SET claimed_by = 'fixed2' WHERE task_id = :t", t=f"{check_flow}:answer")
        assert await _figures(db, "resource_check_timeliness", person="fixed1", customer=customer) == (0, 0)
        assert await _figures(db, "resource_check_timeliness", person="fixed2", customer=customer) == (1, 1)
        # A second task of another department, done by ops1: department and person must meet in one task.
        await _task(db, f"{check_flow}:answer2", check_flow, "rc_answer", check_id, department="operations")
        await _write(db, "UPDATE human_task SET decided_by = 'ops1' WHERE task_id = :t", t=f"{check_flow}:answer2")
        assert await _figures(
            db, "resource_check_timeliness", department="operations", person="ops1", customer=customer
        ) == (1, 1)
        assert await _figures(
            db, "resource_check_timeliness", department="operations", person="fixed2", customer=customer
        ) == (0, 0)
        # Judged late after all (the ledger corrected).
        await _write(db, "UPDATE resource_check_ledger SET on_time = false WHERE check_id = :id", id=check_id)
        assert await _figures(db, "resource_check_timeliness", person="fixed2", customer=customer) == (0, 1)

        # A circuit whose ledger row comes before its order's row, then the order's customer is corrected.
        await _write(
            db,
            """INSERT INTO circuit_ledger (circuit_id, order_id, status, circuit_type, a_end, z_end, bandwidth,
                                           ordered_at, requested_completion, completed_at, on_time, cycle_seconds,
                                           documents, steps, updated_at)
               VALUES ('CCF' || :run, :order, 'active', 'internet', '{}', '{}', '100M', :ordered, :due, :at, true,
                       86400, '[]', '[]', now())""",
            run=run,
            order=order_id,
            ordered=AT - 24 * HOUR,
            due=AT + 24 * HOUR,
            at=AT,
        )
        await _write(
            db,
            """INSERT INTO service_order (order_id, workflow_id, status, tmf_state, circuit_type, scope, customer_id,
                                          bandwidth, created_by, created_at, requested_completion, revision, detail,
                                          updated_at)
               VALUES (:order, :flow, 'completed', 'completed', 'internet', 'intra_city', 'someone-else', '100M',
                       'gcd1', :at, :due, 1, '{}', now())""",
            order=order_id,
            flow=order_flow,
            at=AT - 24 * HOUR,
            due=AT + 24 * HOUR,
        )
        assert await _figures(db, "activation_timeliness", customer=customer) == (0, 0)
        await _write(db, "UPDATE service_order SET customer_id = :c WHERE order_id = :o", c=customer, o=order_id)
        assert await _figures(db, "activation_timeliness", customer=customer) == (1, 1)
        assert await _figures(db, "activation_cycle_time", customer=customer) == (86400, 1)
        await _task(db, f"{order_flow}:step", order_flow, "step", order_id, department="operations")
        assert await _figures(db, "activation_timeliness", department="operations", customer=customer) == (1, 1)
        await _write(db, "DELETE FROM human_task WHERE task_id = :t", t=f"{order_flow}:step")
        assert await _figures(db, "activation_timeliness", department="operations", customer=customer) == (0, 0)
    finally:
        await _write(db, "DELETE FROM human_task WHERE workflow_id IN (:a, :b)", a=check_flow, b=order_flow)
        await _write(db, "DELETE FROM circuit_ledger WHERE order_id = :o", o=order_id)
        await _write(db, "DELETE FROM service_order WHERE order_id = :o", o=order_id)
        await _write(db, "DELETE FROM resource_check_ledger WHERE check_id = :id", id=check_id)
        await _write(db, "DELETE FROM resource_check WHERE check_id = :id", id=check_id)
    with sync_session() as s:
        left = s.scalar(
            text("SELECT count(*) FROM kpi_work WHERE workflow_id IN (:a, :b)"), {"a": check_flow, "b": order_flow}
        )
        assert left == 0
