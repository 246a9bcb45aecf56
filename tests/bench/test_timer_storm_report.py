"""The timer storm's one-side report (`--only`) carries the machine load and CPU per firing, as the pair's does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.timer_storm import Firing, StormFigures, report_one


def test_one_side_report_prints_load_and_cpu_per_item():
    due = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    firings = [
        Firing(
            due=due,
            armed=due - timedelta(minutes=1),
            observed=due + timedelta(seconds=s),
            written=due + timedelta(seconds=s),
        )
        for s in (1, 2, 3, 4)
    ]
    figures = StormFigures(
        name="kexiang",
        deadlines=4,
        calibrated_rate=2.0,
        window_start=due,
        setup_started=0.0,
        started_seconds=2.0,
        armed_seconds=3.0,
        setup_began_at=due - timedelta(minutes=2),
        firings=firings,
        failures=[],
        load={"storm (before)": (1.5, 1.0, 1.0)},
        cpu={"storm": {"worker": 0.2, "temporal": 0.2}},
    )
    lines = report_one(figures).splitlines()
    assert "kexiang uptime load: storm (before) 1.5" in lines
    cpu = next(line for line in lines if line.strip().startswith("kexiang storm"))
    assert cpu.split()[-3:] == ["50.0", "50.0", "100.0"]  # temporal, worker, total: ms per firing
