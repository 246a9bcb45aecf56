"""The audit journal: append-only rows for every human act, accepted or refused, chained by hash.

Each row stores `prev_hash` (its predecessor's `row_hash`) and `row_hash` = SHA-256 over the previous
hash and a canonical serialisation of the row's content, so altering, removing or inserting a row
breaks the chain at that point. `append` is the single write path; a database trigger refuses
UPDATE, DELETE and TRUNCATE. The serialisation is a stored format: changing it breaks every chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import RowMapping, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.records import AuditRecord
from db.models import AuditEntry

GENESIS = "0" * 64
HASHED = (
    "at",
    "actor",
    "actor_roles",
    "action",
    "subject_type",
    "subject_id",
    "workflow_id",
    "outcome",
    "reason",
    "request_id",
    "details",
)
# Serialises appends (transaction-scoped advisory lock) so the chain stays linear under concurrency.
_CHAIN_LOCK = int.from_bytes(hashlib.sha256(b"kexiang audit_entry chain").digest()[:8], "big", signed=True)
_BATCH = 1000


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def row_digest(content: Mapping[str, Any] | RowMapping, prev_hash: str) -> str:
    """The row_hash of a row with this content following a row whose hash is prev_hash."""
    document = {name: content[name] for name in HASHED}
    document["at"] = _utc(content["at"]).isoformat(timespec="microseconds")
    document["actor_roles"] = list(content["actor_roles"])
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


async def append(session: AsyncSession, record: AuditRecord) -> None:
    """Add one journal row, chained to the last; a repeated request id writes nothing (the caller commits)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    if (
        await session.scalar(select(col(AuditEntry.id)).where(col(AuditEntry.request_id) == record.request_id))
        is not None
    ):
        return
    values = record.model_dump()
    values["at"] = _utc(record.at)
    values["actor_roles"] = list(record.actor_roles)
    values["details"] = record.model_dump(mode="json")["details"]  # stored exactly as hashed
    last = await session.scalar(select(col(AuditEntry.row_hash)).order_by(col(AuditEntry.id).desc()).limit(1))
    values["prev_hash"] = last or GENESIS
    values["row_hash"] = row_digest(values, values["prev_hash"])
    await session.execute(insert(AuditEntry).values(**values).on_conflict_do_nothing(index_elements=["request_id"]))


class ChainCheck(BaseModel):
    """The outcome of walking the chain: the first broken link, if any, and the head to note down."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str | None = None
    head_id: int | None = None
    head_hash: str | None = None


async def verify_chain(session: AsyncSession) -> ChainCheck:
    """Walk the journal in id order and report the first row whose link or content does not check out."""
    columns = [col(getattr(AuditEntry, n)) for n in ("id", "prev_hash", "row_hash", *HASHED)]
    previous, last_id, checked = GENESIS, 0, 0
    while True:
        rows = (
            (
                await session.execute(
                    select(*columns).where(col(AuditEntry.id) > last_id).order_by(col(AuditEntry.id)).limit(_BATCH)
                )
            )
            .mappings()
            .all()
        )
        for row in rows:
            checked += 1
            if row["prev_hash"] != previous:
                reason = (
                    "prev_hash differs from the previous row's row_hash:"
                    " a row before it was removed, inserted or re-sealed"
                )
                return ChainCheck(ok=False, checked=checked, broken_id=row["id"], reason=reason)
            if row["row_hash"] != row_digest(row, row["prev_hash"]):
                reason = "row_hash does not match the row's content: the row was altered"
                return ChainCheck(ok=False, checked=checked, broken_id=row["id"], reason=reason)
            previous, last_id = row["row_hash"], row["id"]
        if len(rows) < _BATCH:
            return ChainCheck(
                ok=True, checked=checked, head_id=last_id or None, head_hash=previous if checked else None
            )
