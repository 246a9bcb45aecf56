"""Business calendar: working days, working hours and SLA deadline arithmetic.

Pure and deterministic (no I/O, no clock, no settings) so that Temporal workflow
code can import it through ``workflow.unsafe.imports_passed_through()``.

Conventions:
- every datetime argument must be timezone-aware; every result is an aware UTC datetime;
- weekdays, holidays and working hours are evaluated in the calendar's ``timezone``;
- working time is a union of half-open intervals ``[start, end)``;
- durations are handled internally as whole microseconds, so the arithmetic is exact.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from core.bounds import MAX_BUDGET_HOURS, MAX_BUDGET_WORKING_DAYS

__all__ = [
    "CN_2026_HOLIDAYS",
    "CN_2026_MAKEUP_WORKDAYS",
    "CN_2027_HOLIDAYS",
    "CN_2027_MAKEUP_WORKDAYS",
    "HORIZON_DEGRADED_DAYS",
    "HORIZON_WANTED_DAYS",
    "Budget",
    "BusinessCalendar",
    "WorkingPeriod",
    "deadline",
    "default_cn_calendar",
    "horizon_warnings",
    "parse_ical_days",
    "refuse_unpublishable",
    "shift_by_working_seconds",
    "threshold_instants",
]

_DAY = timedelta(days=1)
_MICROSECOND = timedelta(microseconds=1)
_EARLIEST = datetime.min.replace(tzinfo=UTC)
# Searching forward gives up after this many consecutive days without working time.
_MAX_IDLE_DAYS = 3660


def _aware_utc(value: datetime, name: str = "datetime") -> datetime:
    """Return `value` converted to UTC; raise ValueError if it is naive."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


def _to_microseconds(seconds: float, what: str) -> int:
    """Convert a non-negative, finite number of seconds to whole microseconds."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {seconds!r}")
    return round(seconds * 1_000_000)


class WorkingPeriod(BaseModel):
    """A local wall-clock interval [start, end) of a working day; end == 00:00 means midnight (end of day)."""

    model_config = ConfigDict(frozen=True)

    start: time
    end: time

    @model_validator(mode="after")
    def _check(self) -> WorkingPeriod:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("working period times must be naive wall-clock times")
        start, end = self.offsets()
        if start >= end:
            raise ValueError(f"working period must start before it ends: {self.start}-{self.end}")
        return self

    def offsets(self) -> tuple[timedelta, timedelta]:
        """Return (start, end) as wall-clock offsets from local midnight; an end of 00:00 is 24 h."""
        start = _since_midnight(self.start)
        end = _since_midnight(self.end)
        return start, end if end else _DAY


def _since_midnight(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


class BusinessCalendar(BaseModel):
    """Working days and hours of an organisation, with SLA time arithmetic.

    Derived lookup sets are cached lazily on the instance; build changed calendars
    with ``model_validate`` (or the constructor), not ``model_copy(update=...)``.
    """

    model_config = ConfigDict(frozen=True)

    name: str = "default"
    version: int = 1
    timezone: str = "Asia/Shanghai"
    weekend: tuple[int, ...] = (5, 6)
    holidays: tuple[date, ...] = ()
    makeup_workdays: tuple[date, ...] = ()
    # Empty means the whole working day (00:00-24:00) counts.
    working_hours: tuple[WorkingPeriod, ...] = ()
    always_open: bool = False
    # The last local date whose public holidays and make-up workdays this calendar declares: after it every
    # weekday counts as a working day, right or wrong. None only in versions published before horizons existed.
    horizon: date | None = None

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("weekend")
    @classmethod
    def _check_weekend(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 0 <= day <= 6 for day in value):
            raise ValueError(f"weekend days must be 0 (Monday) .. 6 (Sunday), got {value}")
        return tuple(sorted(set(value)))

    @field_validator("holidays", "makeup_workdays")
    @classmethod
    def _normalise_dates(cls, value: tuple[date, ...]) -> tuple[date, ...]:
        return tuple(sorted(set(value)))

    @field_validator("working_hours")
    @classmethod
    def _check_working_hours(cls, value: tuple[WorkingPeriod, ...]) -> tuple[WorkingPeriod, ...]:
        periods = tuple(sorted(value, key=lambda period: period.offsets()))
        for before, after in itertools.pairwise(periods):
            if after.offsets()[0] < before.offsets()[1]:
                raise ValueError(f"working periods overlap: {before.start}-{before.end} and {after.start}-{after.end}")
        return periods

    @model_validator(mode="after")
    def _check_consistency(self) -> BusinessCalendar:
        clash = sorted(set(self.holidays) & set(self.makeup_workdays))
        if clash:
            raise ValueError(f"{clash[0].isoformat()} is both a holiday and a make-up workday")
        if len(self.weekend) == 7 and not self.makeup_workdays and not self.always_open:
            raise ValueError("calendar has no working day: every weekday is weekend and there are no make-up workdays")
        if self.horizon is not None:
            late = [d for d in (*self.holidays, *self.makeup_workdays) if d > self.horizon]
            if late:
                raise ValueError(f"{late[0].isoformat()} lies after the calendar's horizon {self.horizon.isoformat()}")
        return self

    @cached_property
    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _weekend_set(self) -> frozenset[int]:
        return frozenset(self.weekend)

    @cached_property
    def _holiday_set(self) -> frozenset[date]:
        return frozenset(self.holidays)

    @cached_property
    def _makeup_set(self) -> frozenset[date]:
        return frozenset(self.makeup_workdays)

    @cached_property
    def _period_offsets(self) -> tuple[tuple[timedelta, timedelta], ...]:
        return tuple(period.offsets() for period in self.working_hours) or ((timedelta(0), _DAY),)

    # ----------------------------------------------------------------- queries

    def is_working_day(self, day: date) -> bool:
        """Return whether the local calendar date `day` is a working day."""
        if self.always_open or day in self._makeup_set:
            return True
        return day not in self._holiday_set and day.weekday() not in self._weekend_set

    def local_date(self, at: datetime) -> date:
        """The calendar date of the instant `at` in the calendar's time zone."""
        return _aware_utc(at, "at").astimezone(self._tz).date()

    def first_working_instant(self, day: date) -> datetime:
        """The first working instant on or after the local date `day` (a later working day when `day` is not one)."""
        return self._first_working(self._local_instant(day, timedelta(0)))[1]

    def beyond_horizon(self, at: datetime) -> bool:
        """Whether the instant `at` falls on a local date after the declared horizon (its holidays are unknown)."""
        return self.horizon is not None and self.local_date(at) > self.horizon

    def is_working_time(self, at: datetime) -> bool:
        """Return whether the instant `at` falls within working time."""
        at = _aware_utc(at, "at")
        return any(True for _ in self._spans(at, at + _MICROSECOND))

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Return the working time in [start, end) in seconds; 0 if end <= start."""
        return self._working_microseconds(_aware_utc(start, "start"), _aware_utc(end, "end")) / 1_000_000

    # -------------------------------------------------------------- arithmetic

    def add_hours(self, start: datetime, hours: float) -> datetime:
        """Return `start` plus `hours` of plain elapsed time (calendar-independent)."""
        return _aware_utc(start, "start") + timedelta(microseconds=_to_microseconds(hours * 3600, "hours"))

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """Return the earliest instant at which `hours` of working time have elapsed since `start`.

        A positive result therefore lies in working time or exactly on the end of a working
        period (Friday 17:00 + 2 h with 09:00-18:00 is Monday 10:00); zero hours returns `start`.
        """
        return self._advance(_aware_utc(start, "start"), _to_microseconds(hours * 3600, "hours"))

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Return `start` plus `days` whole working days.

        Rule: the clock starts at the first working instant at/after `start` (`start` itself
        when it is working time); call it S, lying on working day D at local time-of-day T.
        The result is the first working instant at/after local time T on the `days`-th working
        day after D (S itself for 0 days). Examples on a Mon-Fri calendar: Friday 15:00 + 3 is
        Wednesday 15:00; Saturday 10:00 + 1 is Tuesday 00:00 (or 09:00 with 09:00-18:00
        working hours), because the clock starts on Monday. T is always inside the working
        hours, so the snap-forward only matters for wall times skipped by a DST change.
        With ``always_open`` the result is simply `start` + `days` * 24 h.
        """
        start = _aware_utc(start, "start")
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise ValueError(f"days must be an integer >= 0, got {days!r}")
        if self.always_open:
            return start + days * _DAY
        day, clock_start = self._first_working(start)
        if days == 0:
            return clock_start
        target = self._nth_working_day_after(day, days)
        wall_time = clock_start.astimezone(self._tz).time()
        return self._first_working(self._local_instant(target, _since_midnight(wall_time)))[1]

    def point_at_fraction(self, start: datetime, end: datetime, fraction: float) -> datetime:
        """Return the instant at which `fraction` of the working time in [start, end) has elapsed from `start`.

        Fraction 0 (or no working time at all) gives the first working instant at/after `start`;
        fractions above 1 continue past `end` in working time.
        """
        start = _aware_utc(start, "start")
        return self._point_at(start, self._working_microseconds(start, _aware_utc(end, "end")), fraction)

    # -------------------------------------------------------------- internals

    def _local_instant(self, day: date, offset: timedelta) -> datetime:
        # Wall-clock arithmetic on an aware datetime; times skipped by DST resolve with fold=0.
        return (datetime.combine(day, time(0), tzinfo=self._tz) + offset).astimezone(UTC)

    def _day_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """Working intervals of local date `day` as sorted, non-overlapping UTC pairs."""
        if not self.is_working_day(day):
            return []
        offsets = ((timedelta(0), _DAY),) if self.always_open else self._period_offsets
        intervals = []
        floor = _EARLIEST
        for start_offset, end_offset in offsets:
            # Clamp so that DST gaps can never produce inverted or overlapping intervals.
            start = max(self._local_instant(day, start_offset), floor)
            end = max(self._local_instant(day, end_offset), start)
            if start < end:
                intervals.append((start, end))
            floor = end
        return intervals

    def _spans(self, start: datetime, end: datetime | None = None) -> Iterator[tuple[date, datetime, datetime]]:
        """Yield (working day, span start, span end) for working time within [start, end), in order.

        Without `end` the iteration is endless, but raises ValueError after ~10 years without working time.
        """
        day = start.astimezone(self._tz).date() - _DAY
        last_day = None if end is None else end.astimezone(self._tz).date() + _DAY
        idle_days = 0
        while last_day is None or day <= last_day:
            intervals = self._day_intervals(day)
            idle_days = 0 if intervals else idle_days + 1
            if end is None and idle_days > _MAX_IDLE_DAYS:
                raise ValueError(f"calendar {self.name!r} has no working time within ~10 years after {start:%Y-%m-%d}")
            for span_start, span_end in intervals:
                span_start = max(span_start, start)
                if end is not None:
                    span_end = min(span_end, end)
                if span_start < span_end:
                    yield day, span_start, span_end
            day += _DAY

    def _first_working(self, start: datetime) -> tuple[date, datetime]:
        """Return (working day, instant) of the first working instant at/after `start`."""
        day, instant, _ = next(self._spans(start))
        return day, instant

    def _working_microseconds(self, start: datetime, end: datetime) -> int:
        return sum((span_end - span_start) // _MICROSECOND for _, span_start, span_end in self._spans(start, end))

    def _advance(self, start: datetime, microseconds: int) -> datetime:
        """Return the earliest instant with `microseconds` of working time in [start, instant)."""
        if microseconds == 0:
            return start
        remaining = microseconds
        for _, span_start, span_end in self._spans(start):
            span = (span_end - span_start) // _MICROSECOND
            if remaining <= span:
                return span_start + timedelta(microseconds=remaining)
            remaining -= span
        raise AssertionError("unreachable: _spans without an end never stops")  # pragma: no cover

    def _point_at(self, start: datetime, total: int, fraction: float) -> datetime:
        """Return the instant at which `fraction` of `total` working microseconds have elapsed from `start`."""
        if not math.isfinite(fraction) or fraction < 0:
            raise ValueError(f"fraction must be a finite number >= 0, got {fraction!r}")
        target = round(total * fraction)
        return self._advance(start, target) if target else self._first_working(start)[1]

    def _nth_working_day_after(self, day: date, count: int) -> date:
        """Return the `count`-th (>= 1) day after `day` that has working time."""
        for span_day, _, _ in self._spans(self._local_instant(day + _DAY, timedelta(0))):
            if span_day > day:
                day, count = span_day, count - 1
                if not count:
                    return day
        raise AssertionError("unreachable: _spans without an end never stops")  # pragma: no cover


class Budget(BaseModel):
    """An SLA time budget: an amount in plain hours, working hours or whole working days."""

    model_config = ConfigDict(frozen=True)

    amount: float
    unit: Literal["hours", "working_hours", "working_days"]

    @model_validator(mode="after")
    def _check(self) -> Budget:
        if not math.isfinite(self.amount) or self.amount <= 0:
            raise ValueError(f"budget amount must be a finite number > 0, got {self.amount!r}")
        cap = MAX_BUDGET_WORKING_DAYS if self.unit == "working_days" else MAX_BUDGET_HOURS
        if self.amount > cap:
            raise ValueError(f"a budget in {self.unit} may be at most {cap}")
        if self.unit == "working_days" and not self.amount.is_integer():
            raise ValueError(f"a working-day budget must be a whole number of days, got {self.amount!r}")
        return self

    def label(self) -> str:
        """Return a short human label such as "24 h", "8 working h" or "3 working days"."""
        amount = int(self.amount) if self.amount.is_integer() else self.amount
        if self.unit == "hours":
            return f"{amount} h"
        if self.unit == "working_hours":
            return f"{amount} working h"
        return f"{amount} working day" + ("" if amount == 1 else "s")


Clock = Literal["elapsed", "business"]


def clock_of(budget: Budget) -> Clock:
    """How time counts against a budget: plain hours elapse around the clock, working time on the calendar."""
    return "elapsed" if budget.unit == "hours" else "business"


def after_pause(calendar: BusinessCalendar, clock: Clock, due: datetime, paused: tuple[datetime, datetime]) -> datetime:
    """`due` moved later by exactly the paused span (from, to), measured on `clock`."""
    start, end = paused
    if clock == "elapsed":
        return due + (end - start)
    return shift_by_working_seconds(calendar, due, calendar.working_seconds_between(start, end))


def deadline(calendar: BusinessCalendar, start: datetime, budget: Budget) -> datetime:
    """Return the instant at which `budget`, started at `start`, runs out under `calendar`."""
    if budget.unit == "hours":
        return calendar.add_hours(start, budget.amount)
    if budget.unit == "working_hours":
        return calendar.add_working_hours(start, budget.amount)
    return calendar.add_working_days(start, int(budget.amount))


def threshold_instants(
    calendar: BusinessCalendar, start: datetime, due: datetime, percents: Sequence[int]
) -> list[datetime]:
    """Return, for each percent p, the instant at which p% of the working time from `start` to `due` has elapsed.

    Each instant is ``calendar.point_at_fraction(start, due, p / 100)``, except that 100 maps to
    exactly `due` and the others are kept on the correct side of `due` (which only matters when
    [start, due) holds no working time at all).
    """
    start, due_utc = _aware_utc(start, "start"), _aware_utc(due, "due")
    total = calendar._working_microseconds(start, due_utc)
    instants = []
    for percent in percents:
        if percent == 100:
            instants.append(due_utc)
            continue
        instant = calendar._point_at(start, total, percent / 100)
        instants.append(min(instant, due_utc) if percent < 100 else max(instant, due_utc))
    return instants


def shift_by_working_seconds(calendar: BusinessCalendar, instant: datetime, seconds: float) -> datetime:
    """Return `instant` moved later by exactly `seconds` (>= 0) of working time, e.g. a deadline by a paused span."""
    return calendar._advance(_aware_utc(instant, "instant"), _to_microseconds(seconds, "seconds"))


def _date_range(first: date, last: date) -> tuple[date, ...]:
    return tuple(first + timedelta(days=offset) for offset in range((last - first).days + 1))


# State Council arrangement of public holidays for 2026 (mainland China).
CN_2026_HOLIDAYS: tuple[date, ...] = (
    *_date_range(date(2026, 1, 1), date(2026, 1, 3)),  # New Year
    *_date_range(date(2026, 2, 15), date(2026, 2, 23)),  # Spring Festival
    *_date_range(date(2026, 4, 4), date(2026, 4, 6)),  # Qingming
    *_date_range(date(2026, 5, 1), date(2026, 5, 5)),  # Labour Day
    *_date_range(date(2026, 6, 19), date(2026, 6, 21)),  # Dragon Boat
    *_date_range(date(2026, 9, 25), date(2026, 9, 27)),  # Mid-Autumn
    *_date_range(date(2026, 10, 1), date(2026, 10, 7)),  # National Day
)
# 调休: weekend days worked to make up for the holidays above.
CN_2026_MAKEUP_WORKDAYS: tuple[date, ...] = (
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
)


# 2027, as far as the law fixes it (全国年节及纪念日放假办法, as amended in 2024: New Year 1 day, Spring Festival
# New Year's Eve to the 3rd day, Qingming 1, Labour Day 2, Dragon Boat 1, Mid-Autumn 1, National Day 3; a statutory
# day falling on a Saturday or Sunday is given back on the next working day). The State Council's 2027 notice,
# which usually adds weekend make-up workdays (调休) to bridge longer breaks, was not available when this was
# written: import it (`POST /api/calendars/{name}/import`, iCalendar) as soon as it is published.
CN_2027_HOLIDAYS: tuple[date, ...] = (
    date(2027, 1, 1),  # New Year (Friday)
    *_date_range(date(2027, 2, 5), date(2027, 2, 10)),  # Spring Festival: Eve (Fri) to 3rd day, +2 given back
    date(2027, 4, 5),  # Qingming (Monday)
    *_date_range(date(2027, 5, 1), date(2027, 5, 4)),  # Labour Day: Sat-Sun, +2 given back
    date(2027, 6, 9),  # Dragon Boat (Wednesday)
    date(2027, 9, 15),  # Mid-Autumn (Wednesday)
    *_date_range(date(2027, 10, 1), date(2027, 10, 5)),  # National Day: Fri-Sun, +2 given back
)
CN_2027_MAKEUP_WORKDAYS: tuple[date, ...] = ()
CN_HORIZON = date(2027, 12, 31)

# A published calendar should declare at least this far ahead; closer than the second figure, /readyz is degraded.
HORIZON_WANTED_DAYS = 365
HORIZON_DEGRADED_DAYS = 90


def default_cn_calendar() -> BusinessCalendar:
    """Return the mainland-China calendar: Asia/Shanghai, Mon-Fri, 2026-2027 holidays and make-up days, whole days."""
    return BusinessCalendar(
        name="cn-mainland",
        timezone="Asia/Shanghai",
        weekend=(5, 6),
        holidays=(*CN_2026_HOLIDAYS, *CN_2027_HOLIDAYS),
        makeup_workdays=(*CN_2026_MAKEUP_WORKDAYS, *CN_2027_MAKEUP_WORKDAYS),
        horizon=CN_HORIZON,
    )


def refuse_unpublishable(calendar: BusinessCalendar, today: date) -> None:
    """Raise ValueError naming what stops `calendar` from being published as of `today` (its horizon)."""
    if calendar.always_open:
        return
    if calendar.horizon is None:
        raise ValueError(
            "horizon: required: the last date whose public holidays and make-up workdays this calendar declares "
            f"(it should cover the next 12 months, e.g. {today.replace(year=today.year + 1).isoformat()} or later)"
        )
    if calendar.horizon < today:
        raise ValueError(
            f"horizon: {calendar.horizon.isoformat()} is in the past: the calendar would declare no holiday"
        )


def horizon_warnings(calendar: BusinessCalendar, today: date, *, wanted_days: int = HORIZON_WANTED_DAYS) -> list[str]:
    """Why `calendar` cannot be trusted `wanted_days` ahead of `today`: no horizon, or one closer than that."""
    if calendar.always_open:
        return []
    if calendar.horizon is None:
        return [f"calendar {calendar.name} v{calendar.version} declares no horizon: its holidays may end any day"]
    left = (calendar.horizon - today).days
    if left >= wanted_days:
        return []
    return [
        f"calendar {calendar.name} v{calendar.version} declares holidays only up to {calendar.horizon.isoformat()} "
        f"({left} days away): later deadlines count public holidays as working days; publish or import the next "
        "official holiday schedule"
    ]


def parse_ical_days(text: str) -> tuple[tuple[date, ...], tuple[date, ...]]:
    """(holidays, make-up workdays) from an iCalendar file of all-day VEVENTs.

    Each event covers DTSTART up to DTEND exclusive (one day without DTEND). An event whose SUMMARY or CATEGORIES
    says it is a working day (补班, 上班, "workday", "make-up") is a make-up workday; every other one a holiday.
    Raises ValueError for what cannot be read as whole days: timed or recurring events, malformed dates.
    """
    events: list[dict[str, tuple[str, str]]] = []
    current: dict[str, tuple[str, str]] | None = None
    for line in _unfolded(text):
        name, _, value = line.partition(":")
        key, *params = name.split(";")
        key = key.upper()
        if key == "BEGIN" and value.strip().upper() == "VEVENT":
            current = {}
        elif key == "END" and value.strip().upper() == "VEVENT":
            if current is not None:
                events.append(current)
            current = None
        elif current is not None:
            current[key] = (";".join(params).upper(), value.strip())
    if not events:
        raise ValueError("no VEVENT in the file")
    holidays: set[date] = set()
    workdays: set[date] = set()
    for number, event in enumerate(events, 1):
        where = f"event {number} ({event.get('SUMMARY', ('', 'no summary'))[1]})"
        if "RRULE" in event or "RDATE" in event:
            raise ValueError(f"{where}: recurring events are not supported; list each day")
        if "DTSTART" not in event:
            raise ValueError(f"{where}: DTSTART is missing")
        first = _ical_date(*event["DTSTART"], where=where)
        last = _ical_date(*event["DTEND"], where=where) - _DAY if "DTEND" in event else first
        if last < first:
            raise ValueError(f"{where}: DTEND is not after DTSTART")
        label = " ".join(event.get(k, ("", ""))[1] for k in ("SUMMARY", "CATEGORIES")).lower()
        target = workdays if any(word in label for word in _WORKDAY_WORDS) else holidays
        target.update(_date_range(first, last))
    clash = sorted(holidays & workdays)
    if clash:
        raise ValueError(f"{clash[0].isoformat()} is both a holiday and a make-up workday in the file")
    return tuple(sorted(holidays)), tuple(sorted(workdays))


_WORKDAY_WORDS = ("补班", "上班", "workday", "working day", "make-up", "makeup")


def _unfolded(text: str) -> list[str]:
    """RFC 5545 lines with folded continuations (a leading space or tab) joined back."""
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif raw.strip():
            lines.append(raw)
    return lines


def _ical_date(params: str, value: str, *, where: str) -> date:
    """An all-day DATE value (YYYYMMDD); a DATE-TIME is refused."""
    if "T" in value.upper() or "VALUE=DATE-TIME" in params:
        raise ValueError(f"{where}: only all-day events (VALUE=DATE) are supported, got {value!r}")
    if len(value) != 8 or not value.isdigit():
        raise ValueError(f"{where}: {value!r} is not a date (YYYYMMDD)")
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a date (YYYYMMDD)") from None
