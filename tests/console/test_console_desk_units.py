"""The desk's and the calendar page's pieces without a browser: the month grid, a changed day, the UI link."""

from __future__ import annotations

from datetime import date

from api.console.admin import month_grid, with_day
from api.console.audit_desk import DESK_WORDS, VIEWS, temporal_ui_link
from audit.timeline import KINDS
from core.calendar import BusinessCalendar, default_cn_calendar
from infra.settings import Settings


def test_the_month_grid_marks_weekends_holidays_and_make_up_workdays():
    cal = default_cn_calendar()
    days = {d["day"]: d for week in month_grid(cal, 2026, 10) for d in week if d}
    assert len(days) == 31
    assert days[date(2026, 10, 1)]["kind"] == "holiday" and not days[date(2026, 10, 1)]["working"]
    assert days[date(2026, 10, 12)]["kind"] == "workday" and days[date(2026, 10, 12)]["working"]
    assert days[date(2026, 10, 18)]["kind"] == "weekend"
    makeup = next(d for d in cal.makeup_workdays if d.year == 2026 and d.month == 10)
    assert days[makeup]["kind"] == "makeup" and days[makeup]["working"]
    assert month_grid(cal, 2026, 10)[0][0] is None  # the 1st is a Thursday: Monday to Wednesday are blank


def test_a_changed_day_leaves_both_lists_consistent():
    spec = default_cn_calendar().model_dump(mode="json")
    makeup = spec["makeup_workdays"][0]
    turned = BusinessCalendar.model_validate(with_day(spec, date.fromisoformat(makeup), "holiday"))
    assert date.fromisoformat(makeup) in turned.holidays and date.fromisoformat(makeup) not in turned.makeup_workdays
    plain = with_day(spec, date(2026, 10, 1), "workday")
    assert "2026-10-01" not in plain["holidays"] and "2026-10-01" not in plain["makeup_workdays"]


def test_the_views_cover_every_timeline_kind_and_each_is_translated():
    grouped = [k for kinds in VIEWS.values() if kinds for k in kinds]
    assert sorted(grouped) == sorted(KINDS)
    assert set(KINDS) <= set(DESK_WORDS)


def test_the_temporal_ui_link_names_the_namespace_and_the_run():
    settings = Settings(kexiang_env="test", temporal_ui_url="http://ui.example:8233/", temporal_namespace="kx")
    assert (
        temporal_ui_link(settings, "ticket-CS1", "r-1")
        == "http://ui.example:8233/namespaces/kx/workflows/ticket-CS1/r-1/history"
    )
    assert temporal_ui_link(settings, "a/b", None) == "http://ui.example:8233/namespaces/kx/workflows/a%2Fb/history"
