"""survey links rebuildable from their run are void; archived free text masked

Until the survey-secret-from-activity patch the ServiceTicket workflow drew each survey secret from its run's
seed, so anyone who can read the run (auditors, the Temporal UI) could rebuild the link: every survey row so far
is such a link and is deleted. A ticket whose survey was still open gets the rating follow-up task, as after
any customer's silence. Run before the new worker starts (make run and the compose migrate job do).

Knowledge-base entries archived before free text was masked get their contact details masked and re-indexed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:00:00
"""

import sqlalchemy as sa
from alembic import op

from core.contacts import mask_contacts
from db.knowledge import MASKED_TEXTS, entry_terms

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM survey")
    conn = op.get_bind()
    entries = conn.execute(sa.text("SELECT * FROM knowledge_entry")).mappings().all()
    for entry in entries:
        masked = {**entry, **{k: mask_contacts(entry[k] or "") for k in MASKED_TEXTS}}
        conn.execute(
            sa.text(
                "UPDATE knowledge_entry SET title = :title, symptom = :symptom, cause = :cause,"
                " solution = :solution, advice = :advice, search_terms = :terms WHERE ticket_no = :ticket_no"
            ),
            {**{k: masked[k] for k in (*MASKED_TEXTS, "ticket_no")}, "terms": entry_terms(masked)},
        )


def downgrade() -> None:
    """Nothing to restore: void links and clear text are gone for good."""
