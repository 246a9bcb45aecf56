"""Inbox and list latency at 1M tickets and 10M task rows (issue 18: p99 ≤ 50 ms), on the data of bench.kpis.

    .venv/bin/python -m bench.kpis                  # once: generates the year (kept under .data/bench/kpis)
    .venv/bin/python -m bench.lists                 # then: open work added once, every list timed

The generated year is all closed; the first run here opens the newest `--open` tickets again (status in progress)
and gives each one open task as the workflows would (its department's and the engineer role's, half of them
claimed by a person, priority by the ticket's, due times around now so some are overdue), kept with the data.
Then the API runs under uvicorn and each list the API and the console serve is asked `--requests` times, one
request at a time, as a random bench person (200 engineers in 20 departments) or a supervisor. (The console's
ticket list is not timed: it renders each ticket from its whole state, which the generated rows do not carry; its
query is the TMF621 list's, newest first with the count.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from pydantic import ValidationError

from bench.kpis import CUSTOMERS, DATA_DIR, DEPARTMENTS, PEOPLE, Figures, _say, load, open_data, serve_api
from db.seed import DEMO_PASSWORD
from infra.devstack import Stack

TARGET_MS = 50
TMF = "/tmf-api/troubleTicket/v4/troubleTicket"

# The newest tickets (numbers above the cutoff) opened again, each with one open task; its priority as
# workflows.tickets.TASK_PRIORITY gives it (urgent first). The KPI facts do not read the status: their trigger is
# held off for the update, nothing of theirs changes.
_OPEN_WORK = (
    "ALTER TABLE ticket DISABLE TRIGGER kpi_ticket_facts",
    """UPDATE ticket SET status = 'in_progress', tmf_status = 'inProgress', updated_at = now()
        WHERE ticket_no > %(cutoff)s AND ticket_no LIKE 'CB%%'""",
    "ALTER TABLE ticket ENABLE TRIGGER kpi_ticket_facts",
    """INSERT INTO human_task (task_id, workflow_id, kind, subject, business_ref, candidate_roles,
                               candidate_department, assignee, outcomes, priority, status, claimed_by, opened_at,
                               due_at, escalation_level, revision, updated_at)
       SELECT t.workflow_id || ':open', t.workflow_id, 'resolve', t.ticket_no || ': resolve', t.ticket_no,
              ARRAY['engineer']::varchar[], t.candidate_department, NULL, ARRAY['done']::varchar[],
              CASE t.priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END, 'open',
              CASE WHEN t.n %% 2 = 0 THEN t.handler END, now() - interval '1 day',
              now() + (t.n %% 96 - 24) * interval '1 hour', 0, 1, now()
         FROM (SELECT *, row_number() OVER (ORDER BY ticket_no) AS n FROM ticket
                WHERE ticket_no > %(cutoff)s AND ticket_no LIKE 'CB%%') AS t
       ON CONFLICT (task_id) DO NOTHING""",
    "ANALYZE ticket",
    "ANALYZE human_task",
)

# The opened tickets' stored state made whole (the generated year keeps only what the KPI facts read: a list that
# cannot read a state leaves the row out, so without this the ticket lists would time empty pages). The template
# is a real core.tickets.Ticket; each row gets its own number, customer, handler, times and cycles into it.
_WHOLE_STATE = (
    "ALTER TABLE ticket DISABLE TRIGGER kpi_ticket_facts",
    """UPDATE ticket SET detail = %(template)s::jsonb || jsonb_build_object(
            'ticket_no', ticket_no, 'workflow_id', workflow_id, 'created_at', created_at, 'handler', handler,
            'candidates_department', candidate_department, 'lead_department', lead_department,
            'green_channel', green_channel, 'cycles', detail -> 'cycles',
            'intake', (%(template)s::jsonb -> 'intake') || jsonb_build_object(
                'customer_id', customer_id, 'customer_name', customer_name, 'priority', priority,
                'categories', to_jsonb(categories)))
        WHERE ticket_no > %(cutoff)s AND ticket_no LIKE 'CB%%' AND NOT detail ? 'intake'""",
    "ALTER TABLE ticket ENABLE TRIGGER kpi_ticket_facts",
    "VACUUM ANALYZE ticket",
)


def _ticket_template() -> str:
    """A whole in-progress ticket state as JSON, the fields every opened ticket has in common."""
    from core.tickets import Channel, Intake, Ticket, TicketStatus

    intake = Intake(
        industry="制造业",
        contact="张工 13800138000",
        channel=Channel.PHONE,
        preferred_channel=Channel.PHONE,
        occurred_at=datetime(2026, 1, 1, 8, 0, tzinfo=UTC),
        scenario="专线中断",
        description="客户专线中断，联系电话 13800138000",
        name="专线中断",
    )
    ticket = Ticket(
        ticket_no="template",
        workflow_id="template",
        intake=intake,
        status=TicketStatus.IN_PROGRESS,
        created_at=datetime(2026, 1, 1, 8, 0, tzinfo=UTC),
        created_by="agent1",
        first_responder="agent1",
        policy_name="default",
        policy_version=1,
        calendar_name="default",
        calendar_version=1,
        revision=3,
    )
    return json.dumps(ticket.model_dump(mode="json"), ensure_ascii=False)


def open_work(url: str, data_dir: Path, count: int) -> None:
    """Open the newest `count` tickets again with one open task each, once per kept data set."""
    marker, whole = data_dir / "open-work", data_dir / "ticket-state"
    if marker.exists() and whole.exists():
        _say(f"open work kept: {marker.read_text().strip()}; {whole.read_text().strip()}")
        return
    began = time.monotonic()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        last = conn.execute("SELECT max(ticket_no) FROM ticket WHERE ticket_no LIKE 'CB%'").fetchone()
        if last is None or last[0] is None:
            raise SystemExit("no generated tickets: run python -m bench.kpis first")
        cutoff = f"CB{int(last[0][2:]) - count:010d}"  # ticket numbers are zero-padded: the newest sort last
        if not marker.exists():
            for statement in _OPEN_WORK:
                conn.execute(statement, {"cutoff": cutoff} if "%(cutoff)s" in statement else None)
            marker.write_text(f"{count} tickets in progress with one open task each\n")
            _say(f"opened {count:,} tickets with one open task each ({time.monotonic() - began:.0f} s)")
        if not whole.exists():
            values = {"cutoff": cutoff, "template": _ticket_template()}
            for statement in _WHOLE_STATE:
                conn.execute(statement, values if "%(cutoff)s" in statement else None)
            whole.write_text(f"{count} opened tickets with a whole state\n")
            _say(f"gave {count:,} opened tickets a whole state ({time.monotonic() - began:.0f} s)")
        _check_states(conn, cutoff)


def _check_states(conn: psycopg.Connection, cutoff: str) -> None:
    """Refuse to time lists whose tickets would be left out: a sample of the opened tickets must read."""
    from core.tickets import Ticket

    rows = conn.execute(
        "SELECT ticket_no, detail FROM ticket WHERE ticket_no > %s AND ticket_no LIKE 'CB%%' ORDER BY ticket_no DESC"
        " LIMIT 50",
        (cutoff,),
    ).fetchall()
    for ticket_no, detail in rows:
        try:
            Ticket.model_validate(detail)
        except ValidationError as err:
            raise SystemExit(f"ticket {ticket_no}'s generated state does not read: {err}") from None


async def _tokens(http: httpx.AsyncClient, users: list[str]) -> dict[str, dict[str, str]]:
    out = {}
    for user in users:
        token = await http.post("/api/auth/token", data={"username": user, "password": DEMO_PASSWORD})
        token.raise_for_status()
        out[user] = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return out


async def _console(api_url: str, user: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=api_url, timeout=60)
    page = await client.get("/console/login")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    signed = await client.post("/console/login", data={"csrf": csrf, "username": user, "password": DEMO_PASSWORD})
    if signed.status_code != 303:
        raise SystemExit(f"console sign-in of {user}: {signed.status_code}")
    return client


Question = Callable[[random.Random], tuple[str, str, dict[str, str]]]  # (who, path, params)


def _person(rng: random.Random) -> str:
    return f"bench-{rng.randrange(PEOPLE)}"


LISTS: list[tuple[str, Question]] = [
    ("inbox: candidate (person's dept + role)", lambda r: (_person(r), "/api/tasks", {"scope": "candidate"})),
    ("inbox: mine (claimed or assigned)", lambda r: (_person(r), "/api/tasks", {"scope": "mine"})),
    ("inbox: candidate, overdue", lambda r: (_person(r), "/api/tasks", {"scope": "candidate", "overdue": "true"})),
    ("inbox: all open (supervisor)", lambda r: ("supervisor1", "/api/tasks", {"scope": "all"})),
    ("inbox: all open, page 20", lambda r: ("supervisor1", "/api/tasks", {"scope": "all", "offset": "1000"})),
    ("tickets: newest (TMF621)", lambda r: ("supervisor1", TMF, {"limit": "50"})),
    ("tickets: in progress (TMF621)", lambda r: ("supervisor1", TMF, {"ticketStatus": "in_progress"})),
    (
        "tickets: a customer's (TMF621)",
        lambda r: ("supervisor1", TMF, {"customerId": f"CUST-{r.randrange(CUSTOMERS)}"}),
    ),
    ("tickets: a handler's (TMF621)", lambda r: ("supervisor1", TMF, {"handler": _person(r)})),
    ("console: My work", lambda r: (_person(r), "/console/inbox", {})),
]


async def measure(api_url: str, requests: int, warmup: int) -> list[tuple[str, float, float, float]]:
    """(what, p50, p99, max) in milliseconds of each list, one request at a time."""
    rng = random.Random(18)
    people = [f"bench-{n}" for n in range(PEOPLE)]
    results = []
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        tokens = await _tokens(http, ["supervisor1", *people])
        consoles = {u: await _console(api_url, u) for u in ["supervisor1", *people[: DEPARTMENTS * 2]]}
        try:
            for what, question in LISTS:
                timings = []
                for n in range(warmup + requests):
                    who, path, params = question(rng)
                    if path.startswith("/console"):
                        client, headers = consoles.get(who) or consoles[people[rng.randrange(DEPARTMENTS * 2)]], {}
                    else:
                        client, headers = http, tokens[who]
                    began = time.perf_counter()
                    response = await client.get(path, params=params, headers=headers)
                    elapsed = (time.perf_counter() - began) * 1000
                    if response.status_code != 200:
                        raise SystemExit(f"{what} {path} {params}: {response.status_code} {response.text[:300]}")
                    if n == 0 and path.startswith("/tmf-api") and not response.json():
                        raise SystemExit(f"{what} {path} {params}: an empty page; the lists would time nothing")
                    if n >= warmup:
                        timings.append(elapsed)
                figures = Figures.of(timings)
                p50, p99, most = figures.p50, figures.p99, figures.most
                results.append((what, p50, p99, most))
                verdict = "ok" if p99 <= TARGET_MS else "OVER"
                _say(f"  {what:<42} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {most:7.1f} ms  {verdict}")
        finally:
            for client in consoles.values():
                await client.aclose()
    return results


def main(argv: list[str] | None = None) -> None:
    """Open work on the kept data (once), start the API, time every list, print the table."""
    parser = argparse.ArgumentParser(prog="bench.lists", description=__doc__.split("\n")[0])
    parser.add_argument("--open", type=int, default=100_000, help="tickets opened again, one open task each")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per list")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per list first")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    if not (args.data_dir / "generated").exists():
        raise SystemExit(f"no generated data in {args.data_dir}: run python -m bench.kpis first")
    _say(f"load: {load()}")
    stack = Stack()
    try:
        url = open_data(stack, args.data_dir)
        open_work(url, args.data_dir, args.open)
        api_url, _ = serve_api(stack, url, args.data_dir)
        _say(f"timing {args.requests} requests per list (after {args.warmup} untimed), target p99 ≤ {TARGET_MS} ms:")
        results = asyncio.run(measure(api_url, args.requests, args.warmup))
        over = [r for r in results if r[2] > TARGET_MS]
        _say(f"over target: {', '.join(r[0] for r in over) or 'none'}")
        _say(f"load after: {load()}")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
