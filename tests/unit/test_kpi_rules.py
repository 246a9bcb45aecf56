"""The pure KPI rules: local periods, filters a KPI takes, judging against targets, the targets document."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from core.kpis import BY_NAME, KpiFigures, KpiQuery, KpiTargets, definitions, judge, local_period, refuse_filters

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_period_is_whole_local_days():
    start, end = local_period(date(2026, 12, 1), date(2026, 12, 31), SHANGHAI)
    assert start == datetime(2026, 11, 30, 16, tzinfo=UTC) and end == datetime(2026, 12, 31, 16, tzinfo=UTC)
    with pytest.raises(ValueError, match="before from"):
        local_period(date(2026, 12, 2), date(2026, 12, 1), SHANGHAI)
    with pytest.raises(ValueError, match="at most"):
        local_period(date(2025, 1, 1), date(2026, 12, 1), SHANGHAI)


def _query(**filters) -> KpiQuery:
    start, end = local_period(date(2026, 12, 1), date(2026, 12, 1), SHANGHAI)
    return KpiQuery(start=start, end=end, **filters)


def test_rates_counts_and_targets():
    rate = BY_NAME["response_timeliness"]
    assert judge(rate, _query(), KpiFigures(numerator=19, denominator=20)).model_dump(
        include={"value", "met", "target"}
    ) == {"value": 0.95, "met": True, "target": 0.95}
    assert judge(rate, _query(), KpiFigures(numerator=0, denominator=0)).met is None  # nothing to judge
    reopen = BY_NAME["reopen_rate"]  # at most
    assert judge(reopen, _query(), KpiFigures(numerator=1, denominator=10)).met is False
    breaches = judge(BY_NAME["sla_breaches"], _query(person="engineer1"), KpiFigures(numerator=0))
    assert (breaches.value, breaches.denominator, breaches.met, breaches.filters) == (
        0.0,
        None,
        True,
        {"person": "engineer1"},
    )


def test_filters_a_kpi_does_not_take_are_refused():
    refuse_filters(BY_NAME["sla_breaches"], _query(person="a", department="b", customer="c", priority="low"))
    checks = BY_NAME["resource_check_timeliness"]  # checks take department, person and customer, not priority
    refuse_filters(checks, _query(person="a", department="b", customer="c"))
    with pytest.raises(ValueError, match=r"^priority: resource_check_timeliness cannot be filtered by it"):
        refuse_filters(checks, _query(person="a", priority="low"))
    with pytest.raises(ValueError, match=r"^person: report_timeliness cannot be filtered by it"):
        refuse_filters(BY_NAME["report_timeliness"], _query(person="a"))


def test_targets_document_applies_and_refuses_unknown_kpis_and_rates_above_one():
    doc = KpiTargets(name="center", targets={"reopen_rate": {"target": 0.1, "owner": "admin"}})
    applied = {k.name: k for k in definitions(doc)}
    assert (applied["reopen_rate"].target, applied["reopen_rate"].owner) == (0.1, "admin")
    assert applied["plan_timeliness"] == BY_NAME["plan_timeliness"]
    with pytest.raises(ValidationError, match="no such KPI"):
        KpiTargets(name="center", targets={"uptime": {"target": 1, "owner": "admin"}})
    with pytest.raises(ValidationError, match="between 0 and 1"):
        KpiTargets(name="center", targets={"satisfaction_rate": {"target": 95, "owner": "supervisor"}})
    KpiTargets(name="center", targets={"sla_breaches": {"target": 3, "owner": "supervisor"}})  # a count may exceed 1
