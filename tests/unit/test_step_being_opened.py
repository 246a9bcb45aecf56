"""An act on a step whose task is still being opened is not refused: it is `not_ready`, which the API waits out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.provisioning import CircuitSpec, CompleteStep, ProvisioningOrder, Scope, Step, check_act
from core.roles import Actor, Role
from core.tasks import RefusalCode, TaskRefused
from tests.provisioning.flow import NANJING, SUZHOU

OPS = Actor(username="ops1", roles=(Role.DEPARTMENT,), department="operations")


def _order(task_id: str | None) -> ProvisioningOrder:
    now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    step = Step(
        step="data_configuration",
        title="configure data",
        department="operations",
        weight=1,
        planned_start=now,
        planned_due=now + timedelta(days=1),
        due_at=now + timedelta(days=1),
        task_id=task_id,
    )
    spec = CircuitSpec(
        circuit_type="mpls_vpn", a_end=NANJING, z_end=SUZHOU, bandwidth="100M", requested_completion=now + timedelta(9)
    )
    return ProvisioningOrder(
        order_id="SO1",
        workflow_id="provisioning-SO1",
        spec=spec,
        scope=Scope.INTRA_PROVINCE,
        created_by="coordinator1",
        created_at=now,
        steps=[step],
        current="data_configuration",
    )


def test_completing_a_step_being_opened_is_not_ready_not_a_conflict():
    act = CompleteStep(request_id="r1", actor=OPS, step="data_configuration")
    with pytest.raises(TaskRefused) as refused:
        check_act(_order(None), act)
    assert refused.value.code == RefusalCode.NOT_READY and "being opened" in refused.value.message
    check_act(_order("provisioning-SO1:data_configuration:2"), act)  # once open, the act is taken
