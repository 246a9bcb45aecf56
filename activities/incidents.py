"""Incident activities: the policy, the read model (with notices and holding messages), the detection on ticket
intake, and resolving the linked tickets through their own acts.

The detection and the resolution talk to Temporal (start an incident, send a ticket its `resolve` act), so this
class holds the worker's client besides the database. Every write is idempotent: a retried activity writes each
row once, and a retried act carries the same update id, which Temporal deduplicates.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

from core.incidents import (
    ACTIVE_STATUSES,
    POLICY_NAME,
    WORKFLOW_TYPE,
    Incident,
    IncidentInput,
    IncidentMatch,
    IncidentPolicy,
    IncidentProbe,
    IncidentSave,
    LinkTicket,
    TicketResolution,
    TicketResult,
    workflow_id_for,
)
from core.records import AuditRecord
from core.roles import SYSTEM_ACTOR, Actor
from core.tasks import RefusalCode
from core.tickets import PAUSED, ActOutcome, Channel, Resolution, Resolve, Resume, Ticket
from db import audit as audit_journal
from db.customer_messages import queue_holding_message
from db.incidents import (
    latest_incident_policy,
    link_tickets,
    lock_signature,
    open_incident_for,
    tickets_with_signature,
    upsert_incident,
)
from db.models import Notification, TicketRow, utcnow
from db.outbox import enqueue_notification
from db.session import Database
from workflows.common import (
    BUSINESS_REF,
    DETECT_INCIDENT,
    LOAD_INCIDENT_POLICY,
    ORDER_KIND,
    RECORD_INCIDENT,
    RESOLVE_INCIDENT_TICKETS,
)

log = logging.getLogger("kexiang.incidents")


def incident_no_for(ticket_no: str) -> str:
    """The number of the incident a ticket's arrival declares: INC + the ticket's day and serial (one per ticket)."""
    return f"INC{ticket_no.removeprefix('CS')}"


def update_id(request_id: str) -> str:
    """The update id of an act this module sends: a UUID derived from its request id (a retry sends the same)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kexiang:{request_id}"))


def incident_attributes(incident_no: str) -> TypedSearchAttributes:
    """The search attributes an incident workflow starts with (opaque references only)."""
    return TypedSearchAttributes(
        [SearchAttributePair(ORDER_KIND, "incident"), SearchAttributePair(BUSINESS_REF, incident_no)]
    )


class IncidentActivities:
    """Bound to the database and the worker's Temporal client."""

    def __init__(self, db: Database, client: Client) -> None:
        self._db = db
        self._client = client

    @activity.defn(name=LOAD_INCIDENT_POLICY)
    async def load_incident_policy(self, name: str) -> IncidentPolicy:
        """The latest version of the incident policy (a new incident keeps it for its whole life)."""
        async with self._db.session() as session:
            policy = await latest_incident_policy(session, name)
        if policy is None:
            raise ApplicationError(f"incident policy {name} does not exist", type="PolicyMissing", non_retryable=True)
        return policy

    @activity.defn(name=RECORD_INCIDENT)
    async def record_incident(self, save: IncidentSave) -> IncidentSave:
        """Write the incident, its links, the act's audit row, the staff notices and holding messages, at once."""
        incident = save.incident
        async with self._db.session() as session:
            await upsert_incident(session, incident)
            if save.audit is not None:
                await audit_journal.append(session, save.audit)
            for notice in save.notifications:
                await session.execute(
                    insert(Notification).values(**notice.model_dump()).on_conflict_do_nothing(index_elements=["key"])
                )
                await enqueue_notification(session, notice)
            for ticket_no in save.holding:
                await self._hold(session, incident, ticket_no)
            await session.commit()
        return save  # what was written: a local activity's input is not in the history

    async def _hold(self, session: AsyncSession, incident: Incident, ticket_no: str) -> None:
        """Queue the holding message to a linked ticket's customer (once per incident and ticket)."""
        row = await session.get(TicketRow, ticket_no)
        if row is None:
            return
        await queue_holding_message(
            session, Ticket.model_validate(row.detail), key=f"{incident.workflow_id}:holding:{ticket_no}"
        )

    @activity.defn(name=DETECT_INCIDENT)
    async def detect_incident(self, probe: IncidentProbe) -> IncidentMatch | None:
        """Join the signature's active incident, or declare one when the window holds the policy's number of tickets."""
        signature = probe.signature
        async with self._db.session() as session:
            policy = await latest_incident_policy(session, POLICY_NAME)
            if policy is None:
                return None
            await lock_signature(session, signature)
            active = tuple(s.value for s in ACTIVE_STATUSES)
            if (existing := await open_incident_for(session, signature, active)) is not None:
                await session.commit()
                await self._join(existing, probe.ticket_no)
                return IncidentMatch(incident_no=existing, declared=False)
            detection = policy.detection
            window = timedelta(minutes=detection.window_minutes)
            tickets = await tickets_with_signature(session, signature, probe.at, window)
            if len(tickets) < detection.threshold or probe.ticket_no not in tickets:
                return None
            incident_no = incident_no_for(probe.ticket_no)
            start = IncidentInput(
                incident_no=incident_no,
                incident_class=detection.incident_class,
                level=detection.level,
                title=f"{len(tickets)} tickets within {detection.window_minutes} min: circuit {signature.circuit_id}, "
                f"service {signature.service}",
                signature=signature,
                tickets=tuple(tickets),
                declared_by=Actor(username=SYSTEM_ACTOR),
                automatic=True,
                request_id=f"incident-detect:{probe.ticket_no}",
            )
            first = Incident(
                incident_no=incident_no,
                workflow_id=workflow_id_for(incident_no),
                incident_class=start.incident_class,
                level=start.level,
                title=start.title,
                signature=signature,
                automatic=True,
                declared_by=SYSTEM_ACTOR,
                created_at=utcnow(),
            )
            # The row and links first (a concurrent detection waits on the lock, then joins), then the workflow.
            await upsert_incident(session, first)
            await link_tickets(session, incident_no, [(no, utcnow()) for no in tickets])
            with contextlib.suppress(WorkflowAlreadyStartedError):  # a retry: the first attempt started it
                await self._client.start_workflow(
                    WORKFLOW_TYPE,
                    start,
                    id=first.workflow_id,
                    task_queue=activity.info().task_queue,
                    search_attributes=incident_attributes(incident_no),
                )
            await session.commit()
        log.info("incident %s declared by %d tickets of one signature", incident_no, len(tickets))
        return IncidentMatch(incident_no=incident_no, declared=True)

    async def _join(self, incident_no: str, ticket_no: str) -> None:
        """Link a ticket to the active incident through its `link_ticket` act (by the system, journaled)."""
        request_id = f"incident-link:{incident_no}:{ticket_no}"
        act = LinkTicket(request_id=request_id, actor=Actor(username=SYSTEM_ACTOR), ticket_no=ticket_no)
        handle = self._client.get_workflow_handle(workflow_id_for(incident_no))
        try:
            await handle.execute_update("act", act, id=update_id(request_id))
        except WorkflowUpdateFailedError as err:  # already linked (a retry), or the incident moved on meanwhile
            log.info("ticket %s not linked to %s: %s", ticket_no, incident_no, _reason(err))

    @activity.defn(name=RESOLVE_INCIDENT_TICKETS)
    async def resolve_incident_tickets(self, job: TicketResolution) -> list[TicketResult]:
        """Resolve each linked ticket through its own `resolve` act (resuming a paused one first), as `job.actor`."""
        results = []
        async with self._db.session() as session:
            rows = {
                r.ticket_no: r
                for r in await session.scalars(select(TicketRow).where(col(TicketRow.ticket_no).in_(job.tickets)))
            }
        for ticket_no in job.tickets:
            row = rows.get(ticket_no)
            if row is None:
                results.append(TicketResult(ticket_no=ticket_no, resolved=False, result="no such ticket"))
                continue
            results.append(await self._resolve(job, Ticket.model_validate(row.detail)))
        return results

    async def _resolve(self, job: TicketResolution, ticket: Ticket) -> TicketResult:
        handle = self._client.get_workflow_handle(ticket.workflow_id)
        prefix = f"incident:{job.incident_no}:{ticket.ticket_no}"
        intake = ticket.intake
        channel = intake.preferred_channel or intake.channel or Channel.PHONE
        resolve = Resolve(
            request_id=f"{prefix}:resolve",
            actor=job.actor,
            resolution=Resolution(
                cause=job.cause[:2000], solution=job.solution[:4000], advice=job.advice[:2000], channel=channel
            ),
        )
        try:
            if ticket.status in PAUSED:
                resume = Resume(request_id=f"{prefix}:resume", actor=job.actor, note=f"incident {job.incident_no}")
                await handle.execute_update("act", resume, id=update_id(resume.request_id), result_type=ActOutcome)
            await handle.execute_update("act", resolve, id=update_id(resolve.request_id), result_type=ActOutcome)
        except WorkflowUpdateFailedError as err:
            reason = _reason(err)
            await self._journal_refusal(job, ticket, reason, resolve.request_id)
            return TicketResult(ticket_no=ticket.ticket_no, resolved=False, result=f"refused: {reason}")
        except RPCError as err:  # the ticket's workflow is gone (closed and past its reopen window)
            return TicketResult(ticket_no=ticket.ticket_no, resolved=False, result=f"not reachable: {err.message}")
        return TicketResult(ticket_no=ticket.ticket_no, resolved=True, result="resolved")

    async def _journal_refusal(self, job: TicketResolution, ticket: Ticket, reason: str, request_id: str) -> None:
        """A ticket that refused the joint resolution: journaled against the person, like any refused act."""
        async with self._db.session() as session:
            await audit_journal.append(
                session,
                AuditRecord.by(
                    job.actor,
                    "ticket.resolve",
                    "ticket",
                    ticket.ticket_no,
                    at=utcnow(),
                    request_id=f"refused:{request_id}",
                    workflow_id=ticket.workflow_id,
                    reason=reason,
                    outcome="refused",
                    details={"incident": job.incident_no},
                ),
            )
            await session.commit()


def _reason(err: WorkflowUpdateFailedError) -> str:
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type in {c.value for c in RefusalCode}:
        return cause.message
    return str(cause or err)
