"""The quarterly report's charts, drawn server-side as SVG (WeasyPrint renders SVG natively into the PDF)."""

from __future__ import annotations

from html import escape

FONT = "Noto Sans CJK SC, Noto Serif CJK SC, sans-serif"
BAR = "#3b6fb6"
MISSED = "#c0504d"
TARGET = "#e0a030"


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _label(value: float | None, rate: bool) -> str:
    if value is None:
        return "—"
    if rate:
        return _pct(value)
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def rates_chart(rows: list[tuple[str, float | None, float, bool | None]], *, width: int = 640) -> str:
    """Horizontal bars: each rate KPI's value over the quarter (red when it misses) with its target as a tick."""
    left, right, row_h, top = 230, 70, 26, 28
    height = top + row_h * len(rows) + 26
    span = width - left - right
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' font-family="{FONT}" font-size="11">',
        f'<text x="{left}" y="16" font-size="12">本季度指标值（橙色刻度为目标值）</text>',
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        x = left + span * tick
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 22}" stroke="#ddd"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" fill="#666">{int(tick * 100)}%</text>')
    for i, (title, value, target, met) in enumerate(rows):
        y = top + i * row_h
        parts.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{escape(title)}</text>')
        if value is not None:
            colour = MISSED if met is False else BAR
            parts.append(
                f'<rect x="{left}" y="{y + 5}" width="{span * min(value, 1):.1f}" height="15" fill="{colour}"/>'
            )
        parts.append(f'<text x="{left + span + 6}" y="{y + 16}">{_label(value, True)}</text>')
        tx = left + span * min(target, 1)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{y + 2}" x2="{tx:.1f}" y2="{y + 23}" stroke="{TARGET}" stroke-width="2.5"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def monthly_chart(
    title: str,
    months: list[tuple[str, float | None]],
    *,
    rate: bool,
    target: float,
    at_most: bool = False,
    width: int = 300,
) -> str:
    """Vertical bars of one KPI month by month (red in a month that misses), with its target as a dashed line."""
    height, left, bottom, top = 178, 36, 26, 38
    plot_h = height - top - bottom
    known = [v for _, v in months if v is not None]
    ceiling = 1.0 if rate else max([*known, target, 1.0]) * 1.15
    span = width - left - 10
    slot = span / max(len(months), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' font-family="{FONT}" font-size="10">',
        f'<text x="{width / 2}" y="14" text-anchor="middle" font-size="11">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#999"/>',
    ]
    for i, (month, value) in enumerate(months):
        x = left + slot * i + slot * 0.2
        if value is not None:
            h = plot_h * min(value / ceiling, 1)
            colour = MISSED if (value > target if at_most else value < target) else BAR
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.6:.1f}" height="{h:.1f}"'
                f' fill="{colour}"/>'
            )
            parts.append(
                f'<text x="{x + slot * 0.3:.1f}" y="{top + plot_h - h - 3:.1f}" text-anchor="middle">'
                f"{_label(value, rate)}</text>"
            )
        else:
            parts.append(
                f'<text x="{x + slot * 0.3:.1f}" y="{top + plot_h - 4}" text-anchor="middle" fill="#999">无数据</text>'
            )
        parts.append(f'<text x="{x + slot * 0.3:.1f}" y="{height - 8}" text-anchor="middle">{escape(month)}</text>')
    ty = top + plot_h * (1 - min(target / ceiling, 1))
    parts.append(
        f'<line x1="{left}" y1="{ty:.1f}" x2="{width - 10}" y2="{ty:.1f}" stroke="{TARGET}"'
        ' stroke-dasharray="4 3" stroke-width="1.5"/>'
    )
    parts.append(
        f'<text x="{left - 4}" y="{ty + 3:.1f}" text-anchor="end" fill="{TARGET}">{_label(target, rate)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
