"""The audit journal: append-only rows for every human act, accepted or refused, chained by keyed hash.

Each row stores `prev_hash` (its predecessor's `row_hash`) and `row_hash` = HMAC-SHA256, under the key
named by the row's `key_id`, over the previous hash and a canonical serialisation of the row's content,
so altering, removing or inserting a row breaks the chain at that point, and re-sealing needs the key.
Rows written before keys existed have no key id and a plain SHA-256; none may follow a keyed row.
`append` is the single write path; the app's database role may only INSERT and SELECT the table
(db/roles.py) and a trigger refuses UPDATE, DELETE and TRUNCATE. Anchors (the JournalAnchor workflow's
record of (row id, row hash) in Temporal) catch a chain re-sealed by someone holding the key and the owner
role. The serialisation is a stored format: changing it breaks every chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import RowMapping, Table, bindparam, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.journal_anchor import JournalAnchor
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
JOURNAL_KEYS = "kexiang.journal_keys"  # the session.info entry holding {key id: HMAC key}, current first


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def row_digest(content: Mapping[str, Any] | RowMapping, prev_hash: str, key: bytes | None = None) -> str:
    """The row_hash of a row with this content following a row whose hash is prev_hash (unkeyed: pre-key rows)."""
    document = {name: content[name] for name in HASHED}
    document["at"] = _utc(content["at"]).isoformat(timespec="microseconds")
    document["actor_roles"] = list(content["actor_roles"])
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    message = f"{prev_hash}\n{canonical}".encode()
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def session_info(keys: Mapping[str, bytes]) -> dict[str, Any]:
    """What a session factory carries so `append` and `verify_chain` find the chain keys (db/session.py)."""
    if not keys:
        raise ValueError("the journal key ring is empty")
    return {JOURNAL_KEYS: dict(keys)}


def _keys(session: AsyncSession) -> dict[str, bytes]:
    keys: dict[str, bytes] | None = session.info.get(JOURNAL_KEYS)
    if not keys:
        raise RuntimeError(
            "this session has no journal keys: build Database(..., journal_keys=settings.journal_key_ring)"
        )
    return keys


# The append's statements, built once with their values bound at execution (no statement rebuilt per row).
_ROWS: Table = AuditEntry.__table__  # type: ignore[attr-defined]  # SQLModel tables carry their Table
_LOCK_CHAIN = text("SELECT pg_advisory_xact_lock(:key)")
_CHAIN_HEAD = select(_ROWS.c.row_hash).order_by(_ROWS.c.id.desc()).limit(1)
_INSERT_ROW = insert(_ROWS).on_conflict_do_nothing(index_elements=["request_id"])


async def append(session: AsyncSession, record: AuditRecord) -> None:
    """Add one journal row sealed with the current key, chained to the last; a repeated request id writes nothing.

    A repeat is left to the insert's ON CONFLICT on the unique request id (its seal is computed and dropped, the chain
    does not move), which saves a look-up on every append while the chain lock is held.
    """
    key_id, key = next(iter(_keys(session).items()))
    await session.execute(_LOCK_CHAIN, {"key": _CHAIN_LOCK})
    values = record.model_dump()
    values["at"] = _utc(record.at)
    values["actor_roles"] = list(record.actor_roles)
    values["details"] = record.model_dump(mode="json")["details"]  # stored exactly as hashed
    last = await session.scalar(_CHAIN_HEAD)
    values["prev_hash"] = last or GENESIS
    values["key_id"] = key_id
    values["row_hash"] = row_digest(values, values["prev_hash"], key)
    await session.execute(_INSERT_ROW, values)


_JOURNALED = select(_ROWS.c.id).where(_ROWS.c.request_id == bindparam("request_id")).limit(1)


async def append_unless_journaled(session: AsyncSession, record: AuditRecord) -> None:
    """`append` a record that is usually journaled already (a create the API journaled as it started the workflow
    that journals it again): looked up by its request id first, so the usual case takes no chain lock and seals
    nothing; appended when missing (the workflow started but the API's commit did not happen, or has not yet)."""
    if await session.scalar(_JOURNALED, {"request_id": record.request_id}) is None:
        await append(session, record)


class ChainCheck(BaseModel):
    """The outcome of walking the chain: the first broken link, if any, and the head to note down."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str | None = None
    head_id: int | None = None
    head_hash: str | None = None
    anchors_checked: int = 0


def _broken_row(row: RowMapping, previous: str, keys: Mapping[str, bytes], keyed: bool) -> str | None:
    """Why this row does not check out, or None."""
    if row["prev_hash"] != previous:
        return "prev_hash differs from the previous row's row_hash: a row before it was removed, inserted or re-sealed"
    if row["key_id"] is None and keyed:
        return "an unkeyed row after keyed rows: the chain was re-sealed without the key"
    if row["key_id"] is not None and row["key_id"] not in keys:
        return f"sealed with key id {row['key_id']!r}, which this server does not hold"
    key = None if row["key_id"] is None else keys[row["key_id"]]
    if not hmac.compare_digest(row["row_hash"], row_digest(row, row["prev_hash"], key)):
        return "row_hash does not match the row's content: the row was altered"
    return None


async def verify_chain(session: AsyncSession, anchors: Sequence[JournalAnchor] = ()) -> ChainCheck:
    """Walk the journal in id order and report the first row whose link, seal or anchor does not check out."""
    keys = session.info.get(JOURNAL_KEYS) or {}
    expected = {anchor.row_id: anchor.row_hash for anchor in anchors}
    columns = [col(getattr(AuditEntry, n)) for n in ("id", "prev_hash", "row_hash", "key_id", *HASHED)]
    previous, last_id, checked, keyed, anchored = GENESIS, 0, 0, False, 0
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
            if reason := _broken_row(row, previous, keys, keyed):
                return ChainCheck(
                    ok=False, checked=checked, broken_id=row["id"], reason=reason, anchors_checked=anchored
                )
            if row["id"] in expected:
                if expected.pop(row["id"]) != row["row_hash"]:
                    reason = (
                        "row_hash differs from the anchor recorded in Temporal: the chain was rewritten and re-sealed"
                    )
                    return ChainCheck(
                        ok=False, checked=checked, broken_id=row["id"], reason=reason, anchors_checked=anchored
                    )
                anchored += 1
            keyed = keyed or row["key_id"] is not None
            previous, last_id = row["row_hash"], row["id"]
        if len(rows) < _BATCH:
            break
    if expected:
        missing = min(expected)
        reason = f"row {missing} is anchored in Temporal but missing here: rows were removed and the chain re-sealed"
        return ChainCheck(ok=False, checked=checked, broken_id=missing, reason=reason, anchors_checked=anchored)
    return ChainCheck(
        ok=True,
        checked=checked,
        head_id=last_id or None,
        head_hash=previous if checked else None,
        anchors_checked=anchored,
    )


async def head(session: AsyncSession) -> JournalAnchor | None:
    """The newest row's id and hash (what the JournalAnchor workflow records)."""
    row = (
        await session.execute(
            select(col(AuditEntry.id), col(AuditEntry.row_hash)).order_by(col(AuditEntry.id).desc()).limit(1)
        )
    ).first()
    return JournalAnchor(row_id=row[0], row_hash=row[1]) if row else None
