"""Charts as inline SVG drawn on the server: nothing to fetch, no script to run.

Honest by construction: a count axis starts at zero, a missing value is drawn as
a gap or said in words (never as 0), and labels are measured so that none is
cut off at the edge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#1f6fb2", "#e07b22", "#2a9d5b", "#8e44ad", "#c0392b", "#16a2b8")
LABEL_FONT = 12  # px, the `.lb` class below


def _fmt(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:,.0f}" if value >= 100 or float(value).is_integer() else f"{value:.1f}"


def text_width(text: str, font_px: float = LABEL_FONT) -> float:
    """The drawn width of `text`, estimated: a CJK character is about one em wide,
    Latin letters and digits a little over half an em (sans-serif)."""
    wide = sum(1 for ch in text if ord(ch) >= 0x2E80)
    return (wide + 0.62 * (len(text) - wide)) * font_px


def fit_label(text: str, room: float, font_px: float = LABEL_FONT) -> str:
    """`text`, shortened with an ellipsis until it fits in `room` pixels."""
    if text_width(text, font_px) <= room:
        return text
    while text and text_width(text + "…", font_px) > room:
        text = text[:-1]
    return text + "…"


def _nice_top(high: float, ticks: int = 4) -> float:
    """The top of a count axis at or above `high`, with `ticks` round steps
    (1, 2, 2.5 or 5 times a power of ten) from zero: 28 becomes 40 (0, 10, 20...)."""
    if high <= 0:
        return float(ticks)
    raw = high / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if step < 1:
        step = 1.0  # counts: whole numbers on the axis
    return step * ticks


def _lines(points: Sequence[tuple[float, float] | None]) -> list[str]:
    """Path data for runs of points; None breaks the line (no data is not zero).
    A lone point is no line: its dot shows it."""
    paths: list[str] = []
    run: list[tuple[float, float]] = []
    for point in [*points, None]:
        if point is None:
            if len(run) > 1:
                paths.append(_path(run))
            run = []
        else:
            run.append(point)
    return paths


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    targets: Sequence[tuple[str, Sequence[float | None]]] = (),
    *,
    percent: bool = True,
    width: int = 560,
    height: int = 260,
    note: str = "",
) -> str:
    """Lines over the labels; targets as dashed steps in the same colour. A count
    axis (percent=False) always starts at zero; `note` is a line under the title."""
    left, right, top, bottom = 48, 12, 30 + (16 if note else 0), 58
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in (*series, *targets) for v in vs if v is not None]
    high = max(values, default=1.0)
    low = min(values, default=0.0)
    if percent:
        low, high = max(0.0, min(low, 0.5) - 0.05), min(1.0, high + 0.02) if high <= 1 else high
    else:
        low, high = 0.0, _nice_top(high)
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
    if note:
        parts.append(f'<text x="{left}" y="34" class="ax">{escape(note)}</text>')
    v: float | None
    for k in range(5):
        v = low + (high - low) * k / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
            f'<text x="{left - 4}" y="{y(v) + 4:.1f}" class="ax" text-anchor="end">'
            f"{_fmt(v, percent)}</text>"
        )
    # As many axis labels as fit side by side; "2024Q1" becomes "24Q1" when crowded.
    shown = list(labels)
    if shown and max(text_width(s, 11) for s in shown) + 4 > plot_w / n:
        shown = [s[2:] if len(s) == 6 and s[:2] == "20" else s for s in shown]
    widest = max((text_width(s, 11) for s in shown), default=0.0) + 4
    step = max(1, int(widest // (plot_w / n)) + 1) if widest > plot_w / n else 1
    for i, label in enumerate(shown):
        if i % step == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 16}" class="ax" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    for index, (name, points) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        for path in _lines([None if v is None else (x(i), y(v)) for i, v in enumerate(points)]):
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
    items: Sequence[tuple[str, float | None, str | None]],
    *,
    percent: bool = False,
    width: int = 560,
    bar: int = 18,
    missing: str = "无数据",
    note: str = "",
) -> str:
    """Horizontal bars: (label, value or None, colour or None). A None value gets
    no bar but the words `missing`; `note` is a line under the title."""
    # The label column is as wide as the longest label needs, within limits;
    # a label longer than that is shortened, and its full text is its tooltip.
    longest = max((text_width(label) for label, _, _ in items), default=0.0)
    left = int(min(max(longest + 14, 80), width * 0.45))
    right = 70
    top = 30 + (16 if note else 0)
    height = top + len(items) * (bar + 6) + 10
    high = max((v for _, v, _ in items if v is not None), default=1.0) or 1.0
    if percent:
        high = max(high, 1.0)
    plot_w = width - left - right
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="8" y="18" class="t">{escape(title)}</text>',
    ]
    if note:
        parts.append(f'<text x="8" y="34" class="ax">{escape(note)}</text>')
    for i, (label, value, colour) in enumerate(items):
        top_y = top + i * (bar + 6)
        parts.append(
            f'<text x="{left - 6}" y="{top_y + bar - 5}" class="lb" text-anchor="end">'
            f"<title>{escape(label)}</title>{escape(fit_label(label, left - 10))}</text>"
        )
        if value is None:
            parts.append(
                f'<text x="{left + 4}" y="{top_y + bar - 5}" class="ax missing">'
                f"{escape(missing)}</text>"
            )
            continue
        w = max(1.0, plot_w * value / high)
        parts.append(
            f'<rect x="{left}" y="{top_y}" width="{w:.1f}" height="{bar}" '
            f'fill="{colour or PALETTE[0]}"/>'
            f'<text x="{left + w + 4:.1f}" y="{top_y + bar - 5}" class="ax">'
            f"{_fmt(value, percent)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
