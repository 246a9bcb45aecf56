"""Versioned specs are parsed once per version: a version seen before is not parsed again, a newer one is read."""

from __future__ import annotations

import uuid
from typing import Any

from db.models import AssignmentRulesVersion
from db.policies import latest_parsed, next_version
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
        assert await latest_parsed(session, AssignmentRulesVersion, name, dict) == {"marker": "second"}
