"""KPI facts kept as they are written: one row per ticket SLA cycle and one per breach

Triggers on `ticket` and `sla_breach` maintain the two fact tables in the writing transaction, so a KPI query reads
indexed columns instead of unpacking each ticket's JSON; a partial index serves the follow-up and callback tasks.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02 07:00:00
"""

from alembic import op

from db.roles import APP_ROLE

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

# The facts of every SLA cycle of the tickets in `{source}` (a ticket row named k), as kpi_ticket_cycle columns.
_CYCLE_FACTS = """
SELECT k.ticket_no, (cy->>'number')::int, k.created_at, (cy->>'started_at')::timestamptz,
       k.priority, k.customer_id, k.handler, k.candidate_department, k.lead_department,
       'complaint' = ANY (k.categories), k.categories && ARRAY['aftersales_hardware', 'aftersales_software']::varchar[],
       (cy->>'response_due')::timestamptz, (cy->>'responded_at')::timestamptz,
       (cy->>'plan_due')::timestamptz, (cy->>'planned_at')::timestamptz,
       COALESCE((cy->>'resolution_due')::timestamptz, (cy->>'resolution_cap')::timestamptz),
       (cy->>'resolved_at')::timestamptz,
       EXISTS (SELECT 1 FROM jsonb_array_elements_text(cy->'breaches') AS b WHERE b LIKE 'accept:%'),
       EXISTS (SELECT 1 FROM jsonb_array_elements_text(cy->'breaches') AS b WHERE b LIKE 'plan:%'),
       EXISTS (SELECT 1 FROM jsonb_array_elements_text(cy->'breaches') AS b WHERE b LIKE 'resolve:%'),
       cy->>'rating', jsonb_array_length(k.detail->'cycles'),
       k.closed_at IS NOT NULL OR jsonb_array_length(k.detail->'cycles') > 1,
       cb.status, COALESCE(cb.status = 'done' AND cb.decided_at <= cb.due_at, false),
       COALESCE(cb.decided_by, cb.claimed_by, cb.assignee)
  FROM {source} CROSS JOIN LATERAL jsonb_array_elements(COALESCE(k.detail->'cycles', '[]'::jsonb)) AS cy
  LEFT JOIN LATERAL (SELECT * FROM human_task h WHERE h.business_ref = k.ticket_no AND h.kind = 'callback'
                      ORDER BY h.opened_at DESC LIMIT 1) AS cb ON true
"""
_CYCLE_COLUMNS = (
    "ticket_no, number, registered_at, started_at, priority, customer_id, handler, candidate_department, "
    "lead_department, complaint, fault, response_due, responded_at, plan_due, planned_at, resolution_due, "
    "resolved_at, response_breached, plan_breached, resolution_breached, rating, cycles, closed, callback_status, "
    "callback_on_time, callback_person"
)
_UPDATED = ", ".join(f"{c} = EXCLUDED.{c}" for c in _CYCLE_COLUMNS.split(", ")[2:])

# One row per breach with its ticket's priority and its workflow's customer; kpi_charges(responsible) says whom
# it is charged to.
_BREACH_FACTS = """
SELECT b.id, b.kind, b.responsible, b.breached_at,
       COALESCE((SELECT customer_id FROM ticket WHERE workflow_id = b.workflow_id),
                (SELECT customer_id FROM resource_check WHERE workflow_id = b.workflow_id),
                (SELECT customer_id FROM service_order WHERE workflow_id = b.workflow_id)),
       (SELECT priority FROM ticket WHERE workflow_id = b.workflow_id)
  FROM {source}
"""
_BREACH_COLUMNS = "breach_id, kind, responsible, breached_at, customer_id, priority"

# The hourly rollup: each counter of kpi_ticket_hour and the count a kpi_ticket_cycle row `r` adds to it. Counters
# by the cycle's start, then those by the ticket's registration (first cycles only).
_BY_START = {
    "cycles": "true",
    "response_on_time": "r.number = 1 AND r.response_on_time",
    "response_settled": "r.number = 1 AND r.response_settled",
    "response_breached": "r.number = 1 AND r.response_breached",
    "plan_on_time": "r.plan_on_time",
    "plan_settled": "r.plan_settled",
    "plan_breached": "r.plan_breached",
    "resolution_on_time": "r.resolution_on_time",
    "resolution_settled": "r.resolution_settled",
    "resolution_breached": "r.resolution_breached",
    "fault_on_time": "r.fault AND r.resolution_on_time",
    "fault_settled": "r.fault AND r.resolution_settled",
    "fault_breached": "r.fault AND r.resolution_breached",
    "satisfied": "r.rating = 'satisfied'",
    "neutral": "r.rating = 'neutral'",
    "dissatisfied": "r.rating = 'dissatisfied'",
}
_BY_REGISTRATION = {
    "registered": "true",
    "reopened": "r.cycles > 1",
    "closed": "r.closed",
    "complaints": "r.complaint",
    "complaints_48h": "r.complaint AND r.completed_48h",
    "called": "r.complaint AND r.callback_status = 'done'",
    "called_on_time": "r.complaint AND r.callback_on_time",
}
# Four rows per hour and priority, so concurrent ticket writes seldom wait on the same rollup row.
_KEY = "date_trunc('hour', {at}, 'UTC'), COALESCE(r.priority, ''), abs(hashtext(r.ticket_no)) % 4"


def _rollup_upsert(counters: dict[str, str], at: str, sign: str) -> str:
    names = ", ".join(counters)
    values = ", ".join(f"{sign} * COALESCE(({condition})::int, 0)" for condition in counters.values())
    added = ", ".join(f"{c} = h.{c} + EXCLUDED.{c}" for c in counters)
    return (
        f"INSERT INTO kpi_ticket_hour AS h (hour, priority, shard, {names}) "
        f"SELECT {_KEY.format(at=at)}, {values} FROM (SELECT {{row}}.*) AS r WHERE {{where}} "
        f"ON CONFLICT (hour, priority, shard) DO UPDATE SET {added};"
    )


def _rollup_of(row: str, sign: str) -> str:
    by_start = _rollup_upsert(_BY_START, "r.started_at", sign).format(row=row, where="true")
    by_registration = _rollup_upsert(_BY_REGISTRATION, "r.registered_at", sign).format(row=row, where="r.number = 1")
    return f"{by_start}\n        {by_registration}"


_COUNTERS = [*_BY_START, *_BY_REGISTRATION]
_ROLLUP = f"""
CREATE TABLE kpi_ticket_hour (
    hour timestamptz NOT NULL,
    priority varchar(16) NOT NULL,  -- '' for none
    shard smallint NOT NULL,
    {", ".join(f"{c} integer NOT NULL DEFAULT 0" for c in _COUNTERS)},
    PRIMARY KEY (hour, priority, shard)
);
CREATE FUNCTION kpi_ticket_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {_rollup_of("OLD", "-1")}
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {_rollup_of("NEW", "1")}
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER kpi_ticket_rollup AFTER INSERT OR UPDATE OR DELETE ON kpi_ticket_cycle
    FOR EACH ROW EXECUTE FUNCTION kpi_ticket_rollup();
"""


def _backfill(counters: dict[str, str], at: str, where: str) -> str:
    names = ", ".join(counters)
    sums = ", ".join(f"count(*) FILTER (WHERE {condition})" for condition in counters.values())
    added = ", ".join(f"{c} = h.{c} + EXCLUDED.{c}" for c in counters)
    key = _KEY.format(at=at)
    return (
        f"INSERT INTO kpi_ticket_hour AS h (hour, priority, shard, {names}) "
        f"SELECT {key}, {sums} FROM kpi_ticket_cycle AS r WHERE {where} GROUP BY 1, 2, 3 "
        f"ON CONFLICT (hour, priority, shard) DO UPDATE SET {added};"
    )


_ROLLUP_BACKFILL = "\n".join(
    (_backfill(_BY_START, "r.started_at", "true"), _backfill(_BY_REGISTRATION, "r.registered_at", "r.number = 1"))
)

UPGRADE = f"""
CREATE TABLE kpi_ticket_cycle (
    ticket_no varchar(20) NOT NULL,
    number integer NOT NULL,
    registered_at timestamptz NOT NULL,
    started_at timestamptz NOT NULL,
    priority varchar(16),
    customer_id varchar(64),
    handler varchar(64),
    candidate_department varchar(64),
    lead_department varchar(64),
    complaint boolean NOT NULL,
    fault boolean NOT NULL,
    response_due timestamptz,
    responded_at timestamptz,
    plan_due timestamptz,
    planned_at timestamptz,
    resolution_due timestamptz,
    resolved_at timestamptz,
    response_breached boolean NOT NULL,
    plan_breached boolean NOT NULL,
    resolution_breached boolean NOT NULL,
    rating varchar(16),
    cycles integer NOT NULL,
    closed boolean NOT NULL,
    callback_status varchar(16),  -- a complaint's callback task: open, done or cancelled
    callback_on_time boolean NOT NULL,
    callback_person varchar(64),  -- who made, holds or owes the callback
    -- Whether each step came on time and whether it is settled (done, or its deadline breached): the one place
    -- these are decided, read by the KPI queries and summed into kpi_ticket_hour.
    response_on_time boolean GENERATED ALWAYS AS
        (COALESCE(responded_at <= response_due, false) AND NOT response_breached) STORED,
    response_settled boolean GENERATED ALWAYS AS (responded_at IS NOT NULL OR response_breached) STORED,
    plan_on_time boolean GENERATED ALWAYS AS (COALESCE(planned_at <= plan_due, false) AND NOT plan_breached) STORED,
    plan_settled boolean GENERATED ALWAYS AS (planned_at IS NOT NULL OR plan_breached) STORED,
    resolution_on_time boolean GENERATED ALWAYS AS
        (COALESCE(resolved_at <= resolution_due, false) AND NOT resolution_breached) STORED,
    resolution_settled boolean GENERATED ALWAYS AS (resolved_at IS NOT NULL OR resolution_breached) STORED,
    completed_48h boolean GENERATED ALWAYS AS
        (COALESCE(extract(epoch FROM resolved_at - started_at) <= 172800, false)) STORED,
    PRIMARY KEY (ticket_no, number)
);
CREATE INDEX ix_kpi_ticket_cycle_started ON kpi_ticket_cycle (started_at);
CREATE INDEX ix_kpi_ticket_cycle_registered ON kpi_ticket_cycle (registered_at) WHERE number = 1;
CREATE INDEX ix_kpi_ticket_cycle_priority ON kpi_ticket_cycle (priority, started_at);
CREATE INDEX ix_kpi_ticket_cycle_customer ON kpi_ticket_cycle (customer_id, started_at);
CREATE INDEX ix_kpi_ticket_cycle_handler ON kpi_ticket_cycle (handler, started_at);
CREATE INDEX ix_kpi_ticket_cycle_candidate ON kpi_ticket_cycle (candidate_department, started_at);
CREATE INDEX ix_kpi_ticket_cycle_lead ON kpi_ticket_cycle (lead_department, started_at);

{_ROLLUP}

CREATE FUNCTION kpi_ticket_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM kpi_ticket_cycle WHERE ticket_no = OLD.ticket_no;
        RETURN NULL;
    END IF;
    INSERT INTO kpi_ticket_cycle ({_CYCLE_COLUMNS})
    {_CYCLE_FACTS.format(source="(SELECT NEW.*) AS k")}
    ON CONFLICT (ticket_no, number) DO UPDATE SET {_UPDATED};
    RETURN NULL;
END $$;
CREATE TRIGGER kpi_ticket_facts AFTER INSERT OR UPDATE OR DELETE ON ticket
    FOR EACH ROW EXECUTE FUNCTION kpi_ticket_facts();

-- A complaint's callback task, as it is written, onto its ticket's first cycle (whichever row comes first).
CREATE FUNCTION kpi_callback_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE kpi_ticket_cycle
       SET callback_status = NEW.status,
           callback_on_time = COALESCE(NEW.status = 'done' AND NEW.decided_at <= NEW.due_at, false),
           callback_person = COALESCE(NEW.decided_by, NEW.claimed_by, NEW.assignee)
     WHERE ticket_no = NEW.business_ref AND number = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER kpi_callback_facts AFTER INSERT OR UPDATE ON human_task
    FOR EACH ROW WHEN (NEW.kind = 'callback') EXECUTE FUNCTION kpi_callback_facts();

-- Whom a breach is charged to: the user who held the task (person:U), or each candidate of an unclaimed one
-- (core.tasks.Candidates.describe: "department D or role R ..." gives department:D, role:R).
CREATE FUNCTION kpi_charges(responsible text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(CASE WHEN part LIKE 'department %' THEN 'department:' || substr(part, 12)
                          WHEN part LIKE 'role %' THEN 'role:' || substr(part, 6)
                          ELSE 'person:' || part END)
      FROM unnest(string_to_array(responsible, ' or ')) AS part
$$;

CREATE TABLE kpi_breach (
    breach_id integer PRIMARY KEY,
    kind varchar(64) NOT NULL,
    responsible varchar(64) NOT NULL,
    breached_at timestamptz NOT NULL,
    customer_id varchar(64),
    priority varchar(16)
);
-- Covering: a period's breaches are counted from the index alone, grouped by whom they were charged to.
CREATE INDEX ix_kpi_breach_breached ON kpi_breach (breached_at) INCLUDE (responsible, kind, customer_id, priority);
CREATE INDEX ix_kpi_breach_customer ON kpi_breach (customer_id, breached_at);

CREATE FUNCTION kpi_breach_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kpi_breach ({_BREACH_COLUMNS})
    {_BREACH_FACTS.format(source="(SELECT NEW.*) AS b")}
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER kpi_breach_facts AFTER INSERT ON sla_breach FOR EACH ROW EXECUTE FUNCTION kpi_breach_facts();

ALTER TABLE kpi_ticket_cycle DISABLE TRIGGER kpi_ticket_rollup;
INSERT INTO kpi_ticket_cycle ({_CYCLE_COLUMNS}) {_CYCLE_FACTS.format(source="ticket AS k")};
ALTER TABLE kpi_ticket_cycle ENABLE TRIGGER kpi_ticket_rollup;
{_ROLLUP_BACKFILL}
INSERT INTO kpi_breach ({_BREACH_COLUMNS}) {_BREACH_FACTS.format(source="sla_breach AS b")};

-- Follow-ups and callbacks of a ticket, and by when they were opened: the few task kinds KPIs read directly.
CREATE INDEX ix_human_task_kpi_ticket ON human_task (business_ref, kind) WHERE kind IN ('callback', 'second_followup');
CREATE INDEX ix_human_task_kpi_opened ON human_task (kind, opened_at)
    INCLUDE (status, due_at, decided_at, decided_by, claimed_by, assignee, business_ref)
    WHERE kind IN ('callback', 'second_followup');
CREATE INDEX ix_circuit_ledger_completed ON circuit_ledger (completed_at) WHERE completed_at IS NOT NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON kpi_ticket_cycle, kpi_ticket_hour, kpi_breach TO {APP_ROLE};
GRANT EXECUTE ON FUNCTION kpi_charges(text) TO {APP_ROLE};
"""

DOWNGRADE = """
DROP INDEX ix_circuit_ledger_completed;
DROP INDEX ix_human_task_kpi_opened;
DROP INDEX ix_human_task_kpi_ticket;
DROP TRIGGER kpi_breach_facts ON sla_breach;
DROP FUNCTION kpi_breach_facts();
DROP TABLE kpi_breach;
DROP FUNCTION kpi_charges(text);
DROP TRIGGER kpi_callback_facts ON human_task;
DROP FUNCTION kpi_callback_facts();
DROP TRIGGER kpi_ticket_facts ON ticket;
DROP TRIGGER kpi_ticket_rollup ON kpi_ticket_cycle;
DROP FUNCTION kpi_ticket_rollup();
DROP TABLE kpi_ticket_hour;
DROP FUNCTION kpi_ticket_facts();
DROP TABLE kpi_ticket_cycle;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
