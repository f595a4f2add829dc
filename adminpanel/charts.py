"""
Server-rendered SVG charts.

No script and no inline style, so they draw under the strict CSP; colours
come from classes in dashboard.css. Each point carries a <title> tooltip and
an empty period still draws the axes with a "No data" note.
"""

from decimal import Decimal
from math import ceil, log10

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 30


def nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 × 10^n)."""
    if value <= 0:
        return 1.0
    power = 10 ** int(log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return ceil(value)


def _fmt(value: float, unit: str = "") -> str:
    if unit == "%":
        return f"{value * 100:.1f}%"
    if abs(value) >= 1_000_000:
        text = f"{value / 1_000_000:.1f}M"
    elif abs(value) >= 10_000:
        text = f"{value / 1000:.0f}k"
    elif abs(value) >= 1000:
        text = f"{value / 1000:.1f}k"
    elif value == int(value):
        text = f"{int(value)}"
    else:
        text = f"{value:.2f}"
    return f"{unit}{text}" if unit else text


def line_chart(
    *,
    labels: list[str],
    series: list[tuple[str, list]],
    title: str,
    unit: str = "",
) -> SafeString:
    """
    A line chart of one or more series sharing the x axis.

    `series` is [(name, values)]; the first is the current period and any
    other (e.g. the previous period) is drawn dashed.
    """
    numbers = [[float(v or 0) for v in values] for _, values in series]
    top = nice_max(max((max(vals, default=0) for vals in numbers), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = len(labels)

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h - plot_h * v / top

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        value = top * i / 4
        gy = y(value)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end">'
            f"{escape(_fmt(value, unit))}</text>"
        )
    step = max(1, ceil(count / 8))
    for i in range(0, count, step):
        parts.append(
            f'<text class="axis" x="{x(i):.1f}" y="{HEIGHT - 10}" text-anchor="middle">'
            f"{escape(labels[i])}</text>"
        )
    parts.append(
        f'<line class="axis-line" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
        f'y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>'
    )
    has_data = any(any(vals) for vals in numbers)
    if not has_data:
        parts.append(
            f'<text class="empty-note" x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" '
            'text-anchor="middle">No data for this period</text>'
        )
    else:
        for index, ((name, _), vals) in enumerate(
            reversed(list(zip(series, numbers, strict=True)))
        ):
            css = "series-0" if index == len(series) - 1 else "series-prev"
            points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vals))
            parts.append(f'<polyline class="line {css}" points="{points}"/>')
            if css == "series-0":
                for i, v in enumerate(vals):
                    parts.append(
                        f'<circle class="dot" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3">'
                        f"<title>{escape(labels[i])}: {escape(_fmt(v, unit))} "
                        f"({escape(name)})</title></circle>"
                    )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def bar_chart(
    *, rows: list[tuple[str, float | Decimal]], title: str, unit: str = ""
) -> SafeString:
    """Horizontal bars, one per (label, value), labelled with their values."""
    bar_h, gap, label_w = 22, 6, 170
    height = max(len(rows), 1) * (bar_h + gap) + gap
    width = WIDTH
    top = nice_max(max((float(v or 0) for _, v in rows), default=0))
    plot_w = width - label_w - 70
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    if not rows or not any(float(v or 0) for _, v in rows):
        parts.append(
            f'<text class="empty-note" x="{width / 2}" y="{height / 2 + 4}" '
            'text-anchor="middle">No data for this period</text>'
        )
    for i, (label, value) in enumerate(rows):
        value = float(value or 0)
        by = gap + i * (bar_h + gap)
        bw = max(plot_w * value / top, 1 if value else 0)
        short = label if len(label) <= 24 else label[:23] + "…"
        parts.append(
            f'<text class="axis" x="{label_w - 8}" y="{by + 15}" text-anchor="end">'
            f"{escape(short)}</text>"
            f'<rect class="bar" x="{label_w}" y="{by}" width="{bw:.1f}" height="{bar_h}">'
            f"<title>{escape(label)}: {escape(_fmt(value, unit))}</title></rect>"
            f'<text class="value" x="{label_w + bw + 6:.1f}" y="{by + 15}">'
            f"{escape(_fmt(value, unit))}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
