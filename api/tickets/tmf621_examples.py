"""Example TMF621 request bodies: a complete intake as an agent enters it (tests and the benchmark use it)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

EXAMPLE_CONTACT = "13812345678"
_SHANGHAI = ZoneInfo("Asia/Shanghai")


def occurred(minutes_ago: int = 90) -> str:
    """A past minute in Shanghai time, as an agent would enter it."""
    at = (datetime.now(_SHANGHAI) - timedelta(minutes=minutes_ago)).replace(second=0, microsecond=0)
    return at.isoformat()


def complete_intake(**changes: Any) -> dict[str, Any]:
    """A complete intake (hardware after-sales, medium) for a fresh customer; TMF attributes overridable."""
    body = {
        "description": "专线中断，路由器告警 LOS",
        "severity": "major",
        "ticketType": "aftersales_hardware",
        "name": "专线中断",
        "priority": "medium",
        "channel": {"id": "phone", "name": "phone"},
        "customerId": f"C-{uuid.uuid4().hex[:8]}",
        "customerName": "华信物流有限公司",
        "industry": "logistics",
        "contact": EXAMPLE_CONTACT,
        "occurredAt": occurred(),
        "scenario": "机房断电后",
        "preferredChannel": "phone",
    }
    return {**body, **changes}
