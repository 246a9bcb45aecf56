"""Hypothesis strategies for the fuzz run: request bodies from the app's OpenAPI schemas, and valid examples with
one field swapped for a hostile value (NUL and other controls, huge numbers, dates past year 9999, wrong types)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

HOSTILE: tuple[Any, ...] = (
    "\x00",
    "客户 13812345678 说\x00",
    "bell\x07",
    "\x1b[2J",
    "",
    " ",
    "x" * 5000,
    "'; DROP TABLE ticket; --",
    "１３８１２３４５６７８",
    "9999-12-31T23:59:00Z",
    "0001-01-01T00:00:00Z",
    "2026-02-30T25:61:00+08:00",
    "2026-06-01T09:00:00",
    0,
    -1,
    2**31,
    2**63,
    10**30,
    1e15,
    -1e308,
    0.5,
    True,
    None,
    [],
    {},
)
_INSTANTS = ("2026-12-01T09:00:00+08:00", "2099-12-31T00:00:00Z", "9999-12-31T23:59:00Z", "1970-01-01T00:00:00Z")
_MAX_DEPTH = 6


@dataclass
class SchemaStrategies:
    """Builds a strategy for any schema of one OpenAPI document (refs resolved against its components)."""

    components: dict[str, Any]
    _cache: dict[str, Any] = field(default_factory=dict)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The schema a $ref points to (or the schema itself)."""
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def of(self, schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
        """Values mostly shaped like `schema`, with hostile values mixed in at every level."""
        hostile = st.sampled_from(HOSTILE)
        if depth > _MAX_DEPTH:
            return hostile
        schema = self.resolve(schema)
        shaped = self._shaped(schema, depth)
        return st.one_of(shaped, shaped, shaped, hostile)

    def _shaped(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        if "const" in schema:
            return st.just(schema["const"])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                return st.one_of([self.of(s, depth + 1) for s in schema[key]])
        kind = schema.get("type")
        if isinstance(kind, list):
            return st.one_of([self._shaped({**schema, "type": k}, depth) for k in kind])
        if kind == "object" or "properties" in schema:
            return self._object(schema, depth)
        if kind == "array":
            items = self.of(schema.get("items", {}), depth + 1)
            return st.lists(items, max_size=min(3, schema.get("maxItems", 3)))
        if kind == "string":
            if schema.get("format") == "date-time":
                return st.sampled_from(_INSTANTS)
            if schema.get("format") == "date":
                return st.sampled_from(("2027-03-01", "9999-12-31", "2026-02-30"))
            return st.text(max_size=min(40, schema.get("maxLength", 40)))
        if kind == "integer":
            return st.integers(min_value=schema.get("minimum", -5), max_value=schema.get("maximum", 5) + 5)
        if kind == "number":
            return st.sampled_from((0.5, 1.0, 4.0, 24.0, 1e6))
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        return st.sampled_from(HOSTILE)

    def _object(self, schema: dict[str, Any], depth: int) -> st.SearchStrategy[dict[str, Any]]:
        properties: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", ()))

        @st.composite
        def build(draw: st.DrawFn) -> dict[str, Any]:
            body = {}
            for name, sub in properties.items():
                if name in required or draw(st.booleans()):
                    body[name] = draw(self.of(sub, depth + 1))
            return body

        return build()


def leaves(value: Any, where: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every leaf of a JSON document."""
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in leaves(v, (*where, k))]
    if isinstance(value, list) and value:
        return [p for i, v in enumerate(value) for p in leaves(v, (*where, i))]
    return [where]


def replaced(value: Any, where: tuple[Any, ...], new: Any) -> Any:
    """A copy of `value` with the leaf at `where` replaced by `new`."""
    if not where:
        return new
    head, rest = where[0], where[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = replaced(copy[head], rest, new)
    return copy


def mutations(example: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The valid example, or it with one leaf swapped for a hostile value."""
    paths = leaves(example)
    swapped = st.builds(lambda p, v: replaced(example, p, v), st.sampled_from(paths), st.sampled_from(HOSTILE))
    return st.one_of(st.just(example), swapped, swapped, swapped)
