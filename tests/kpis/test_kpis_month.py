"""Every KPI over a generated month of tickets, tasks, breaches, checks and orders, against answers computed here.

The month (February 2024, the center's days) is written to the read model as the workflows would write it (whole
ticket states through db.tickets.ticket_row_values, task rows, breach rows, ledger rows); the KPI facts follow by
themselves. The expected figures are computed in Python from the generated objects, never from the database.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from core.sla import Priority
from core.tickets import Category, Channel, Intake, Rating, SlaCycle, Ticket, TicketStatus
from db.models import (
    CircuitLedgerRow,
    ResourceCheckLedger,
    ResourceCheckRow,
    ServiceOrderRow,
    SlaBreach,
    TaskRow,
    TicketRow,
    User,
)
from db.tickets import ticket_row_values

CENTER = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2024, 2, 1), date(2024, 2, 29)
START, END = datetime(2024, 2, 1, tzinfo=CENTER), datetime(2024, 3, 1, tzinfo=CENTER)
HOUR = timedelta(hours=1)
HANDLERS = ("engineer1", "engineer2", "agent1", None)
DEPARTMENTS = ("hardware-engineering", "software-engineering", "product-support")
CATEGORIES = (
    (Category.AFTERSALES_HARDWARE,),
    (Category.AFTERSALES_SOFTWARE,),
    (Category.COMPLAINT,),
    (Category.COMPLAINT, Category.AFTERSALES_HARDWARE),
    (Category.PRESALES,),
)
UNCLAIMED = ("department {d} or role engineer", "role supervisor", "department {d}")
STEPS = (("accept", "response_due", "responded_at"), ("plan", "plan_due", "planned_at"))
STEPS += (("resolve", "resolution_due", "resolved_at"),)


@dataclass
class Task:
    kind: str
    ticket: Ticket
    opened_at: datetime
    due_at: datetime
    status: str
    decided_at: datetime | None
    person: str  # assignee, who also decided it


@dataclass
class Breach:
    workflow_id: str
    kind: str
    responsible: str
    breached_at: datetime
    customer: str
    priority: str | None


@dataclass
class Work:
    """A resource check (finished_at, on_time) or a circuit (completed_at, on_time, cycle_seconds)."""

    customer: str
    at: datetime
    on_time: bool | None
    departments: set[str]
    people: set[str]
    cycle_seconds: float | None = None
    accepted: bool = True


@dataclass
class Month:
    tickets: list[Ticket] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)
    checks: list[Work] = field(default_factory=list)
    circuits: list[Work] = field(default_factory=list)


def _when(rng: random.Random) -> datetime:
    """An instant of the month or of the three days either side of it."""
    return START - 3 * 24 * HOUR + timedelta(minutes=rng.randrange(int((END - START).total_seconds() / 60) + 6 * 1440))


def _maybe(rng: random.Random, p: float, at: datetime, spread_hours: float) -> datetime | None:
    return at + timedelta(minutes=rng.randrange(int(spread_hours * 60))) if rng.random() < p else None


def _ticket(rng: random.Random, run: str, i: int, customers: list[str]) -> tuple[Ticket, list[Breach]]:
    created = _when(rng)
    priority = rng.choice(list(Priority))
    handler = rng.choice(HANDLERS)
    department = rng.choice(DEPARTMENTS)
    categories = rng.choice(CATEGORIES)
    customer = rng.choice(customers)
    breaches: list[Breach] = []
    cycles = []
    for number in range(1, 3 if rng.random() < 0.25 else 2):
        started = created if number == 1 else created + timedelta(hours=rng.randrange(20, 90))
        cycle = SlaCycle(
            number=number,
            started_at=started,
            response_due=started + 2 * HOUR,
            plan_due=started + 4 * HOUR,
            resolution_cap=started + 30 * HOUR,
            resolution_due=started + 24 * HOUR if rng.random() < 0.7 else None,
            responded_at=_maybe(rng, 0.9, started, 4),
            planned_at=_maybe(rng, 0.85, started, 8),
            resolved_at=_maybe(rng, 0.8, started, 60),
            rating=rng.choice([None, *Rating, Rating.SATISFIED]),
        )
        for kind, due_field, done_field in STEPS:
            due = getattr(cycle, due_field) or cycle.resolution_cap
            done = getattr(cycle, done_field)
            if ((done is None or done > due) and rng.random() < 0.8) or rng.random() < 0.05:
                claimed = handler if handler and rng.random() < 0.6 else None
                who = claimed or rng.choice(UNCLAIMED).format(d=department)
                cycle.breaches.append(f"{kind}:{who}")
                at = due + timedelta(minutes=1)
                breaches.append(Breach(f"ticket-CQ{run}{i:05d}", kind, who, at, customer, priority.value))
        cycles.append(cycle)
    last = cycles[-1]
    closed = last.resolved_at + HOUR if last.resolved_at and rng.random() < 0.7 else None
    ticket = Ticket(
        ticket_no=f"CQ{run}{i:05d}",
        workflow_id=f"ticket-CQ{run}{i:05d}",
        intake=Intake(
            customer_id=customer,
            customer_name="月度客户",
            industry="制造",
            contact="13800001111",
            channel=Channel.PHONE,
            occurred_at=created,
            scenario="生成",
            description="生成的工单",
            categories=categories,
            priority=priority,
        ),
        status=TicketStatus.CLOSED if closed else TicketStatus.IN_PROGRESS,
        created_at=created,
        created_by="agent1",
        first_responder="agent1",
        handler=handler,
        candidates_department=department,
        lead_department=rng.choice([None, None, "product-support"]),
        cycles=cycles,
        closed_at=closed,
        rating=last.rating,
    )
    return ticket, breaches


def _tasks(rng: random.Random, ticket: Ticket) -> tuple[list[Task], list[Breach]]:
    """The callback of a complaint and the second follow-up of each neutral or dissatisfied cycle."""
    tasks, breaches = [], []
    customer, priority = ticket.intake.customer_id or "", ticket.intake.priority
    if Category.COMPLAINT in ticket.intake.categories and rng.random() < 0.95:
        person = rng.choice(["agent1", "supervisor1"])
        due = ticket.created_at + 72 * HOUR
        status = "done" if rng.random() < 0.85 else "cancelled"
        decided = ticket.created_at + timedelta(hours=rng.randrange(1, 100))
        tasks.append(Task("callback", ticket, ticket.created_at, due, status, decided, person))
        if decided > due:
            at, level = due + HOUR, priority.value if priority else None
            breaches.append(Breach(ticket.workflow_id, "callback", person, at, customer, level))
    for cycle in ticket.cycles:
        if cycle.rating in (Rating.NEUTRAL, Rating.DISSATISFIED):
            opened = cycle.started_at + timedelta(hours=rng.randrange(1, 50))
            status = "done" if rng.random() < 0.9 else "cancelled"
            decided = opened + timedelta(hours=rng.randrange(1, 40))
            person = rng.choice(["engineer1", "agent1", "supervisor2"])
            tasks.append(Task("second_followup", ticket, opened, opened + 24 * HOUR, status, decided, person))
    return tasks, breaches


def _work(rng: random.Random, customers: list[str], *, circuit: bool) -> Work:
    departments = {rng.choice(("fixed-network", "operations", "mobile-network")) for _ in range(rng.randrange(1, 3))}
    people = {rng.choice(("fixed1", "ops1", "mobile1", "fixedhead")) for _ in range(rng.randrange(1, 3))}
    return Work(
        customer=rng.choice(customers),
        at=_when(rng),
        on_time=rng.choice([True, True, False, None] if not circuit else [True, True, False]),
        departments=departments,
        people=people,
        cycle_seconds=rng.randrange(3600, 30 * 86400) if circuit and rng.random() < 0.9 else None,
        accepted=circuit or rng.random() < 0.85,
    )


def generate(run: str) -> Month:
    """A month's worth of facts, from a fixed seed."""
    rng = random.Random(16)
    customers = [f"CM{run}-{n}" for n in range(3)]
    month = Month()
    for i in range(260):
        ticket, breaches = _ticket(rng, run, i, customers)
        tasks, more = _tasks(rng, ticket)
        month.tickets.append(ticket)
        month.tasks += tasks
        month.breaches += breaches + more
    month.checks = [_work(rng, customers, circuit=False) for _ in range(60)]
    month.circuits = [_work(rng, customers, circuit=True) for _ in range(60)]
    return month


def store(sync_session, month: Month, run: str) -> None:
    """Write the month to the read model as the workflows and activities would."""
    with sync_session() as s:
        for ticket in month.tickets:
            s.add(TicketRow(**ticket_row_values(ticket)))
        s.flush()
        for n, task in enumerate(month.tasks):
            s.add(
                TaskRow(
                    task_id=f"{task.ticket.workflow_id}:{task.kind}:{n}",
                    workflow_id=task.ticket.workflow_id,
                    kind=task.kind,
                    subject=f"{task.ticket.ticket_no}: {task.kind}",
                    business_ref=task.ticket.ticket_no,
                    assignee=task.person,
                    outcomes=["done"],
                    status=task.status,
                    opened_at=task.opened_at,
                    due_at=task.due_at,
                    outcome="done" if task.status == "done" else None,
                    decided_by=task.person if task.status == "done" else None,
                    decided_at=task.decided_at if task.status == "done" else None,
                )
            )
        for n, b in enumerate(month.breaches):
            s.add(
                SlaBreach(
                    key=f"{run}:breach:{n}",
                    workflow_id=b.workflow_id,
                    kind=b.kind,
                    responsible=b.responsible,
                    due_at=b.breached_at - timedelta(minutes=1),
                    breached_at=b.breached_at,
                )
            )
        for n, w in enumerate(month.checks):
            check_id, workflow_id = f"RC{run}{n:03d}", f"resource-check-RC{run}{n:03d}"
            s.add(
                ResourceCheckRow(
                    check_id=check_id,
                    workflow_id=workflow_id,
                    status="accepted",
                    tmf_state="done",
                    customer_id=w.customer,
                    customer_name="月度客户",
                    created_by="gcd1",
                    created_at=w.at - 48 * HOUR,
                )
            )
            s.add(
                ResourceCheckLedger(
                    check_id=check_id,
                    customer_id=w.customer,
                    customer_name="月度客户",
                    outcome="accepted" if w.accepted else "cancelled",
                    requested_at=w.at - 48 * HOUR,
                    finished_at=w.at,
                    on_time=w.on_time,
                )
            )
            _work_tasks(s, workflow_id, check_id, w)
        for n, w in enumerate(month.circuits):
            order_id, workflow_id = f"SO{run}{n:03d}", f"provisioning-SO{run}{n:03d}"
            ordered = w.at - timedelta(seconds=w.cycle_seconds or 86400)
            s.add(
                ServiceOrderRow(
                    order_id=order_id,
                    workflow_id=workflow_id,
                    status="completed",
                    tmf_state="completed",
                    circuit_type="internet",
                    scope="intra_city",
                    customer_id=w.customer,
                    bandwidth="100M",
                    created_by="gcd1",
                    created_at=ordered,
                    requested_completion=ordered + 20 * 24 * HOUR,
                )
            )
            s.add(
                CircuitLedgerRow(
                    circuit_id=f"CC{run}{n:03d}",
                    order_id=order_id,
                    status="active",
                    circuit_type="internet",
                    bandwidth="100M",
                    ordered_at=ordered,
                    requested_completion=ordered + 20 * 24 * HOUR,
                    completed_at=w.at,
                    on_time=w.on_time,
                    cycle_seconds=w.cycle_seconds,
                )
            )
            _work_tasks(s, workflow_id, order_id, w)
        s.commit()


def remove(sync_session, run: str) -> None:
    """Delete what `store` wrote for the run (rows without a workflow state would break other modules' lists)."""
    with sync_session() as s:
        workflows = [f"ticket-CQ{run}%", f"resource-check-RC{run}%", f"provisioning-SO{run}%"]
        for pattern in workflows:
            s.execute(delete(TaskRow).where(TaskRow.workflow_id.like(pattern)))
            s.execute(delete(SlaBreach).where(SlaBreach.workflow_id.like(pattern)))
        s.execute(delete(SlaBreach).where(SlaBreach.key.like(f"{run}:breach:%")))
        s.execute(delete(CircuitLedgerRow).where(CircuitLedgerRow.circuit_id.like(f"CC{run}%")))
        s.execute(delete(ServiceOrderRow).where(ServiceOrderRow.order_id.like(f"SO{run}%")))
        s.execute(delete(ResourceCheckLedger).where(ResourceCheckLedger.check_id.like(f"RC{run}%")))
        s.execute(delete(ResourceCheckRow).where(ResourceCheckRow.check_id.like(f"RC{run}%")))
        s.execute(delete(TicketRow).where(TicketRow.ticket_no.like(f"CQ{run}%")))
        s.commit()


@pytest.fixture
def stored_month(sync_session):
    """A generated month written to the read model for the test, and removed after it."""
    run = uuid.uuid4().hex[:6]
    month = generate(run)
    store(sync_session, month, run)
    yield month
    remove(sync_session, run)


def _work_tasks(s, workflow_id: str, ref: str, w: Work) -> None:
    """One done task per department of the work, decided by each of its people in turn."""
    people = sorted(w.people)
    for n, department in enumerate(sorted(w.departments)):
        s.add(
            TaskRow(
                task_id=f"{workflow_id}:t{n}",
                workflow_id=workflow_id,
                kind="rc_answer",
                subject=f"{ref}: answer",
                business_ref=ref,
                candidate_department=department,
                outcomes=["done"],
                status="done",
                opened_at=w.at - 24 * HOUR,
                due_at=w.at,
                outcome="done",
                decided_by=people[n % len(people)],
                decided_at=w.at - HOUR,
            )
        )
    # A person with no department task of their own still did a step of it: the last one claimed it.
    for extra in people[len(w.departments) :]:
        s.add(
            TaskRow(
                task_id=f"{workflow_id}:x{extra}",
                workflow_id=workflow_id,
                kind="rc_review",
                subject=f"{ref}: review",
                business_ref=ref,
                outcomes=["done"],
                status="done",
                opened_at=w.at - 24 * HOUR,
                due_at=w.at,
                outcome="done",
                decided_by=extra,
                decided_at=w.at - HOUR,
            )
        )


# ---- the answers, computed from the generated month --------------------------------------------------------


def _in(at: datetime | None) -> bool:
    return at is not None and START <= at < END


def _ticket_ok(t: Ticket, f: dict[str, str], person: str | None = "handler") -> bool:
    if "department" in f and f["department"] not in (t.candidates_department, t.lead_department):
        return False
    if "customer" in f and t.intake.customer_id != f["customer"]:
        return False
    if "priority" in f and (t.intake.priority is None or t.intake.priority.value != f["priority"]):
        return False
    return "person" not in f or person == f["person"]


def _timeliness(month: Month, f: dict[str, str], kind: str, *, first=False, faults=False) -> tuple:
    [(_, due_field, done_field)] = [s for s in STEPS if s[0] == kind]
    on_time = settled = breached = 0
    for t in month.tickets:
        fault = bool({Category.AFTERSALES_HARDWARE, Category.AFTERSALES_SOFTWARE} & set(t.intake.categories))
        if not _ticket_ok(t, f, t.handler) or (faults and not fault):
            continue
        for c in t.cycles:
            if not _in(c.started_at) or (first and c.number > 1):
                continue
            due, done = getattr(c, due_field) or c.resolution_cap, getattr(c, done_field)
            hit = any(b.startswith(f"{kind}:") for b in c.breaches)
            on_time += done is not None and done <= due and not hit
            settled += done is not None or hit
            breached += hit
    return on_time, settled, {"breached": breached}


def _satisfaction(month: Month, f: dict[str, str]) -> tuple:
    ratings = [c.rating for t in month.tickets if _ticket_ok(t, f, t.handler) for c in t.cycles if _in(c.started_at)]
    counts = {r.value: ratings.count(r) for r in Rating}
    return counts["satisfied"], sum(counts.values()), counts


def _registered(month: Month, f: dict[str, str]) -> list[Ticket]:
    return [t for t in month.tickets if _in(t.created_at) and _ticket_ok(t, f, t.handler)]


def _reopen(month: Month, f: dict[str, str]) -> tuple:
    tickets = _registered(month, f)
    return (
        sum(len(t.cycles) > 1 for t in tickets),
        sum(t.closed_at is not None or len(t.cycles) > 1 for t in tickets),
        {},
    )


def _callback(month: Month, f: dict[str, str]) -> tuple:
    called = complaints = on_time = 0
    for t in month.tickets:
        if not _in(t.created_at) or Category.COMPLAINT not in t.intake.categories:
            continue
        task = next((k for k in month.tasks if k.ticket is t and k.kind == "callback"), None)
        if not _ticket_ok(t, f, task.person if task else None):
            continue
        complaints += 1
        done = task is not None and task.status == "done"
        called += done
        on_time += done and task.decided_at <= task.due_at
    return called, complaints, {"on_time": on_time}


def _completion(month: Month, f: dict[str, str]) -> tuple:
    complaints = [t for t in _registered(month, f) if Category.COMPLAINT in t.intake.categories]
    done = [t for t in complaints if t.cycles[0].resolved_at and t.cycles[0].resolved_at <= t.created_at + 48 * HOUR]
    return len(done), len(complaints), {}


def _followups(month: Month, f: dict[str, str]) -> tuple:
    tasks = [
        k for k in month.tasks if k.kind == "second_followup" and _in(k.opened_at) and _ticket_ok(k.ticket, f, k.person)
    ]
    done = [k for k in tasks if k.status == "done"]
    return sum(k.decided_at <= k.due_at for k in done), len(done), {}


def _works(works: list[Work], f: dict[str, str]) -> list[Work]:
    return [
        w
        for w in works
        if _in(w.at)
        and ("customer" not in f or w.customer == f["customer"])
        and ("department" not in f or f["department"] in w.departments)
        and ("person" not in f or f["person"] in w.people)
    ]


def _checks(month: Month, f: dict[str, str]) -> tuple:
    judged = [w for w in _works(month.checks, f) if w.accepted and w.on_time is not None]
    return sum(w.on_time is True for w in judged), len(judged), {}


def _activation(month: Month, f: dict[str, str]) -> tuple:
    done = [w for w in _works(month.circuits, f) if w.on_time is not None]
    return sum(w.on_time is True for w in done), len(done), {}


def _cycle_time(month: Month, f: dict[str, str]) -> tuple:
    done = [w for w in _works(month.circuits, f) if w.cycle_seconds is not None]
    return round(sum(w.cycle_seconds or 0 for w in done)), len(done), {}


def _charges(responsible: str) -> set[str]:
    """Whom a breach is charged to, read back from its responsible text."""
    charged = set()
    for part in responsible.split(" or "):
        kind, _, rest = part.partition(" ")
        charged.add(f"{kind}:{rest}" if kind in ("department", "role") and rest else f"person:{part}")
    return charged


def _answers_for(users: dict[str, User], person: str) -> set[str]:
    user = users.get(person)
    if user is None:
        return {f"person:{person}"}
    keys = {f"person:{person}"} | {f"role:{r}" for r in user.roles}
    if user.department and "auditor" not in user.roles:
        keys.add(f"department:{user.department}")
    return keys


def _department_answers_for(users: dict[str, User], department: str) -> set[str]:
    return {f"department:{department}"} | {f"person:{u.username}" for u in users.values() if u.department == department}


def _breach_scope(month: Month, f: dict[str, str]) -> list[Breach]:
    return [
        b
        for b in month.breaches
        if _in(b.breached_at)
        and ("customer" not in f or b.customer == f["customer"])
        and ("priority" not in f or b.priority == f["priority"])
    ]


def _breaches(month: Month, f: dict[str, str], users: dict[str, User]) -> tuple:
    counts: dict[str, int] = {}
    unclaimed = 0
    for b in _breach_scope(month, f):
        charged = _charges(b.responsible)
        if "person" in f and not charged & _answers_for(users, f["person"]):
            continue
        if "department" in f and not charged & _department_answers_for(users, f["department"]):
            continue
        counts[b.kind] = counts.get(b.kind, 0) + 1
        unclaimed += "person" in f and b.responsible != f["person"]
    if "person" in f:
        counts["unclaimed"] = unclaimed
    return sum(v for k, v in counts.items() if k != "unclaimed"), None, counts


EXPECTED: dict[str, Callable[..., tuple]] = {
    "response_timeliness": lambda m, f: _timeliness(m, f, "accept", first=True),
    "plan_timeliness": lambda m, f: _timeliness(m, f, "plan"),
    "resolution_timeliness": lambda m, f: _timeliness(m, f, "resolve"),
    "fault_handling_timeliness": lambda m, f: _timeliness(m, f, "resolve", faults=True),
    "resource_check_timeliness": _checks,
    "activation_timeliness": _activation,
    "activation_cycle_time": _cycle_time,
    "satisfaction_rate": _satisfaction,
    "second_followup_timeliness": _followups,
    "complaint_callback_rate": _callback,
    "complaint_completion_48h": _completion,
    "reopen_rate": _reopen,
}
COMPONENTS = {"satisfaction_rate": 0.3, "complaint_completion_48h": 0.2}
WORK_KPIS = {"resource_check_timeliness", "activation_timeliness", "activation_cycle_time"}


async def test_every_kpi_matches_a_generated_month(http, login, sync_session, stored_month):
    month = stored_month
    with sync_session() as s:
        users = {u.username: u for u in s.scalars(select(User))}
    supervisor = await login("supervisor1")
    customers = sorted({t.intake.customer_id or "" for t in month.tickets})
    queries: list[dict[str, str]] = [
        {},
        *({"customer": c} for c in customers),
        *({"priority": p.value} for p in Priority),
        *({"department": d} for d in (*DEPARTMENTS, "fixed-network", "operations")),
        *({"person": p} for p in ("engineer1", "engineer2", "agent1", "supervisor1", "supervisor2", "fixed1", "ops1")),
        {"customer": customers[0], "priority": "high"},
        {"department": "hardware-engineering", "person": "engineer1"},
    ]

    async def answer(name: str, f: dict[str, str]) -> dict[str, Any]:
        params = {"from": FIRST.isoformat(), "to": LAST.isoformat(), **f}
        response = await http.get(f"/api/kpis/{name}", params=params, headers=supervisor)
        assert response.status_code == 200, (name, f, response.text)
        return response.json()

    compared = 0
    for f in queries:
        for name, expected in EXPECTED.items():
            if name in WORK_KPIS and "priority" in f:
                continue
            numerator, denominator, counts = expected(month, f)
            got = await answer(name, f)
            assert (got["numerator"], got["denominator"], got["counts"]) == (numerator, denominator, counts), (name, f)
            if name == "activation_cycle_time" and denominator:
                assert abs(got["value"] - numerator / denominator / 3600) < 1e-9
            compared += 1
        # Staff evaluation: the weighted mean of the components with something to count (no reviews this month).
        rates = {name: (lambda n, d, _: n / d if d else None)(*EXPECTED[name](month, f)) for name in COMPONENTS}
        got = await answer("staff_evaluation", f)
        assert got["parts"] == {"quality_score": None, **rates}, f
        weighted = [(COMPONENTS[name], rate) for name, rate in rates.items() if rate is not None]
        value = sum(w * r for w, r in weighted) / sum(w for w, _ in weighted) if weighted else None
        assert got["value"] == value or abs(got["value"] - value) < 1e-12, f
        numerator, _, counts = _breaches(month, f, users)
        got = await answer("sla_breaches", f)
        assert (got["numerator"], got["counts"]) == (numerator, counts), ("sla_breaches", f)
    assert compared > 200
    # The month is not empty where it matters: each kind of fact was counted.
    whole = {name: (await answer(name, {}))["denominator"] for name in EXPECTED}
    assert all(whole.values()), whole

    # Per person and per department: an unclaimed task's breach counts for every candidate who could have taken it.
    scope = _breach_scope(month, {})
    named = {c[11:] for b in scope for c in _charges(b.responsible) if c.startswith("department:")}
    for by, answers_for, who in (
        ("person", _answers_for, set(users)),
        ("department", _department_answers_for, named | {u.department for u in users.values() if u.department}),
    ):
        response = await http.get(
            "/api/kpis/sla_breaches/breakdown",
            params={"by": by, "from": FIRST.isoformat(), "to": LAST.isoformat()},
            headers=supervisor,
        )
        assert response.status_code == 200, response.text
        got = {i["who"]: (i["breaches"], i["unclaimed"]) for i in response.json()["items"]}
        expected_rows = {}
        for name in who:
            mine = [b for b in scope if _charges(b.responsible) & answers_for(users, name)]
            if by == "person":
                unclaimed = sum(b.responsible != name for b in mine)
            else:
                unclaimed = sum(f"department:{name}" in _charges(b.responsible) for b in mine)
            if mine:
                expected_rows[name] = (len(mine), unclaimed)
        assert got == expected_rows, by
        # Nobody hides behind "unclaimed": the hardware engineers answer for their department's unclaimed breaches.
        assert got["hardware-engineering" if by == "department" else "engineer1"][1] > 0
