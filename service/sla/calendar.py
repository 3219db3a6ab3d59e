"""Business time: working hours per weekday, Chinese public holidays and their
make-up working days (调休), admin overrides per date, in a local time zone.

Pure code, no database: `WorkCalendar.add(start, seconds)` is the instant when
`seconds` of working time have passed after `start`; `between(a, b)` is the
working time inside [a, b). The rules for one day are, in order:

1. an admin override for that date (its hours, or a day off);
2. with official holidays on: a statutory holiday or bridging day is off, with
   the weekend days of its holiday period; a make-up working day (a weekend
   day declared a workday) works the hours of a Monday (`MAKEUP_WEEKDAY`);
3. the weekday's hours.

The official days come from service/sla/official.py (the `holidays` package).
A year whose State Council notice the package lacks has its statutory holidays
but no bridging or make-up days; /readyz and the start-up log name such years,
and admins can override any date through `/v1/calendars`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

from service.i18n import Rejected
from service.sla.official import official_day

Span = tuple[int, int]  # minutes after local midnight, [start, end), 0 <= start < end <= 1440
DaySpans = tuple[Span, ...]

MAKEUP_WEEKDAY = 0  # Monday
ALL_DAY: DaySpans = ((0, 1440),)
# Ten years without a single working minute means the calendar is broken, not busy.
MAX_DAYS = 3660


class CalendarNeverWorks(ValueError):
    """No working time within ten years: a deadline cannot be computed."""


def parse_hhmm(text: str) -> int:
    hours, _, minutes = text.partition(":")
    value = int(hours) * 60 + int(minutes)
    if not (0 <= int(minutes) < 60 and 0 <= value <= 1440):
        raise Rejected("validation.time_of_day", value=repr(text))
    return value


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def normalise_spans(spans: Sequence[Span]) -> DaySpans:
    """Sorted, validated, non-overlapping spans."""
    ordered = sorted((int(s), int(e)) for s, e in spans)
    for index, (start, end) in enumerate(ordered):
        if not 0 <= start < end <= 1440:
            raise Rejected(
                "calendar.span_outside_day", span=f"{format_hhmm(start)}-{format_hhmm(end)}"
            )
        if index + 1 < len(ordered) and ordered[index + 1][0] < end:
            raise Rejected("calendar.spans_overlap")
    return tuple(ordered)


@dataclass(frozen=True, eq=False)
class WorkCalendar:
    zone: ZoneInfo
    weekly: tuple[DaySpans, ...]  # Monday first, seven entries
    official_holidays: bool = True
    overrides: Mapping[dt.date, DaySpans] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError("seven weekdays")
        always = (
            all(day == ALL_DAY for day in self.weekly)
            and not self.official_holidays
            and not self.overrides
        )
        object.__setattr__(self, "always", always)
        object.__setattr__(self, "_spans", lru_cache(maxsize=4096)(self._spans_uncached))

    always: bool = field(init=False)

    @classmethod
    def around_the_clock(cls, zone: ZoneInfo) -> WorkCalendar:
        return cls(zone=zone, weekly=(ALL_DAY,) * 7, official_holidays=False)

    def spans(self, day: dt.date) -> DaySpans:
        return self._spans(day)  # type: ignore[attr-defined,no-any-return]

    def _spans_uncached(self, day: dt.date) -> DaySpans:
        override = self.overrides.get(day)
        if override is not None:
            return override
        if self.official_holidays:
            official = official_day(day)
            if official == "holiday":
                return ()
            if official == "workday" and not self.weekly[day.weekday()]:
                return self.weekly[MAKEUP_WEEKDAY]
        return self.weekly[day.weekday()]

    def day_off_for_holiday(self, day: dt.date) -> bool:
        """Whether `day` is a holiday in this calendar: an administrator's day off,
        or (with official holidays) a statutory holiday or bridging day. Weekends
        are not holidays: a Saturday meal still comes (care plans' `skip_holidays`)."""
        override = self.overrides.get(day)
        if override is not None:
            return not override
        return self.official_holidays and official_day(day) == "holiday"

    def _local(self, instant: dt.datetime) -> tuple[dt.date, float]:
        local = instant.astimezone(self.zone)
        seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        return local.date(), seconds

    def _instant(self, day: dt.date, seconds: float) -> dt.datetime:
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=self.zone)
        return (midnight + dt.timedelta(seconds=seconds)).astimezone(dt.UTC)

    def add(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """The instant at which `seconds` of working time after `start` have passed."""
        if seconds <= 0:
            return start
        if self.always:
            return start + dt.timedelta(seconds=seconds)
        day, offset = self._local(start)
        remaining = float(seconds)
        for _ in range(MAX_DAYS):
            for span_start, span_end in self.spans(day):
                begin, end = max(offset, span_start * 60), span_end * 60
                if begin >= end:
                    continue
                if remaining <= end - begin:
                    return self._instant(day, begin + remaining)
                remaining -= end - begin
            day += dt.timedelta(days=1)
            offset = 0.0
        raise CalendarNeverWorks("no working time in ten years")

    def between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working seconds inside [start, end); 0 when end <= start."""
        if end <= start:
            return 0.0
        if self.always:
            return (end - start).total_seconds()
        day, offset = self._local(start)
        last_day, last_offset = self._local(end)
        total = 0.0
        while day <= last_day:
            limit = last_offset if day == last_day else 86400.0
            for span_start, span_end in self.spans(day):
                begin, finish = max(offset, span_start * 60), min(limit, span_end * 60)
                if finish > begin:
                    total += finish - begin
            day += dt.timedelta(days=1)
            offset = 0.0
        return total

    def is_working(self, instant: dt.datetime) -> bool:
        day, offset = self._local(instant)
        return any(s * 60 <= offset < e * 60 for s, e in self.spans(day))
