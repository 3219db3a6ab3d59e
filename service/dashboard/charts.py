"""Charts as inline SVG drawn on the server: nothing to fetch, no script to run."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1f6fb2", "#e07b22", "#2a9d5b", "#8e44ad", "#c0392b", "#16a2b8")


def _fmt(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:,.0f}" if value >= 100 or float(value).is_integer() else f"{value:.1f}"


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    targets: Sequence[tuple[str, Sequence[float | None]]] = (),
    *,
    percent: bool = True,
    width: int = 560,
    height: int = 260,
) -> str:
    """Lines over the labels; targets as dashed steps in the same colour."""
    left, right, top, bottom = 48, 12, 30, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in (*series, *targets) for v in vs if v is not None]
    high = max(values, default=1.0)
    low = min(values, default=0.0)
    if percent:
        low, high = max(0.0, min(low, 0.5) - 0.05), min(1.0, high + 0.02) if high <= 1 else high
    if high <= low:
        high = low + 1
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - low) / (high - low))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="18" class="t">{escape(title)}</text>',
    ]
    v: float | None
    for k in range(5):
        v = low + (high - low) * k / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
            f'<text x="{left - 4}" y="{y(v) + 4:.1f}" class="ax" text-anchor="end">'
            f"{_fmt(v, percent)}</text>"
        )
    step = max(1, n // 12)
    for i, label in enumerate(labels):
        if i % step == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 16}" class="ax" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    for index, (name, points) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        path = _path([(x(i), y(v)) for i, v in enumerate(points) if v is not None])
        if path:
            parts.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        for i, v in enumerate(points):
            if v is not None:
                parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>')
        if index < len(targets):
            target_points = targets[index][1]
            steps = []
            for i, v in enumerate(target_points):
                if v is not None:
                    steps += [(x(i) - plot_w / n / 2, y(v)), (x(i) + plot_w / n / 2, y(v))]
            if steps:
                parts.append(
                    f'<path d="{_path(steps)}" fill="none" stroke="{colour}" '
                    'stroke-width="1.5" stroke-dasharray="5 4" opacity="0.8"/>'
                )
        lx = left + index * 170
        parts.append(
            f'<rect x="{lx}" y="{height - 22}" width="12" height="4" fill="{colour}"/>'
            f'<text x="{lx + 16}" y="{height - 16}" class="lg">{escape(name)}</text>'
        )
    if targets:
        parts.append(
            f'<text x="{width - right}" y="18" class="ax" text-anchor="end">'
            "虚线：目标 target</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _path(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(
        f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}" for i, (px, py) in enumerate(points)
    )


def bar_chart(
    title: str,
    items: Sequence[tuple[str, float, str | None]],
    *,
    percent: bool = False,
    width: int = 560,
    bar: int = 18,
) -> str:
    """Horizontal bars: (label, value, colour or None)."""
    left, right, top = 190, 70, 30
    height = top + len(items) * (bar + 6) + 10
    high = max((v for _, v, _ in items), default=1.0) or 1.0
    if percent:
        high = max(high, 1.0)
    plot_w = width - left - right
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="8" y="18" class="t">{escape(title)}</text>',
    ]
    for i, (label, value, colour) in enumerate(items):
        top_y = top + i * (bar + 6)
        w = max(1.0, plot_w * value / high)
        parts.append(
            f'<text x="{left - 6}" y="{top_y + bar - 5}" class="lb" text-anchor="end">'
            f"{escape(label[:18])}</text>"
            f'<rect x="{left}" y="{top_y}" width="{w:.1f}" height="{bar}" '
            f'fill="{colour or PALETTE[0]}"/>'
            f'<text x="{left + w + 4:.1f}" y="{top_y + bar - 5}" class="ax">'
            f"{_fmt(value, percent)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
