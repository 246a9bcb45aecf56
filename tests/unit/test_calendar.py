"""Tests for core.calendar: business-calendar arithmetic, properties and edge cases."""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from core.calendar import (
    CN_2026_HOLIDAYS,
    CN_2026_MAKEUP_WORKDAYS,
    Budget,
    BusinessCalendar,
    WorkingPeriod,
    after_pause,
    clock_of,
    deadline,
    default_cn_calendar,
    shift_by_working_seconds,
    threshold_instants,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
TOLERANCE = timedelta(milliseconds=1)
NINE_TO_SIX = (WorkingPeriod(start=time(9), end=time(18)),)


def sh(*args: int) -> datetime:
    """Aware datetime in Asia/Shanghai."""
    return datetime(*args, tzinfo=SHANGHAI)


def calendar(**kwargs) -> BusinessCalendar:
    """A Mon-Fri Asia/Shanghai calendar with overrides."""
    return BusinessCalendar(**kwargs)


# --------------------------------------------------------------- strategies

ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC"]
FIRST_DAY = date(2024, 1, 1)


@st.composite
def calendars(draw) -> BusinessCalendar:
    """Random calendars; bulky parts come from a seeded RNG because per-element draws are slow."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    holiday_count, makeup_count = draw(st.integers(0, 60)), draw(st.integers(0, 15))
    days = [FIRST_DAY + timedelta(days=n) for n in rng.sample(range(5 * 366), holiday_count + makeup_count)]
    minutes = sorted(rng.sample(range(24 * 60 + 1), 2 * draw(st.integers(0, 3))))
    boundaries = [time(m // 60, m % 60) if m < 24 * 60 else time(0) for m in minutes]
    weekend_mask = draw(st.integers(0, 126))  # 127 would make every weekday a weekend day
    return BusinessCalendar(
        timezone=draw(st.sampled_from(ZONES)),
        weekend=tuple(d for d in range(7) if weekend_mask >> d & 1),
        holidays=tuple(days[:holiday_count]),
        makeup_workdays=tuple(days[holiday_count:]),
        working_hours=tuple(
            WorkingPeriod(start=a, end=b) for a, b in zip(boundaries[::2], boundaries[1::2], strict=True)
        ),
        always_open=draw(st.integers(0, 3)) == 0,
    )


EPOCH_2024 = datetime(2024, 1, 1, tzinfo=UTC)
instants = st.builds(
    lambda micros, zone: (EPOCH_2024 + timedelta(microseconds=micros)).astimezone(zone),
    st.integers(0, 5 * 366 * 86400 * 10**6) | st.integers(0, 5 * 366 * 24).map(lambda h: h * 3600 * 10**6),
    st.sampled_from([UTC, SHANGHAI, BERLIN, ZoneInfo("America/New_York")]),
)
hours = st.floats(min_value=0, max_value=400, allow_nan=False)
positive_hours = st.floats(min_value=0.001, max_value=400, allow_nan=False)
fast = settings(max_examples=100, deadline=None)


def on_working_time_or_boundary(cal: BusinessCalendar, at: datetime) -> bool:
    return cal.is_working_time(at) or cal.is_working_time(at - timedelta(microseconds=1))


# ------------------------------------------------------------- properties


@fast
@given(calendars(), instants, hours, hours)
def test_add_working_hours_is_after_start_and_monotonic(cal, start, a, b):
    low, high = sorted((a, b))
    first, second = cal.add_working_hours(start, low), cal.add_working_hours(start, high)
    assert start <= first <= second
    assert first.tzinfo == UTC


@fast
@given(calendars(), instants, positive_hours)
def test_add_working_hours_lands_on_working_time_and_counts_exactly(cal, start, h):
    due = cal.add_working_hours(start, h)
    assert on_working_time_or_boundary(cal, due)
    assert abs(cal.working_seconds_between(start, due) - h * 3600) <= TOLERANCE.total_seconds()


@fast
@given(calendars(), instants, hours, hours)
def test_add_working_hours_is_additive(cal, start, x, y):
    direct = cal.add_working_hours(start, x + y)
    stepwise = cal.add_working_hours(cal.add_working_hours(start, x), y)
    assert abs(direct - stepwise) <= TOLERANCE


@fast
@given(calendars(), instants, st.integers(0, 40), st.integers(0, 40))
def test_add_working_days_is_after_start_monotonic_and_on_working_time(cal, start, a, b):
    low, high = sorted((a, b))
    first, second = cal.add_working_days(start, low), cal.add_working_days(start, high)
    assert start <= first <= second
    assert cal.is_working_time(first) and cal.is_working_time(second)
    if low < high and not cal.always_open:
        assert first < second


@fast
@given(calendars(), instants, positive_hours)
def test_point_at_fraction_endpoints(cal, start, h):
    end = cal.add_working_hours(start, h)
    assert cal.point_at_fraction(start, end, 1.0) == end
    first = cal.point_at_fraction(start, end, 0.0)
    assert first >= start
    assert cal.is_working_time(first)
    assert cal.working_seconds_between(start, first) == 0


@fast
@given(calendars(), instants, hours, st.integers(0, 300))
def test_threshold_instants_are_non_decreasing(cal, start, h, extra_percent):
    due = cal.add_working_hours(start, h)
    percents = sorted([0, 25, 50, 75, 100, 150, 200, extra_percent])
    points = threshold_instants(cal, start, due, percents)
    assert points == sorted(points)
    assert points[percents.index(100)] == due


@fast
@given(calendars(), instants, positive_hours, st.floats(min_value=0, max_value=3, allow_nan=False))
def test_point_at_fraction_counts_the_fraction(cal, start, h, fraction):
    end = cal.add_working_hours(start, h)
    point = cal.point_at_fraction(start, end, fraction)
    elapsed = cal.working_seconds_between(start, point)
    assert abs(elapsed - fraction * cal.working_seconds_between(start, end)) <= TOLERANCE.total_seconds()


@fast
@given(calendars(), instants, hours, st.integers(0, 30))
def test_always_open_is_plain_addition(cal, start, h, days):
    cal = cal.model_validate({**cal.model_dump(), "always_open": True})
    assert cal.add_working_hours(start, h) == cal.add_hours(start, h)
    assert cal.add_working_days(start, days) == start.astimezone(UTC) + timedelta(days=days)
    # Aware arithmetic within one tzinfo is wall-clock arithmetic, so step in UTC for elapsed time.
    later = start.astimezone(UTC) + timedelta(hours=h)
    assert cal.working_seconds_between(start, later) == pytest.approx(h * 3600, abs=1e-6)
    assert cal.is_working_time(start)


@fast
@given(calendars())
def test_json_round_trip(cal):
    assert BusinessCalendar.model_validate(cal.model_dump(mode="json")) == cal
    assert BusinessCalendar.model_validate_json(cal.model_dump_json()) == cal


# ------------------------------------------------------------- working days


def test_friday_plus_three_working_days_is_wednesday():
    assert calendar().add_working_days(sh(2026, 3, 13, 15), 3) == sh(2026, 3, 18, 15)


def test_public_holiday_on_monday_pushes_to_thursday():
    cal = calendar(holidays=(date(2026, 3, 16),))
    assert cal.add_working_days(sh(2026, 3, 13, 15), 3) == sh(2026, 3, 19, 15)


def test_makeup_saturday_counts_as_working_day():
    cal = calendar(makeup_workdays=(date(2026, 3, 14),))
    assert cal.is_working_day(date(2026, 3, 14))
    assert cal.add_working_days(sh(2026, 3, 13, 15), 1) == sh(2026, 3, 14, 15)
    assert cal.add_working_hours(sh(2026, 3, 13, 23), 2) == sh(2026, 3, 14, 1)


def test_clock_accepted_on_weekend_starts_monday():
    cal = calendar()
    assert cal.add_working_days(sh(2026, 3, 14, 10), 0) == sh(2026, 3, 16)
    assert cal.add_working_days(sh(2026, 3, 14, 10), 1) == sh(2026, 3, 17)
    assert calendar(working_hours=NINE_TO_SIX).add_working_days(sh(2026, 3, 14, 10), 1) == sh(2026, 3, 17, 9)


def test_working_days_keep_time_of_day_within_working_hours():
    cal = calendar(working_hours=NINE_TO_SIX)
    assert cal.add_working_days(sh(2026, 3, 13, 17), 1) == sh(2026, 3, 16, 17)
    # Accepted after hours: the clock starts at the next opening.
    assert cal.add_working_days(sh(2026, 3, 13, 20), 1) == sh(2026, 3, 17, 9)


def test_year_end_into_2026_new_year_holiday():
    cal = default_cn_calendar()
    assert cal.add_working_days(sh(2025, 12, 31, 10), 1) == sh(2026, 1, 4, 10)
    assert cal.add_working_days(sh(2025, 12, 31, 10), 2) == sh(2026, 1, 5, 10)
    assert cal.add_working_hours(sh(2025, 12, 31, 23), 2) == sh(2026, 1, 4, 1)


def test_deadline_on_holiday_moves_past_it():
    cal = default_cn_calendar()
    # Thursday before Mid-Autumn: Fri 25 - Sun 27 off.
    assert cal.add_working_days(sh(2026, 9, 24, 15), 1) == sh(2026, 9, 28, 15)
    assert cal.add_working_days(sh(2026, 9, 24, 15), 3) == sh(2026, 9, 30, 15)


def test_national_day():
    cal = default_cn_calendar()
    assert cal.add_working_days(sh(2026, 9, 30, 10), 1) == sh(2026, 10, 8, 10)
    assert cal.is_working_day(date(2026, 10, 10))  # make-up Saturday
    assert not cal.is_working_day(date(2026, 10, 7))


def test_default_cn_calendar_shape():
    cal = default_cn_calendar()
    assert (cal.name, cal.timezone, cal.weekend, cal.working_hours) == ("cn-mainland", "Asia/Shanghai", (5, 6), ())
    assert len(CN_2026_HOLIDAYS) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert all(d.weekday() >= 5 for d in CN_2026_MAKEUP_WORKDAYS)
    assert not set(CN_2026_HOLIDAYS) & set(CN_2026_MAKEUP_WORKDAYS)


def test_long_budget_with_many_holidays_is_fast_enough():
    holidays = tuple(date(2026, 1, 1) + timedelta(days=3 * i) for i in range(300))
    cal = calendar(holidays=holidays, working_hours=NINE_TO_SIX)
    due = cal.add_working_days(sh(2026, 1, 5, 10), 400)
    assert due > sh(2027, 1, 1)
    assert cal.working_seconds_between(sh(2026, 1, 5, 10), due) == 400 * 9 * 3600


# ------------------------------------------------------------ working hours


def test_add_working_hours_over_weekend():
    assert calendar(working_hours=NINE_TO_SIX).add_working_hours(sh(2026, 3, 13, 17), 2) == sh(2026, 3, 16, 10)
    assert calendar().add_working_hours(sh(2026, 3, 13, 23), 2) == sh(2026, 3, 16, 1)


def test_add_working_hours_lands_on_period_end():
    assert calendar(working_hours=NINE_TO_SIX).add_working_hours(sh(2026, 3, 13, 17), 1) == sh(2026, 3, 13, 18)


def test_lunch_break_and_working_time():
    cal = calendar(
        working_hours=(
            WorkingPeriod(start=time(13, 30), end=time(18)),
            WorkingPeriod(start=time(9), end=time(12)),
        )
    )
    assert [p.start for p in cal.working_hours] == [time(9), time(13, 30)]  # sorted on validation
    assert cal.is_working_time(sh(2026, 3, 16, 9))
    assert not cal.is_working_time(sh(2026, 3, 16, 12))
    assert not cal.is_working_time(sh(2026, 3, 14, 10))
    assert cal.add_working_hours(sh(2026, 3, 16, 11), 2) == sh(2026, 3, 16, 14, 30)
    assert cal.working_seconds_between(sh(2026, 3, 16, 8), sh(2026, 3, 17, 8)) == 7.5 * 3600
    assert cal.working_seconds_between(sh(2026, 3, 17), sh(2026, 3, 16)) == 0


def test_period_ending_at_midnight():
    cal = calendar(working_hours=(WorkingPeriod(start=time(22), end=time(0)),))
    assert cal.is_working_time(sh(2026, 3, 16, 23, 59))
    assert cal.add_working_hours(sh(2026, 3, 16, 23), 2) == sh(2026, 3, 17, 23)


def test_point_at_fraction_beyond_due():
    cal = calendar(working_hours=NINE_TO_SIX)
    start, due = sh(2026, 3, 13, 14), sh(2026, 3, 16, 14)  # 9 working hours
    assert cal.point_at_fraction(start, due, 0.5) == sh(2026, 3, 16, 9, 30)
    assert cal.point_at_fraction(start, due, 1.5) == sh(2026, 3, 17, 9, 30)


def test_threshold_instants():
    cal = calendar(working_hours=NINE_TO_SIX)
    start = sh(2026, 3, 13, 14)
    due = cal.add_working_hours(start, 8)
    assert due == sh(2026, 3, 16, 13)
    assert threshold_instants(cal, start, due, [50, 75, 100, 150]) == [
        sh(2026, 3, 13, 18),  # exactly 4 h in: the end of Friday's working hours
        sh(2026, 3, 16, 11),
        due,
        sh(2026, 3, 16, 17),
    ]


def test_threshold_instants_when_due_is_outside_working_time():
    cal = calendar(working_hours=NINE_TO_SIX)
    start, due = sh(2026, 3, 14, 3), sh(2026, 3, 14, 4)  # plain-hours budget on a Saturday
    assert threshold_instants(cal, start, due, [50, 100, 150]) == [due, due, sh(2026, 3, 16, 9)]


def test_shift_by_working_seconds_over_weekend():
    cal = calendar(working_hours=NINE_TO_SIX)
    assert shift_by_working_seconds(cal, sh(2026, 3, 13, 17), 5 * 3600) == sh(2026, 3, 16, 13)
    assert shift_by_working_seconds(cal, sh(2026, 3, 13, 17), 0) == sh(2026, 3, 13, 17)


# ------------------------------------------------------------------ 24/7 and DST


def test_always_open_calendar():
    cal = calendar(always_open=True, holidays=(date(2026, 3, 16),), working_hours=NINE_TO_SIX)
    start = sh(2026, 3, 14, 3)
    assert cal.is_working_time(start)
    assert cal.add_working_hours(start, 30) == start + timedelta(hours=30)
    assert cal.add_working_days(start, 2) == start + timedelta(days=2)


def test_add_hours_is_elapsed_time_across_dst():
    cal = calendar(timezone="Europe/Berlin")
    start = datetime(2026, 3, 28, 12, tzinfo=BERLIN)  # DST starts 2026-03-29 02:00
    due = cal.add_hours(start, 24)
    assert due == datetime(2026, 3, 29, 13, tzinfo=BERLIN)
    assert due - start == timedelta(hours=24)
    assert due.tzinfo == UTC


def test_working_calendar_across_dst_uses_local_wall_clock():
    cal = calendar(timezone="Europe/Berlin", working_hours=NINE_TO_SIX)
    friday = datetime(2026, 3, 27, 15, tzinfo=BERLIN)
    assert cal.add_working_days(friday, 1) == datetime(2026, 3, 30, 15, tzinfo=BERLIN)
    assert cal.add_working_hours(friday, 5) == datetime(2026, 3, 30, 11, tzinfo=BERLIN)
    whole_days = calendar(timezone="Europe/Berlin", weekend=())
    # The DST day in Berlin is only 23 hours long.
    sunday = datetime(2026, 3, 29, tzinfo=BERLIN)
    assert whole_days.working_seconds_between(sunday, sunday.astimezone(UTC) + timedelta(days=1)) == 24 * 3600
    assert whole_days.working_seconds_between(sunday, datetime(2026, 3, 30, tzinfo=BERLIN)) == 23 * 3600


# ---------------------------------------------------------------- validation


def test_naive_datetimes_rejected():
    cal = calendar()
    naive = datetime(2026, 3, 13, 15)
    for call in (
        lambda: cal.add_hours(naive, 1),
        lambda: cal.add_working_hours(naive, 1),
        lambda: cal.add_working_days(naive, 1),
        lambda: cal.is_working_time(naive),
        lambda: cal.working_seconds_between(sh(2026, 3, 13), naive),
        lambda: cal.point_at_fraction(naive, sh(2026, 3, 13), 0.5),
        lambda: shift_by_working_seconds(cal, naive, 1),
        lambda: threshold_instants(cal, sh(2026, 3, 13), naive, [50]),
    ):
        with pytest.raises(ValueError, match="timezone-aware"):
            call()


def test_negative_amounts_rejected():
    cal = calendar()
    with pytest.raises(ValueError):
        cal.add_working_hours(sh(2026, 3, 13), -1)
    with pytest.raises(ValueError):
        cal.add_working_days(sh(2026, 3, 13), -1)
    with pytest.raises(ValueError):
        shift_by_working_seconds(cal, sh(2026, 3, 13), float("nan"))


def test_holiday_and_makeup_same_day_rejected():
    with pytest.raises(ValidationError, match="2026-03-14"):
        calendar(holidays=(date(2026, 3, 14),), makeup_workdays=(date(2026, 3, 14),))


def test_invalid_timezone_rejected():
    with pytest.raises(ValidationError, match="time zone"):
        calendar(timezone="Mars/Olympus_Mons")


def test_invalid_working_hours_rejected():
    with pytest.raises(ValidationError):
        WorkingPeriod(start=time(18), end=time(9))
    overlapping = (WorkingPeriod(start=time(9), end=time(13)), WorkingPeriod(start=time(12), end=time(14)))
    with pytest.raises(ValidationError, match="overlap"):
        calendar(working_hours=overlapping)
    with pytest.raises(ValidationError):
        calendar(weekend=(7,))


def test_calendar_without_working_days():
    with pytest.raises(ValidationError, match="no working day"):
        calendar(weekend=tuple(range(7)))
    only_makeup = calendar(weekend=tuple(range(7)), makeup_workdays=(date(2026, 1, 4),))
    assert only_makeup.add_working_days(sh(2026, 1, 1), 0) == sh(2026, 1, 4)
    with pytest.raises(ValueError, match="10 years"):
        only_makeup.add_working_hours(sh(2026, 2, 1), 1)
    with pytest.raises(ValueError, match="10 years"):
        only_makeup.add_working_days(sh(2026, 1, 1), 1)


def test_calendar_is_frozen_and_json_round_trips():
    cal = calendar(
        name="ops",
        version=3,
        holidays=(date(2026, 3, 16),),
        makeup_workdays=(date(2026, 3, 14),),
        working_hours=NINE_TO_SIX,
    )
    assert cal.is_working_day(date(2026, 3, 14))  # populate the lazy caches first
    with pytest.raises(ValidationError):
        cal.name = "other"
    assert BusinessCalendar.model_validate(cal.model_dump(mode="json")) == cal
    assert hash(BusinessCalendar.model_validate(cal.model_dump(mode="json"))) == hash(cal)


# -------------------------------------------------------------------- budgets


def test_budget_labels_and_validation():
    assert Budget(amount=24, unit="hours").label() == "24 h"
    assert Budget(amount=8, unit="working_hours").label() == "8 working h"
    assert Budget(amount=1.5, unit="working_hours").label() == "1.5 working h"
    assert Budget(amount=3, unit="working_days").label() == "3 working days"
    assert Budget(amount=1, unit="working_days").label() == "1 working day"
    for amount, unit in ((0, "hours"), (-1, "working_hours"), (1.5, "working_days")):
        with pytest.raises(ValidationError):
            Budget(amount=amount, unit=unit)


def test_deadline_dispatches_on_unit():
    cal = calendar(working_hours=NINE_TO_SIX)
    start = sh(2026, 3, 13, 17)
    assert deadline(cal, start, Budget(amount=24, unit="hours")) == sh(2026, 3, 14, 17)
    assert deadline(cal, start, Budget(amount=2, unit="working_hours")) == sh(2026, 3, 16, 10)
    assert deadline(cal, start, Budget(amount=1, unit="working_days")) == sh(2026, 3, 16, 17)
    assert deadline(default_cn_calendar(), sh(2026, 9, 24, 15), Budget(amount=3, unit="working_days")) == sh(
        2026, 9, 30, 15
    )


def test_the_budget_decides_the_clock():
    assert clock_of(Budget(amount=4, unit="hours")) == "elapsed"
    assert clock_of(Budget(amount=4, unit="working_hours")) == "business"
    assert clock_of(Budget(amount=3, unit="working_days")) == "business"


def test_a_pause_moves_a_due_by_the_paused_time_on_its_clock():
    office = BusinessCalendar(name="office", working_hours=NINE_TO_SIX)
    due = sh(2026, 3, 10, 11)  # Tuesday 11:00
    friday_pause = (sh(2026, 3, 6, 17), sh(2026, 3, 9, 10))  # Friday 17:00 → Monday 10:00: 2 working hours
    assert after_pause(office, "elapsed", due, friday_pause) == due + timedelta(hours=65)
    assert after_pause(office, "business", due, friday_pause) == sh(2026, 3, 10, 13)
    weekend = (sh(2026, 3, 7, 10), sh(2026, 3, 8, 10))  # no working time paused: the due stays
    assert after_pause(office, "business", due, weekend) == due
