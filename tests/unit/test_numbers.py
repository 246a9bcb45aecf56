"""Every business number carries the center's day (Shanghai), never the UTC day."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from api.resource_checks.service import new_check_id
from core.numbers import number_day, random_number
from db.provisioning import new_order_id

LATE_UTC = datetime(2026, 12, 1, 17, 30, tzinfo=UTC)  # 01:30 on 2 December in Shanghai


def test_the_day_is_the_centers_day():
    assert number_day(LATE_UTC).isoformat() == "2026-12-02"


def test_random_numbers_carry_the_centers_day_and_differ():
    numbers = {random_number("RC", LATE_UTC) for _ in range(50)}
    assert len(numbers) == 50
    assert all(re.fullmatch(r"RC20261202[0-9A-F]{6}", n) for n in numbers)
    assert re.fullmatch(r"SO20261202[0-9A-F]{6}", new_order_id(LATE_UTC))
    assert re.fullmatch(r"RC\d{8}[0-9A-F]{6}", new_check_id())
