"""The journal anchor's activity: read the audit chain's head (the JournalAnchor workflow records it)."""

from __future__ import annotations

from temporalio import activity

from core.journal_anchor import JOURNAL_HEAD, JournalHead
from db import audit as audit_journal
from db.session import Database


class JournalAnchorActivities:
    """Bound to the application database; reads only."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name=JOURNAL_HEAD)
    async def journal_head(self) -> JournalHead:
        """The newest journal row's id and hash (no anchor while the journal is empty)."""
        async with self._db.session() as session:
            return JournalHead(anchor=await audit_journal.head(session))
