"""Versioned specs are parsed once per version: a version seen before is not parsed again, a newer one is read."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from db.models import AssignmentRulesVersion
from db.policies import frozen_spec, latest_parsed, next_version, thawed
from db.session import Database


async def test_a_version_is_parsed_once_and_a_newer_one_is_read(db: Database) -> None:
    name = f"kx-test-cache-{uuid.uuid4().hex[:8]}"
    parsed: list[dict[str, Any]] = []

    def parse(spec: dict[str, Any]) -> dict[str, Any]:
        parsed.append(spec)
        return {**spec, "parsed": len(parsed)}

    async def publish(marker: str) -> None:
        async with db.session() as session:
            version = await next_version(session, AssignmentRulesVersion, name)
            session.add(AssignmentRulesVersion(name=name, version=version, spec={"marker": marker}, created_by="test"))
            await session.commit()

    async def latest() -> dict[str, Any] | None:
        async with db.session() as session:
            return await latest_parsed(session, AssignmentRulesVersion, name, parse)

    assert await latest() is None and parsed == []  # nothing published: nothing to parse
    await publish("first")
    assert await latest() == {"marker": "first", "parsed": 1}
    assert await latest() == {"marker": "first", "parsed": 1}  # the same version: not parsed again
    await publish("second")
    assert await latest() == {"marker": "second", "parsed": 2}  # the newer version is read at once
    assert [spec["marker"] for spec in parsed] == ["first", "second"]
    # Another parser of the same version gets its own result (the API and the worker share a process in tests).
    async with db.session() as session:
        assert await latest_parsed(session, AssignmentRulesVersion, name, frozen_spec) == {"marker": "second"}


async def test_the_kept_spec_is_read_only_for_every_caller(db: Database) -> None:
    name = f"kx-test-frozen-{uuid.uuid4().hex[:8]}"
    spec = {"rules": [{"category": "fault", "roles": ["engineer"]}], "coordinator_role": "supervisor"}
    async with db.session() as session:
        session.add(AssignmentRulesVersion(name=name, version=1, spec=spec, created_by="test"))
        await session.commit()
    async with db.session() as session:
        first = await latest_parsed(session, AssignmentRulesVersion, name, frozen_spec)
        second = await latest_parsed(session, AssignmentRulesVersion, name, frozen_spec)
    assert first is second and first is not None  # one kept value, handed to both callers
    with pytest.raises(TypeError):
        first["coordinator_role"] = "admin"  # type: ignore[index]
    with pytest.raises(TypeError):
        first["rules"][0]["roles"] = ["admin"]
    with pytest.raises(AttributeError):
        first["rules"].append({})
    mine = thawed(first)  # a caller that needs plain data gets its own copy
    mine["rules"][0]["roles"].append("admin")
    assert mine != spec and thawed(first) == spec


# A separate process publishing a version: its own interpreter, engine and connection (argv: URL, name, version, spec).
_INSERT_ELSEWHERE = """
import sys
from sqlalchemy import create_engine, text
with create_engine(sys.argv[1]).begin() as connection:
    connection.execute(
        text("INSERT INTO assignment_rules_version (name, version, spec, created_by, created_at)"
             " VALUES (:name, :version, CAST(:spec AS jsonb), 'replica', now())"),
        {"name": sys.argv[2], "version": int(sys.argv[3]), "spec": sys.argv[4]},
    )
"""


async def test_a_version_another_process_publishes_counts_at_once(db: Database, database_url: str) -> None:
    """A replica (here a separate Python process with its own connection) publishes; this process's very next read
    serves that version, though it had the previous one kept."""
    name = f"kx-test-replica-{uuid.uuid4().hex[:8]}"

    def publish_elsewhere(version: int, marker: str) -> None:
        spec = json.dumps({"marker": marker})
        subprocess.run([sys.executable, "-c", _INSERT_ELSEWHERE, database_url, name, str(version), spec], check=True)

    async def latest() -> Any:
        async with db.session() as session:
            return await latest_parsed(session, AssignmentRulesVersion, name, frozen_spec)

    publish_elsewhere(1, "first")
    assert await latest() == {"marker": "first"}
    publish_elsewhere(2, "second")
    assert await latest() == {"marker": "second"}


async def test_a_rebuilt_database_is_not_served_from_the_cache(db: Database, sync_session) -> None:
    """A database rebuilt from scratch starts its ids over: the same id, created at another instant, is another row."""
    name = f"kx-test-rebuilt-{uuid.uuid4().hex[:8]}"
    async with db.session() as session:
        session.add(AssignmentRulesVersion(name=name, version=1, spec={"marker": "before"}, created_by="test"))
        await session.commit()

    async def latest() -> Any:
        async with db.session() as session:
            return await latest_parsed(session, AssignmentRulesVersion, name, frozen_spec)

    assert await latest() == {"marker": "before"}
    with sync_session() as s:  # the rebuild: the row goes, another takes its id with a later creation instant
        row_id, created_at = s.execute(
            text("DELETE FROM assignment_rules_version WHERE name = :n RETURNING id, created_at"), {"n": name}
        ).one()
        s.execute(
            text(
                "INSERT INTO assignment_rules_version (id, name, version, spec, created_by, created_at)"
                " VALUES (:id, :n, 1, CAST(:s AS jsonb), 'rebuild', :at)"
            ),
            {"id": row_id, "n": name, "s": '{"marker": "after"}', "at": created_at + timedelta(seconds=1)},
        )
        s.commit()
    assert await latest() == {"marker": "after"}
