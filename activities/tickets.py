"""Ticket activities: the ticket read model, the survey link and resolution message, the knowledge-base archive."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.platform import write_held_change
from api.tmf.events import publish_ticket_change
from core.records import AuditRecord, WriteEcho
from core.tickets import CREATE_ACTION, SurveyIssue, Ticket, TicketChange, TicketSave
from db import audit as audit_journal
from db import knowledge
from db.customer_messages import queue_resolution_message, queue_ticket_messages
from db.models import Survey
from db.session import Database
from db.surveys import new_token, token_hash
from db.tickets import upsert_ticket
from workflows.common import ARCHIVE_TICKET, ISSUE_SURVEY, RECORD_TICKET, RECORD_TICKET_CHANGE


class TicketActivities:
    """Activities bound to the application database; every write is idempotent."""

    def __init__(self, db: Database, *, survey_base_url: str) -> None:
        self._db = db
        self._survey_base_url = survey_base_url.rstrip("/")

    @activity.defn(name=RECORD_TICKET)
    async def record_ticket(self, save: TicketSave) -> TicketSave:
        """Write the ticket state (newer revisions only) and the act's audit row in one transaction."""
        async with self._db.session() as session:
            await _write_ticket(session, save)
            await session.commit()
        return save  # what was written: a local activity's input is not in the history

    @activity.defn(name=RECORD_TICKET_CHANGE)
    async def record_ticket_change(self, change: TicketChange) -> WriteEcho:
        """Write an act's task changes, the ticket, its survey and archive entry, then the audit rows, in one
        transaction; echo what the auditor's timeline reads, not the whole ticket."""

        async def write_ticket(session: AsyncSession) -> None:
            await _write_ticket(session, change, journal=False)
            if change.survey is not None:
                await self._queue_survey(session, change.survey)
            if change.archive:
                await knowledge.upsert_entry(session, change.ticket)

        return await write_held_change(self._db, change, write_ticket, journal=_journal)

    @activity.defn(name=ISSUE_SURVEY)
    async def issue_survey(self, issue: SurveyIssue) -> None:
        """Draw the survey secret, store its hash and queue the resolution message with the link to the customer.

        The clear secret goes only into the customer's message: it is never returned (the result would land in
        history), logged or journaled. A retry after a commit finds the message queued and draws nothing.
        """
        async with self._db.session() as session:
            await self._queue_survey(session, issue)
            await session.commit()

    async def _queue_survey(self, session: AsyncSession, issue: SurveyIssue) -> None:
        """The survey's hash stored and the resolution message queued in the caller's transaction (keyed)."""
        token = new_token()
        resolution = issue.resolution
        fields = {
            "ticket_no": issue.ticket_no,
            "cause": resolution.cause if resolution else issue.body,
            "solution": resolution.solution if resolution else "",
            "advice": resolution.advice if resolution else "",
            "survey_link": f"{self._survey_base_url}/{token}",
        }
        queued = await queue_resolution_message(
            session,
            ticket_no=issue.ticket_no,
            workflow_id=issue.workflow_id,
            key=f"{issue.workflow_id}:resolution:{issue.cycle}",
            preferred=issue.channel,
            fields=fields,
        )
        if queued:
            session.add(
                Survey(
                    token_hash=token_hash(token),
                    workflow_id=issue.workflow_id,
                    ticket_no=issue.ticket_no,
                    cycle=issue.cycle,
                )
            )

    @activity.defn(name=ARCHIVE_TICKET)
    async def archive_ticket(self, ticket: Ticket) -> None:
        """Archive the closed ticket into the knowledge base."""
        async with self._db.session() as session:
            await knowledge.upsert_entry(session, ticket)
            await session.commit()


async def _write_ticket(session: AsyncSession, save: TicketSave, *, journal: bool = True) -> None:
    """The ticket state (newer revisions only), its TMF621 events, its customer messages and (unless the caller
    appends it last itself: `journal=False`) the act's audit row."""
    await publish_ticket_change(session, save.ticket)  # TMF621 listeners, from the row before the write
    await upsert_ticket(session, save.ticket)
    await queue_ticket_messages(session, save.ticket)  # the ticket number, the second follow-up contact
    if journal and save.audit is not None:
        await _journal(session, save.audit)


async def _journal(session: AsyncSession, audit: AuditRecord) -> None:
    """Append an act's audit row; the create's, which the API journaled with the start, only when it is missing."""
    if audit.action == CREATE_ACTION:
        await audit_journal.append_unless_journaled(session, audit)
    else:
        await audit_journal.append(session, audit)
