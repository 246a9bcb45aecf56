"""Request and response bodies shared by several routers."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.tasks.completion import TaskCompletion
from core.bounds import MAX_INT
from db.models import TaskFields

T = TypeVar("T")

# Paging and version numbers: bounded once here, so no number reaches the database beyond its integer range.
Offset = Annotated[int, Query(ge=0, le=MAX_INT, description="items to skip")]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_INT, description="a version number")]


class Page(BaseModel, Generic[T]):
    """A page of results with the total count."""

    items: list[T]
    total: int = Field(description="items matching the query; the count cap when `total_capped`")
    offset: int
    limit: int
    total_capped: bool = Field(
        default=False, description="true: more items match than the count cap (LIST_COUNT_CAP), `total` is the cap"
    )


class Message(BaseModel):
    """A plain message."""

    detail: str


class TaskView(TaskFields):
    """A human task as inboxes show it."""

    # Every field is always in the answer: the schema says so even for those with a default. (SQLModel types
    # model_config as its own SQLModelConfig, a ConfigDict it does not export.)
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)  # type: ignore[assignment]

    overdue: bool
    completion: TaskCompletion  # how the task is completed: its decision outcomes, or the act (route, fields)
