"""The coordinator's escalation of a late department (the console's escalate button): who may, and when."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.resource_checks import (
    CheckItem,
    CheckStatus,
    EscalateLine,
    Line,
    ResourceCheck,
    ResourceCheckInput,
    Round,
    check_act,
)
from core.roles import Actor, Role
from core.tasks import RefusalCode, TaskRefused

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
COORDINATOR = Actor(username="coordinator1", roles=(Role.COORDINATOR,))
FIXED = Actor(username="fixed1", roles=(Role.DEPARTMENT,), department="fixed-network")


def _check(**line: object) -> ResourceCheck:
    item = CheckItem(
        item_id="1", sites=("上海",), service_type="internet", bandwidth="100M", wanted_date=date(2027, 1, 31)
    )
    start = ResourceCheckInput(
        check_id="RC-1",
        customer_id="C-1",
        customer_name="华信",
        items=(item,),
        requested_by=COORDINATOR,
        request_id="r",
    )
    lines = [Line(item_id="1", department="fixed-network", task_id="t1", due_at=NOW + timedelta(days=1), **line)]
    current = Round(number=1, started_at=NOW, due_at=NOW + timedelta(days=2), items=[item], lines=lines)
    return ResourceCheck(
        check_id="RC-1",
        workflow_id="resource-check-RC-1",
        request=start,
        status=CheckStatus.CONSULTING,
        created_at=NOW,
        created_by="coordinator1",
        rounds=[current],
    )


def _escalate(actor: Actor, department: str = "fixed-network") -> EscalateLine:
    return EscalateLine(request_id="e", actor=actor, item_id="1", department=department, note="催办未果")


def test_a_coordinator_escalates_an_unanswered_line_once():
    check_act(_check(), _escalate(COORDINATOR), NOW)
    for check, act, code, words in (
        (_check(), _escalate(FIXED), RefusalCode.FORBIDDEN, "coordinators or supervisors only"),
        (_check(), _escalate(COORDINATOR, "operations"), RefusalCode.NOT_FOUND, "not consulted"),
        (_check(escalated=True), _escalate(COORDINATOR), RefusalCode.CONFLICT, "already escalated"),
    ):
        with pytest.raises(TaskRefused) as refused:
            check_act(check, act, NOW)
        assert refused.value.code == code and words in refused.value.message
