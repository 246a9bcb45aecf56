"""Seeding brings a system-seeded calendar up to this release's holidays, and never touches an admin's version."""

from __future__ import annotations

from sqlalchemy import select

from core.calendar import CN_2026_HOLIDAYS, BusinessCalendar, default_cn_calendar
from db.models import CalendarVersion
from db.seed import seed_defaults
from tests.support import unique


def _versions(session, name: str) -> list[tuple[int, str, str | None]]:
    rows = session.scalars(
        select(CalendarVersion).where(CalendarVersion.name == name).order_by(CalendarVersion.version)
    )
    return [(r.version, r.created_by, r.spec.get("horizon")) for r in rows]


def test_an_outdated_seeded_calendar_gets_a_new_version_once(sync_session):
    name = unique("kx-seeded")
    old = BusinessCalendar(name=name, holidays=CN_2026_HOLIDAYS).model_dump(mode="json")  # a release without 2027
    with sync_session() as s:
        s.add(CalendarVersion(name=name, version=1, spec=old, created_by="system"))
        s.commit()
        created = seed_defaults(s, calendar_name=name, policy_name="standard", demo_users=False)
        assert created == [f"calendar {name} v2"]
        assert seed_defaults(s, calendar_name=name, policy_name="standard", demo_users=False) == []
        assert _versions(s, name) == [(1, "system", None), (2, "system", "2027-12-31")]
        latest = s.scalar(select(CalendarVersion).where(CalendarVersion.name == name, CalendarVersion.version == 2))
        assert BusinessCalendar.model_validate(latest.spec).holidays == default_cn_calendar().holidays


def test_an_admins_calendar_is_left_alone(sync_session):
    name = unique("kx-admins")
    with sync_session() as s:
        s.add(
            CalendarVersion(
                name=name, version=1, spec=BusinessCalendar(name=name).model_dump(mode="json"), created_by="admin"
            )
        )
        s.commit()
        assert seed_defaults(s, calendar_name=name, policy_name="standard", demo_users=False) == []
        assert _versions(s, name) == [(1, "admin", None)]
