"""What changes between two versions of a versioned document (SLA policy, assignment or provisioning rules).

Both sides are the documents as stored (JSON), flattened to leaves named by their path (`priorities.urgent.
response.amount`, `rules[2].department`); a change is a leaf added, removed or given another value. The name and
version number are the document's identity, not its content, and are left out.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

IDENTITY = ("name", "version")


class Change(BaseModel):
    """One leaf of a document that differs between two versions (`before`/`after` None: absent on that side)."""

    path: str
    kind: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None


def leaves(value: Any, path: str = "") -> dict[str, Any]:
    """Every scalar of a JSON value by its path; an empty object or list is a leaf of its own."""
    if isinstance(value, dict) and value:
        found: dict[str, Any] = {}
        for key, item in value.items():
            found |= leaves(item, f"{path}.{key}" if path else str(key))
        return found
    if isinstance(value, list) and value:
        found = {}
        for index, item in enumerate(value):
            found |= leaves(item, f"{path}[{index}]")
        return found
    return {path: value}


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """The leaves that differ between two documents, in path order (identity fields left out)."""
    old = leaves({k: v for k, v in before.items() if k not in IDENTITY})
    new = leaves({k: v for k, v in after.items() if k not in IDENTITY})
    found = []
    for path in sorted(old.keys() | new.keys()):
        if path not in new:
            found.append(Change(path=path, kind="removed", before=old[path]))
        elif path not in old:
            found.append(Change(path=path, kind="added", after=new[path]))
        elif old[path] != new[path] or type(old[path]) is not type(new[path]):
            found.append(Change(path=path, kind="changed", before=old[path], after=new[path]))
    return found
