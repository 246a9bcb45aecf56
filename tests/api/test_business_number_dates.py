"""One date rule for business numbers (issue 12 §7): tickets, checks, orders and demands carry the center's day."""

from __future__ import annotations

import uuid

from core.numbers import number_day
from db.models import utcnow
from tests.provisioning.test_api import SO, order_body
from tests.resource_checks.test_api import SQ, request_body
from tests.resource_checks.test_circuit_types import _demand
from tests.tickets.http_helpers import create, full_intake


async def test_every_number_carries_the_centers_day(http, login):
    coordinator = await login("coordinator1")
    before = number_day(utcnow())
    made = [
        (await create(http, await login("agent1"), full_intake())).json()["id"],
        (await http.post(SQ, json=request_body(f"C-{uuid.uuid4().hex[:8]}"), headers=coordinator)).json()["id"],
        (await http.post(SO, json=order_body(), headers=coordinator)).json()["id"],
        (await http.post("/api/presales-demands", json=_demand("ddn", "ddn"), headers=coordinator)).json()["demand"][
            "demand_id"
        ],
    ]
    after = number_day(utcnow())
    assert [n[:2] for n in made] == ["CS", "RC", "SO", "PS"]
    # The center's day (Shanghai), whatever the UTC date: both differ from 16:00 to 24:00 UTC.
    assert {n[2:10] for n in made} <= {f"{before:%Y%m%d}", f"{after:%Y%m%d}"}, made
