"""The journal anchor's payloads: (row id, row hash) pairs of the audit chain, recorded in Temporal.

The JournalAnchor workflow (workflows/journal_anchor.py) asks for the chain's head every few minutes and
keeps the newest anchors in its state, carried across continue-as-new; `/api/audit/verify` checks the chain
against them, so a chain rewritten and re-sealed inside PostgreSQL no longer matches what Temporal saw.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

JOURNAL_HEAD = "journal_head"  # the activity
ANCHORS_QUERY = "anchors"
KEPT_ANCHORS = 50  # the newest anchor covers every row before it; a few more survive a lost tail


class JournalAnchor(BaseModel):
    """One (row id, row hash) pair of the chain as it was when recorded."""

    model_config = ConfigDict(frozen=True)

    row_id: int
    row_hash: str


class JournalHead(BaseModel):
    """The activity's answer: the newest row as an anchor, or none while the journal is empty."""

    model_config = ConfigDict(frozen=True)

    anchor: JournalAnchor | None = None


class AnchorState(BaseModel):
    """The workflow's input and what it carries across continue-as-new."""

    interval_minutes: int = Field(default=10, ge=1)
    rounds_per_run: int = Field(default=144, ge=1)  # then continue-as-new, keeping the history short
    anchors: list[JournalAnchor] = Field(default_factory=list)
