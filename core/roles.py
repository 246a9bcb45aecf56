"""Roles and the identity of whoever performs a human act."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    """What a user may do; a user holds one or more roles."""

    AGENT = "agent"
    ENGINEER = "engineer"
    SUPERVISOR = "supervisor"
    COORDINATOR = "coordinator"
    DEPARTMENT = "department"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    ADMIN = "admin"


SYSTEM_ACTOR = "system"
GROUP_CUSTOMER = "group-customer"  # the group-customer department: raises pre-sales demands, signs the contracts


class Actor(BaseModel):
    """The person behind a message: carried into every update so history records who acted."""

    model_config = ConfigDict(frozen=True)

    username: str = Field(min_length=1, max_length=64)
    roles: tuple[Role, ...] = ()
    department: str | None = None

    def has_role(self, *roles: Role) -> bool:
        """True when the actor holds any of the given roles."""
        return any(role in self.roles for role in roles)

    def in_department(self, department: str) -> bool:
        """True for the staff of that department (department role and membership)."""
        return self.has_role(Role.DEPARTMENT) and self.department == department
