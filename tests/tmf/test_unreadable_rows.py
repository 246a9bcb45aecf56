"""A TMF list leaves out a read-model row whose stored state does not read, rather than answering 500."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete

from db.models import ResourceCheckRow, ServiceOrderRow


async def test_lists_leave_out_a_row_whose_state_does_not_read(http, login, sync_session, caplog):
    run = uuid.uuid4().hex[:6].upper()
    check_id, order_id = f"RCBAD{run}", f"SOBAD{run}"
    now = datetime.now(UTC)
    with sync_session() as s:
        s.add(
            ResourceCheckRow(
                check_id=check_id,
                workflow_id=f"resource-check-{check_id}",
                status="accepted",
                tmf_state="done",
                customer_id="C-1001",
                customer_name="坏数据客户",
                created_by="coordinator1",
                created_at=now,
                detail={"not": "a check"},
            )
        )
        s.add(
            ServiceOrderRow(
                order_id=order_id,
                workflow_id=f"provisioning-{order_id}",
                status="completed",
                tmf_state="completed",
                circuit_type="internet",
                scope="intra_city",
                customer_id="C-1001",
                bandwidth="100M",
                created_by="coordinator1",
                created_at=now,
                requested_completion=now + timedelta(days=20),
                detail={"not": "an order"},
            )
        )
        s.commit()
    try:
        coordinator = await login("coordinator1")
        for path, bad in (
            ("/tmf-api/serviceQualificationManagement/v4/checkServiceQualification", check_id),
            ("/tmf-api/serviceOrdering/v4/serviceOrder", order_id),
        ):
            response = await http.get(path, params={"limit": 500}, headers=coordinator)
            assert response.status_code == 200, response.text
            assert bad not in {r["id"] for r in response.json()}
            assert any(bad in r.getMessage() for r in caplog.records), bad
        assert "坏数据客户" not in caplog.text  # the log names the id only
    finally:
        with sync_session() as s:
            s.execute(delete(ResourceCheckRow).where(ResourceCheckRow.check_id == check_id))
            s.execute(delete(ServiceOrderRow).where(ServiceOrderRow.order_id == order_id))
            s.commit()
