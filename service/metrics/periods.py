"""Months and quarters in the deployment's local time, and how SQL finds a
ticket's one without any time-zone support of its own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, case, literal

from service.db import UTCDateTime

MAX_BUCKETS = 240


@dataclass(frozen=True)
class Bucket:
    label: str  # "2026-03" or "2026Q1"
    start: dt.datetime  # UTC, inclusive
    end: dt.datetime  # UTC, exclusive


def local_midnight(day: dt.date, timezone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), ZoneInfo(timezone)).astimezone(dt.UTC)


def _month_start(year: int, month: int, timezone: str) -> dt.datetime:
    return local_midnight(dt.date(year, month, 1), timezone)


def month_label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def quarter_label(year: int, month: int) -> str:
    return f"{year:04d}Q{(month - 1) // 3 + 1}"


def buckets(start: dt.datetime, end: dt.datetime, unit: str, timezone: str) -> list[Bucket]:
    """The local months or quarters that [start, end) touches, clipped to it."""
    step = 1 if unit == "month" else 3
    local = start.astimezone(ZoneInfo(timezone))
    year, month = local.year, local.month
    if unit == "quarter":
        month = (month - 1) // 3 * 3 + 1
    out: list[Bucket] = []
    while True:
        bucket_start = _month_start(year, month, timezone)
        if bucket_start >= end:
            break
        next_year, next_month = (year + (month + step - 1) // 12, (month + step - 1) % 12 + 1)
        bucket_end = _month_start(next_year, next_month, timezone)
        label = month_label(year, month) if unit == "month" else quarter_label(year, month)
        out.append(Bucket(label, max(bucket_start, start), min(bucket_end, end)))
        if len(out) > MAX_BUCKETS:
            raise ValueError(f"more than {MAX_BUCKETS} {unit}s")
        year, month = next_year, next_month
    return out


def bucket_of(column: Any, bounds: list[Bucket], values: list[Any] | None = None) -> Any:
    """SQL for the index (or `values[index]`) of the bucket holding `column`, as a
    binary tree of comparisons: log2(n) per row, the same on both databases, and
    local time (with any DST rules) stays in Python."""
    values = values if values is not None else list(range(len(bounds)))

    def tree(lo: int, hi: int) -> Any:
        if lo == hi:
            return literal(values[lo])
        mid = (lo + hi + 1) // 2
        return case(
            (column < literal(bounds[mid].start, UTCDateTime()), tree(lo, mid - 1)),
            else_=tree(mid, hi),
        )

    return tree(0, len(bounds) - 1)


def local_months(start: dt.datetime, end: dt.datetime, timezone: str) -> list[Bucket]:
    """The whole local months covering [start, end), unclipped."""
    zone = ZoneInfo(timezone)
    day = start.astimezone(zone).date().replace(day=1)
    out: list[Bucket] = []
    while True:
        month_start = local_midnight(day, timezone)
        if month_start >= end:
            return out
        following = (day + dt.timedelta(days=32)).replace(day=1)
        out.append(Bucket(day.isoformat(), month_start, local_midnight(following, timezone)))
        day = following


def local_month(instant: dt.datetime, timezone: str) -> dt.date:
    return instant.astimezone(ZoneInfo(timezone)).date().replace(day=1)


def is_month_start(instant: dt.datetime, timezone: str) -> bool:
    local = instant.astimezone(ZoneInfo(timezone))
    return local.day == 1 and local.time() == dt.time()


def quarter_start(month: dt.date) -> dt.date:
    return month.replace(month=(month.month - 1) // 3 * 3 + 1, day=1)


def next_quarter(month: dt.date) -> dt.date:
    """The first month of the quarter after `month`'s."""
    return (quarter_start(month) + dt.timedelta(days=100)).replace(day=1)


def period_of(column: Any, starts: list[dt.date], values: list[Any] | None = None) -> Any:
    """SQL for the period (a month or quarter, by its first month among `starts`,
    sorted) that a month `column` (a date) lies in, or the value given for it."""

    def tree(lo: int, hi: int) -> Any:
        if lo == hi:
            return literal(starts[lo], Date()) if values is None else literal(values[lo])
        mid = (lo + hi + 1) // 2
        return case((column < literal(starts[mid], Date()), tree(lo, mid - 1)), else_=tree(mid, hi))

    return tree(0, len(starts) - 1)
