"""The horizon rules of core/calendar.py: what may be published, what warns, what is past it, iCalendar days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.calendar import (
    BusinessCalendar,
    default_cn_calendar,
    horizon_warnings,
    parse_ical_days,
    refuse_unpublishable,
)


def test_without_a_horizon_or_with_one_in_the_past_a_calendar_is_not_publishable():
    with pytest.raises(ValueError, match="horizon: required"):
        refuse_unpublishable(BusinessCalendar(), date(2026, 12, 2))
    with pytest.raises(ValueError, match="in the past"):
        refuse_unpublishable(BusinessCalendar(horizon=date(2026, 12, 1)), date(2026, 12, 2))
    refuse_unpublishable(BusinessCalendar(horizon=date(2026, 12, 2)), date(2026, 12, 2))
    refuse_unpublishable(BusinessCalendar(always_open=True), date(2026, 12, 2))


def test_warnings_start_when_less_than_the_wanted_days_remain():
    calendar = BusinessCalendar(name="c", horizon=date(2027, 12, 31))
    assert horizon_warnings(calendar, date(2026, 12, 31)) == []  # 365 days left
    [warning] = horizon_warnings(calendar, date(2027, 1, 1))
    assert "only up to 2027-12-31 (364 days away)" in warning
    assert horizon_warnings(calendar, date(2027, 10, 2), wanted_days=90) == []
    assert horizon_warnings(calendar, date(2027, 10, 3), wanted_days=90) != []
    assert "declares no horizon" in horizon_warnings(BusinessCalendar(), date(2026, 1, 1))[0]


def test_beyond_horizon_is_judged_on_the_local_date():
    calendar = default_cn_calendar()
    assert not calendar.beyond_horizon(datetime(2027, 12, 31, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai
    assert calendar.beyond_horizon(datetime(2027, 12, 31, 16, 0, tzinfo=UTC))  # midnight, 1 January 2028
    assert not BusinessCalendar().beyond_horizon(datetime(2099, 1, 1, tzinfo=UTC))


def test_holidays_after_the_horizon_are_refused():
    with pytest.raises(ValueError, match="2028-01-01 lies after the calendar's horizon 2027-12-31"):
        BusinessCalendar(horizon=date(2027, 12, 31), holidays=(date(2028, 1, 1),))


def test_the_2027_days_count_as_holidays():
    calendar = default_cn_calendar()
    for day in (date(2027, 1, 1), date(2027, 2, 9), date(2027, 5, 4), date(2027, 10, 5)):
        assert not calendar.is_working_day(day), day
    assert calendar.is_working_day(date(2027, 2, 11)) and calendar.is_working_day(date(2027, 10, 6))


def test_icalendar_days_folded_lines_and_exclusive_ends():
    text = (
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20280125\r\nDTEND;VALUE=DATE:20280127\r\n"
        "SUMMARY:春节\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20280122\r\nSUMMARY:春节\r\n  补班\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert parse_ical_days(text) == ((date(2028, 1, 25), date(2028, 1, 26)), (date(2028, 1, 22),))
    with pytest.raises(ValueError, match="DTEND is not after DTSTART"):
        parse_ical_days("BEGIN:VEVENT\nDTSTART:20280125\nDTEND:20280125\nEND:VEVENT\n")
    with pytest.raises(ValueError, match="DTSTART is missing"):
        parse_ical_days("BEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\n")
