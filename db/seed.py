"""Default data: the default business calendar and SLA policy, and demo users in dev."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from core.calendar import default_cn_calendar
from core.provisioning import default_provisioning_rules
from core.roles import Role
from core.sla import default_sla_policy
from core.tickets import default_assignment_rules
from db.models import (
    AssignmentRulesVersion,
    CalendarVersion,
    ProvisioningRulesVersion,
    SlaPolicyVersion,
    User,
    VersionedSpec,
)
from infra.security import hash_password

DEMO_PASSWORD = "kexiang-demo"

# username, full name, roles, department
DEMO_USERS: tuple[tuple[str, str, tuple[Role, ...], str | None], ...] = (
    ("admin", "Administrator", (Role.ADMIN,), None),
    ("agent1", "客服专员 Agent One", (Role.AGENT,), None),
    ("engineer1", "硬件工程师 Engineer One", (Role.ENGINEER,), "hardware-engineering"),
    ("engineer2", "软件工程师 Engineer Two", (Role.ENGINEER,), "software-engineering"),
    ("presales1", "产品支持专员 Product Support", (Role.ENGINEER,), "product-support"),
    ("supervisor1", "服务主管 Supervisor One", (Role.SUPERVISOR,), None),
    ("supervisor2", "服务主管 Supervisor Two", (Role.SUPERVISOR,), None),
    ("coordinator1", "客户响应岗 Coordinator One", (Role.COORDINATOR,), None),
    ("ops1", "运维部 Operations", (Role.DEPARTMENT,), "operations"),
    ("fixed1", "固网 Fixed Network", (Role.DEPARTMENT,), "fixed-network"),
    ("mobile1", "移动网 Mobile Network", (Role.DEPARTMENT,), "mobile-network"),
    ("build1", "网络建设部 Construction", (Role.DEPARTMENT,), "construction"),
    ("procure1", "物资采购部 Procurement", (Role.DEPARTMENT,), "procurement"),
    ("hqops1", "总部运维部 HQ Operations", (Role.DEPARTMENT,), "hq-operations"),
    ("gcd1", "集团客户部 Group Customers", (Role.DEPARTMENT,), "group-customer"),
    ("mobilehead", "移动网负责人 Mobile Network Head", (Role.DEPARTMENT,), "mobile-network"),
    ("fixedhead", "固网负责人 Fixed Network Head", (Role.DEPARTMENT,), "fixed-network"),
    ("opshead", "运维部负责人 Operations Head", (Role.DEPARTMENT,), "operations"),
    ("reviewer1", "省公司集团客户响应中心 Reviewer", (Role.REVIEWER,), None),
    ("auditor1", "Auditor One", (Role.AUDITOR,), None),
)


def seed_defaults(session: Session, *, calendar_name: str, policy_name: str, demo_users: bool) -> list[str]:
    """Insert whatever default rows are missing; returns what it created. Safe to run repeatedly."""
    created: list[str] = []
    # Version 1 of each default document; the calendar and the SLA policy also carry their name and version.
    calendar = default_cn_calendar().model_dump(mode="json") | {"name": calendar_name, "version": 1}
    policy = default_sla_policy().model_dump(mode="json") | {"name": policy_name, "version": 1}
    assignment = default_assignment_rules().model_dump(mode="json")
    provisioning = default_provisioning_rules().model_dump(mode="json")
    defaults: list[tuple[type[VersionedSpec], str, str, dict[str, Any]]] = [
        (CalendarVersion, "calendar", calendar_name, calendar),
        (SlaPolicyVersion, "sla policy", policy_name, policy),
        (AssignmentRulesVersion, "assignment rules", "default", assignment),
        (ProvisioningRulesVersion, "provisioning rules", "default", provisioning),
    ]
    for table, noun, name, spec in defaults:
        if session.scalar(select(table).where(col(table.name) == name).limit(1)) is None:
            session.add(table(name=name, version=1, spec=spec, created_by="system"))
            created.append(f"{noun} {name} v1")
    if demo_users:
        existing = set(session.scalars(select(col(User.username))))
        password_hash = hash_password(DEMO_PASSWORD)
        for username, full_name, roles, department in DEMO_USERS:
            if username not in existing:
                session.add(
                    User(
                        username=username,
                        full_name=full_name,
                        password_hash=password_hash,
                        roles=[r.value for r in roles],
                        department=department,
                    )
                )
                created.append(f"user {username}")
    session.commit()
    return created
