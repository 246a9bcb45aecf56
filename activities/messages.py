"""Message-thread activities: the read model, the act's audit row and the reply to the customer, in one transaction."""

from __future__ import annotations

from temporalio import activity

from core.messages import ThreadSave
from db import audit as audit_journal
from db.customer_messages import queue_thread_reply
from db.messages import upsert_thread
from db.session import Database
from workflows.common import RECORD_MESSAGE_THREAD


class MessageActivities:
    """Activities bound to the application database; every write is idempotent."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name=RECORD_MESSAGE_THREAD)
    async def record_message_thread(self, save: ThreadSave) -> ThreadSave:
        """Write the thread (newer revisions only), the audit row and, when asked, queue the reply to the customer."""
        async with self._db.session() as session:
            await upsert_thread(session, save.thread)
            if save.audit is not None:
                await audit_journal.append(session, save.audit)
            if save.send is not None:
                await queue_thread_reply(session, save.thread, save.send)
            await session.commit()
        return save  # what was written: a local activity's input is not in the history
