"""Domain ranges every input is held to, defined once: text, counts, versions, budgets and instants.

PostgreSQL cannot store NUL in text or jsonb, integer columns stop at 2^31-1 (bigint at 2^63-1) and
datetime arithmetic stops at year 9999; inputs are kept well inside those limits so a bad value is a 4xx at
the edge, never a failing statement or an overflow inside a workflow.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

# The largest integer any count, offset, limit or version may be (PostgreSQL `integer`).
MAX_INT = 2**31 - 1
# Instants a person may name (deadlines, completion dates, search bounds): the calendars' horizon.
EARLIEST_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(2100, 1, 1, tzinfo=UTC)
_NAIVE_EARLIEST, _NAIVE_LATEST = EARLIEST_INSTANT.replace(tzinfo=None), LATEST_INSTANT.replace(tzinfo=None)
# How far ahead of the workflow's own clock a deadline a person proposes may lie (the calendars' search range).
MAX_LEAD = timedelta(days=3660)
# An SLA budget of any unit spans at most five years of wall time (calendar arithmetic over it stays fast).
MAX_BUDGET_HOURS = 5 * 366 * 24
MAX_BUDGET_WORKING_DAYS = 5 * 366

# C0 control characters except tab, line feed and carriage return: NUL cannot be stored at all, the others
# corrupt logs, exports and terminals and no form field needs them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
CONTROL_MESSAGE = "control characters are not allowed"
INSTANT_MESSAGE = f"must lie between {EARLIEST_INSTANT:%Y-%m-%d} and {LATEST_INSTANT:%Y-%m-%d}"


def has_control(text: str) -> bool:
    """True when `text` holds a control character no field accepts."""
    return _CONTROL.search(text) is not None


def within_horizon(value: datetime) -> datetime:
    """Refuse an instant outside [EARLIEST_INSTANT, LATEST_INSTANT) (pydantic after-validator)."""
    naive = value.tzinfo is None or value.utcoffset() is None
    earliest, latest = (EARLIEST_INSTANT, LATEST_INSTANT) if not naive else (_NAIVE_EARLIEST, _NAIVE_LATEST)
    if not earliest <= value < latest:
        raise ValueError(INSTANT_MESSAGE)
    return value


# An instant inside the horizon: use it for every date a request names (awareness is checked where required).
Instant = Annotated[datetime, AfterValidator(within_horizon)]
AwareInstant = Annotated[AwareDatetime, AfterValidator(within_horizon)]
