"""The histograms of durations the rollup keeps instead of the durations: the
buckets (in SQL and in Python), and percentiles read back from the counts.

Percentiles from the histograms are approximate: the answer lies in the same
bucket as the exact percentile's neighbouring values, so it is off by less than
the width of that bucket: under 25% of the value above a minute (buckets grow by
1.25x), under a minute below it; above 149 days the last bucket has no upper edge.
"""

from __future__ import annotations

import bisect
import itertools
import math
from typing import Any

from sqlalchemy import case, literal

from service.metrics.models import HISTOGRAM_BUCKETS

EDGES: tuple[float, ...] = tuple(60.0 * 1.25**k for k in range(HISTOGRAM_BUCKETS - 1))


def bucket_sql(seconds: Any) -> Any:
    """SQL for the bucket of a duration in seconds: the number of EDGES at or below
    it (NULL for NULL)."""

    def tree(lo: int, hi: int) -> Any:
        if lo == hi:
            return literal(lo)
        mid = (lo + hi + 1) // 2
        return case((seconds < EDGES[mid - 1], tree(lo, mid - 1)), else_=tree(mid, hi))

    return case((seconds.is_(None), None), else_=tree(0, len(EDGES)))


def bucket_range(index: int) -> tuple[float, float]:
    low = EDGES[index - 1] if index > 0 else 0.0
    high = EDGES[index] if index < len(EDGES) else EDGES[-1] * 1.25
    return low, high


def bucket_index(seconds: float) -> int:
    return sum(1 for edge in EDGES if edge <= seconds)


_LOWS = tuple(bucket_range(i)[0] for i in range(HISTOGRAM_BUCKETS))
_WIDTHS = tuple(bucket_range(i)[1] - bucket_range(i)[0] for i in range(HISTOGRAM_BUCKETS))


def _order_statistic(histogram: list[int], cumulative: list[int], position: int) -> float:
    """The `position`-th value (0-based) placed evenly within its bucket."""
    index = bisect.bisect_right(cumulative, position)
    seen = cumulative[index - 1] if index else 0
    return _LOWS[index] + (position - seen + 0.5) / histogram[index] * _WIDTHS[index]


def percentile(
    histogram: list[int], fraction: float, cumulative: list[int] | None = None
) -> float | None:
    """percentile_cont over the histogram: interpolate between the two values
    around 1 + fraction (n - 1), as PostgreSQL does over the values themselves."""
    if cumulative is None:
        cumulative = list(itertools.accumulate(histogram))
    n = cumulative[-1]
    if n == 0:
        return None
    rank = fraction * (n - 1)
    low = math.floor(rank)
    index = bisect.bisect_right(cumulative, low)
    seen = cumulative[index - 1] if index else 0
    count, width = histogram[index], _WIDTHS[index]
    value = _LOWS[index] + (low - seen + 0.5) / count * width
    if rank > low:
        # the next value: in the same bucket, or the first of the next non-empty one
        if low + 1 < seen + count:
            following = value + width / count
        else:
            following = _order_statistic(histogram, cumulative, low + 1)
        value += (rank - low) * (following - value)
    return value
