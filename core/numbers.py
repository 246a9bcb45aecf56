"""Business numbers (CS…, RC…, SO…, PS…): one date rule for all of them, the center's time zone."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

CENTER_ZONE = ZoneInfo("Asia/Shanghai")


def number_day(at: datetime) -> date:
    """The calendar day a number carries: the day at the center (Shanghai), whatever zone `at` is in."""
    return at.astimezone(CENTER_ZONE).date()


def random_number(prefix: str, at: datetime) -> str:
    """PREFIX + the center's YYYYMMDD + six random hex digits: unique without a serial table, no customer data."""
    return f"{prefix}{number_day(at):%Y%m%d}{secrets.token_hex(3).upper()}"
