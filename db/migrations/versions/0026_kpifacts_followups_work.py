"""KPI facts of second follow-ups and of finished checks and circuits, kept by triggers; registration indexes

The last KPIs that read raw task rows get facts of their own, like the callback's in 0024:
- `kpi_followup`: one row per second follow-up task with its ticket's priority, customer and departments (kept by
  a trigger on `human_task`, and on `kpi_ticket_cycle` when a ticket's dimensions change), summed by the hour of
  its opening into `kpi_ticket_hour` (followups_done, followups_on_time);
- `kpi_work`: one row per finished resource check and per circuit, with `parties`: the department, person and
  department-and-person tokens (`kpi_party`) of every task of its workflow, kept by triggers on the two ledgers
  and on `human_task`, so a department or person filter is an array test, not a probe of the tasks per row.
The KPIs counted by the ticket's registration (reopen, complaints, callbacks) get indexes by registration per
department, handler and callback person, as the ones counted by the cycle's start had.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02 10:00:00
"""

from alembic import op

from db.roles import APP_ROLE

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_FOLLOWUP_COLUMNS = (
    "task_id, ticket_no, opened_at, due_at, status, decided_at, person, priority, customer_id, candidate_department, "
    "lead_department"
)
_FOLLOWUP_UPDATED = ", ".join(f"{c} = EXCLUDED.{c}" for c in _FOLLOWUP_COLUMNS.split(", ")[1:])
# The facts of the second follow-up tasks `t` in {source}: who did, holds or was given it, and its ticket's
# dimensions from the ticket's first cycle (NULL while the ticket has none).
_FOLLOWUP_FACTS = """
SELECT t.task_id, t.business_ref, t.opened_at, t.due_at, t.status, t.decided_at,
       COALESCE(t.decided_by, t.claimed_by, t.assignee), f.priority, f.customer_id, f.candidate_department,
       f.lead_department
  FROM {source}
  LEFT JOIN kpi_ticket_cycle f ON f.ticket_no = t.business_ref AND f.number = 1
"""

# kpi_ticket_hour's follow-up counters, by the hour of the follow-up's opening (same key as 0024's rollup).
_FOLLOWUP_KEY = (
    "date_trunc('hour', r.opened_at, 'UTC'), COALESCE(r.priority, ''), "
    "abs(hashtext(COALESCE(r.ticket_no, r.task_id))) % 4"
)


def _followup_rollup(row: str, sign: str) -> str:
    return f"""
        INSERT INTO kpi_ticket_hour AS h (hour, priority, shard, followups_done, followups_on_time)
        SELECT {_FOLLOWUP_KEY}, {sign} * (r.status = 'done')::int, {sign} * r.on_time::int
          FROM (SELECT {row}.*) AS r
        ON CONFLICT (hour, priority, shard) DO UPDATE
           SET followups_done = h.followups_done + EXCLUDED.followups_done,
               followups_on_time = h.followups_on_time + EXCLUDED.followups_on_time;"""


_WORK_COLUMNS = "kind, ref, workflow_id, customer_id, at, outcome, on_time, cycle_seconds, parties"
_WORK_UPDATED = ", ".join(f"{c} = EXCLUDED.{c}" for c in _WORK_COLUMNS.split(", ")[2:])
# A finished check (ledger row `w` of {source}) and its workflow, as the check KPIs counted it.
_CHECK_FACTS = """
SELECT 'check', w.check_id, r.workflow_id, w.customer_id, w.finished_at, w.outcome, w.on_time, NULL::float8,
       kpi_work_parties(r.workflow_id)
  FROM {source} JOIN resource_check r ON r.check_id = w.check_id
"""
# A circuit (ledger row `c` of {source}) with its order's workflow and customer.
_CIRCUIT_FACTS = """
SELECT 'circuit', c.circuit_id, o.workflow_id, o.customer_id, c.completed_at, c.status, c.on_time, c.cycle_seconds,
       kpi_work_parties(o.workflow_id)
  FROM {source} JOIN service_order o ON o.order_id = c.order_id
"""

UPGRADE = f"""
CREATE TABLE kpi_followup (
    task_id varchar(200) PRIMARY KEY,
    ticket_no varchar(64),
    opened_at timestamptz NOT NULL,
    due_at timestamptz NOT NULL,
    status varchar(16) NOT NULL,
    decided_at timestamptz,
    person varchar(64),  -- who did, holds or was given it
    priority varchar(16),
    customer_id varchar(64),
    candidate_department varchar(64),
    lead_department varchar(64),
    on_time boolean GENERATED ALWAYS AS (COALESCE(status = 'done' AND decided_at <= due_at, false)) STORED
);

ALTER TABLE kpi_ticket_hour ADD COLUMN followups_done integer NOT NULL DEFAULT 0,
                            ADD COLUMN followups_on_time integer NOT NULL DEFAULT 0;

CREATE FUNCTION kpi_followup_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN {_followup_rollup("OLD", "-1")}
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN {_followup_rollup("NEW", "1")}
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER kpi_followup_rollup AFTER INSERT OR UPDATE OR DELETE ON kpi_followup
    FOR EACH ROW EXECUTE FUNCTION kpi_followup_rollup();

CREATE FUNCTION kpi_followup_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM kpi_followup WHERE task_id = OLD.task_id;
        RETURN NULL;
    END IF;
    INSERT INTO kpi_followup ({_FOLLOWUP_COLUMNS})
    {_FOLLOWUP_FACTS.format(source="(SELECT NEW.*) AS t")}
    ON CONFLICT (task_id) DO UPDATE SET {_FOLLOWUP_UPDATED};
    RETURN NULL;
END $$;
CREATE TRIGGER kpi_followup_facts AFTER INSERT OR UPDATE ON human_task
    FOR EACH ROW WHEN (NEW.kind = 'second_followup') EXECUTE FUNCTION kpi_followup_facts();
CREATE TRIGGER kpi_followup_gone AFTER DELETE ON human_task
    FOR EACH ROW WHEN (OLD.kind = 'second_followup') EXECUTE FUNCTION kpi_followup_facts();

-- A ticket's priority, customer or departments changed (or its first cycle came or went): onto its follow-ups.
CREATE FUNCTION kpi_followup_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k kpi_ticket_cycle%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN
        k.ticket_no := OLD.ticket_no;
    ELSE
        k := NEW;
    END IF;
    UPDATE kpi_followup
       SET priority = k.priority, customer_id = k.customer_id, candidate_department = k.candidate_department,
           lead_department = k.lead_department
     WHERE ticket_no = k.ticket_no
       AND (priority, customer_id, candidate_department, lead_department)
           IS DISTINCT FROM (k.priority, k.customer_id, k.candidate_department, k.lead_department);
    RETURN NULL;
END $$;
CREATE TRIGGER kpi_followup_ticket_new AFTER INSERT ON kpi_ticket_cycle
    FOR EACH ROW WHEN (NEW.number = 1) EXECUTE FUNCTION kpi_followup_ticket();
CREATE TRIGGER kpi_followup_ticket_changed AFTER UPDATE ON kpi_ticket_cycle
    FOR EACH ROW WHEN (NEW.number = 1 AND (OLD.priority, OLD.customer_id, OLD.candidate_department,
                       OLD.lead_department) IS DISTINCT FROM (NEW.priority, NEW.customer_id,
                       NEW.candidate_department, NEW.lead_department))
    EXECUTE FUNCTION kpi_followup_ticket();
CREATE TRIGGER kpi_followup_ticket_gone AFTER DELETE ON kpi_ticket_cycle
    FOR EACH ROW WHEN (OLD.number = 1) EXECUTE FUNCTION kpi_followup_ticket();

-- The token a question narrowed by a department and/or a person looks for in kpi_work.parties (NULL: neither).
CREATE FUNCTION kpi_party(department text, person text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN person IS NULL THEN 'department:' || department
                WHEN department IS NULL THEN 'person:' || person
                ELSE 'department:' || department || E'\\x1f' || 'person:' || person END
$$;
-- Every token a workflow's tasks answer to: each task's candidate department, who did or holds it, and the two
-- together (a department-and-person question wants one task of both, as the task-probing query did).
CREATE FUNCTION kpi_work_parties(workflow text) RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT COALESCE(array_agg(DISTINCT p.token) FILTER (WHERE p.token IS NOT NULL), '{{}}')
      FROM human_task h
     CROSS JOIN LATERAL (VALUES (kpi_party(h.candidate_department, NULL)), (kpi_party(NULL, h.decided_by)),
                                (kpi_party(NULL, h.claimed_by)), (kpi_party(h.candidate_department, h.decided_by)),
                                (kpi_party(h.candidate_department, h.claimed_by))) AS p (token)
     WHERE h.workflow_id = workflow
$$;

CREATE TABLE kpi_work (
    kind varchar(16) NOT NULL,  -- check | circuit
    ref varchar(64) NOT NULL,  -- check_id | circuit_id
    workflow_id varchar(200) NOT NULL,
    customer_id varchar(64),
    at timestamptz,  -- the check's finish, the circuit's completion
    outcome varchar(16),  -- the check's outcome, the circuit's status
    on_time boolean,
    cycle_seconds double precision,
    parties varchar[] NOT NULL DEFAULT '{{}}',
    PRIMARY KEY (kind, ref)
);

CREATE FUNCTION kpi_check_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM kpi_work WHERE kind = 'check' AND ref = OLD.check_id;
        RETURN NULL;
    END IF;
    INSERT INTO kpi_work ({_WORK_COLUMNS}) {_CHECK_FACTS.format(source="(SELECT NEW.*) AS w")}
    ON CONFLICT (kind, ref) DO UPDATE SET {_WORK_UPDATED};
    RETURN NULL;
END $$;
CREATE TRIGGER kpi_check_facts AFTER INSERT OR UPDATE OR DELETE ON resource_check_ledger
    FOR EACH ROW EXECUTE FUNCTION kpi_check_facts();

CREATE FUNCTION kpi_circuit_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM kpi_work WHERE kind = 'circuit' AND ref = OLD.circuit_id;
        RETURN NULL;
    END IF;
    INSERT INTO kpi_work ({_WORK_COLUMNS}) {_CIRCUIT_FACTS.format(source="(SELECT NEW.*) AS c")}
    ON CONFLICT (kind, ref) DO UPDATE SET {_WORK_UPDATED};
    RETURN NULL;
END $$;
CREATE TRIGGER kpi_circuit_facts AFTER INSERT OR UPDATE OR DELETE ON circuit_ledger
    FOR EACH ROW EXECUTE FUNCTION kpi_circuit_facts();

-- The check's or order's own row may come after its ledger's (or an order's customer change): the fact again.
CREATE FUNCTION kpi_check_workflow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kpi_work ({_WORK_COLUMNS})
    {_CHECK_FACTS.format(source="resource_check_ledger AS w")} WHERE w.check_id = NEW.check_id
    ON CONFLICT (kind, ref) DO UPDATE SET {_WORK_UPDATED};
    RETURN NULL;
END $$;
CREATE TRIGGER kpi_check_workflow AFTER INSERT ON resource_check
    FOR EACH ROW EXECUTE FUNCTION kpi_check_workflow();
CREATE FUNCTION kpi_circuit_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kpi_work ({_WORK_COLUMNS})
    {_CIRCUIT_FACTS.format(source="circuit_ledger AS c")} WHERE c.order_id = NEW.order_id
    ON CONFLICT (kind, ref) DO UPDATE SET {_WORK_UPDATED};
    RETURN NULL;
END $$;
CREATE TRIGGER kpi_circuit_order_new AFTER INSERT ON service_order
    FOR EACH ROW EXECUTE FUNCTION kpi_circuit_order();
CREATE TRIGGER kpi_circuit_order_changed AFTER UPDATE ON service_order
    FOR EACH ROW WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id) EXECUTE FUNCTION kpi_circuit_order();

-- A task came, went, or changed department or hands: its workflow's check or circuit answers to new parties
-- (a ticket's task finds no kpi_work row: one index probe).
CREATE FUNCTION kpi_work_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    workflow text := CASE WHEN TG_OP = 'DELETE' THEN OLD.workflow_id ELSE NEW.workflow_id END;
BEGIN
    UPDATE kpi_work SET parties = kpi_work_parties(workflow) WHERE workflow_id = workflow;
    RETURN NULL;
END $$;
CREATE TRIGGER kpi_work_task_new AFTER INSERT OR DELETE ON human_task
    FOR EACH ROW EXECUTE FUNCTION kpi_work_tasks();
CREATE TRIGGER kpi_work_task_changed AFTER UPDATE ON human_task
    FOR EACH ROW WHEN ((OLD.candidate_department, OLD.claimed_by, OLD.decided_by)
                       IS DISTINCT FROM (NEW.candidate_department, NEW.claimed_by, NEW.decided_by))
    EXECUTE FUNCTION kpi_work_tasks();

-- Counted by the ticket's registration, narrowed by a department, a handler or a callback's person.
CREATE INDEX ix_kpi_ticket_cycle_registered_candidate ON kpi_ticket_cycle (candidate_department, registered_at)
    WHERE number = 1;
CREATE INDEX ix_kpi_ticket_cycle_registered_lead ON kpi_ticket_cycle (lead_department, registered_at)
    WHERE number = 1;
CREATE INDEX ix_kpi_ticket_cycle_registered_handler ON kpi_ticket_cycle (handler, registered_at) WHERE number = 1;
CREATE INDEX ix_kpi_ticket_cycle_registered_callback ON kpi_ticket_cycle (callback_person, registered_at)
    WHERE number = 1 AND complaint;

-- Backfill: the facts from the rows already written, then their rollup and indexes.
ALTER TABLE kpi_followup DISABLE TRIGGER kpi_followup_rollup;
INSERT INTO kpi_followup ({_FOLLOWUP_COLUMNS})
{_FOLLOWUP_FACTS.format(source="human_task AS t")} WHERE t.kind = 'second_followup';
ALTER TABLE kpi_followup ENABLE TRIGGER kpi_followup_rollup;
INSERT INTO kpi_ticket_hour AS h (hour, priority, shard, followups_done, followups_on_time)
SELECT {_FOLLOWUP_KEY}, count(*) FILTER (WHERE r.status = 'done'), count(*) FILTER (WHERE r.on_time)
  FROM kpi_followup AS r GROUP BY 1, 2, 3
ON CONFLICT (hour, priority, shard) DO UPDATE
   SET followups_done = h.followups_done + EXCLUDED.followups_done,
       followups_on_time = h.followups_on_time + EXCLUDED.followups_on_time;
INSERT INTO kpi_work ({_WORK_COLUMNS}) {_CHECK_FACTS.format(source="resource_check_ledger AS w")};
INSERT INTO kpi_work ({_WORK_COLUMNS}) {_CIRCUIT_FACTS.format(source="circuit_ledger AS c")};
-- Their indexes, built once the rows are in.
CREATE INDEX ix_kpi_followup_ticket ON kpi_followup (ticket_no);
CREATE INDEX ix_kpi_followup_opened ON kpi_followup (opened_at);
CREATE INDEX ix_kpi_followup_open ON kpi_followup (opened_at) INCLUDE (due_at, priority) WHERE status = 'open';
CREATE INDEX ix_kpi_followup_person ON kpi_followup (person, opened_at);
CREATE INDEX ix_kpi_followup_customer ON kpi_followup (customer_id, opened_at);
CREATE INDEX ix_kpi_followup_candidate ON kpi_followup (candidate_department, opened_at);
CREATE INDEX ix_kpi_followup_lead ON kpi_followup (lead_department, opened_at);
CREATE INDEX ix_kpi_work_at ON kpi_work (kind, at) INCLUDE (on_time, outcome, cycle_seconds);
CREATE INDEX ix_kpi_work_customer ON kpi_work (customer_id, kind, at);
CREATE INDEX ix_kpi_work_workflow ON kpi_work (workflow_id);
ANALYZE kpi_followup;
ANALYZE kpi_work;

GRANT SELECT, INSERT, UPDATE, DELETE ON kpi_followup, kpi_work TO {APP_ROLE};
GRANT EXECUTE ON FUNCTION kpi_party(text, text), kpi_work_parties(text) TO {APP_ROLE};
"""

DOWNGRADE = """
DROP INDEX ix_kpi_ticket_cycle_registered_callback;
DROP INDEX ix_kpi_ticket_cycle_registered_handler;
DROP INDEX ix_kpi_ticket_cycle_registered_lead;
DROP INDEX ix_kpi_ticket_cycle_registered_candidate;
DROP TRIGGER kpi_work_task_changed ON human_task;
DROP TRIGGER kpi_work_task_new ON human_task;
DROP FUNCTION kpi_work_tasks();
DROP TRIGGER kpi_circuit_order_changed ON service_order;
DROP TRIGGER kpi_circuit_order_new ON service_order;
DROP FUNCTION kpi_circuit_order();
DROP TRIGGER kpi_check_workflow ON resource_check;
DROP FUNCTION kpi_check_workflow();
DROP TRIGGER kpi_circuit_facts ON circuit_ledger;
DROP FUNCTION kpi_circuit_facts();
DROP TRIGGER kpi_check_facts ON resource_check_ledger;
DROP FUNCTION kpi_check_facts();
DROP TABLE kpi_work;
DROP FUNCTION kpi_work_parties(text);
DROP FUNCTION kpi_party(text, text);
DROP TRIGGER kpi_followup_ticket_gone ON kpi_ticket_cycle;
DROP TRIGGER kpi_followup_ticket_changed ON kpi_ticket_cycle;
DROP TRIGGER kpi_followup_ticket_new ON kpi_ticket_cycle;
DROP FUNCTION kpi_followup_ticket();
DROP TRIGGER kpi_followup_gone ON human_task;
DROP TRIGGER kpi_followup_facts ON human_task;
DROP FUNCTION kpi_followup_facts();
DROP TABLE kpi_followup;
DROP FUNCTION kpi_followup_rollup();
ALTER TABLE kpi_ticket_hour DROP COLUMN followups_on_time, DROP COLUMN followups_done;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
