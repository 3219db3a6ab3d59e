"""Care plans' recurrences: RFC 5545 RRULE values read by python-dateutil, and
their occurrences as UTC instants of a local time of day in a time zone.

Pure code, no database. A plan's rule repeats *days* (DAILY, WEEKLY, MONTHLY,
YEARLY); the time of day is the plan's `time`, so rules finer than a day
(SECONDLY, MINUTELY, HOURLY) and the parts that set times (BYHOUR, BYMINUTE,
BYSECOND) are refused: a carer cannot come every minute, and a rule that made
thousands of visits a day would flood the providers' queues. A rule without an
end (no COUNT, no UNTIL) is fine: the horizon job only ever looks a couple of
days ahead, and a daily meal goes on until someone ends or pauses the plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr

from service.i18n import Rejected

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
TOO_FREQUENT = ("SECONDLY", "MINUTELY", "HOURLY")
TIME_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
PARTS = frozenset(
    {
        "FREQ",
        "INTERVAL",
        "COUNT",
        "UNTIL",
        "BYDAY",
        "BYMONTHDAY",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYMONTH",
        "BYSETPOS",
        "WKST",
        *TIME_PARTS,
    }
)
MAX_COUNT = 3660  # ten years of daily visits
MAX_INTERVAL = 52
# A rule must make a first visit within this long of its start, or it never will
# in any sense that matters (a leap day comes within four years).
FIRST_WITHIN = dt.timedelta(days=4 * 366)


def parts_of(value: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in value.split(";"):
        name, equals, part = item.partition("=")
        if not equals or not name or not part or name in parts:
            raise Rejected("care_plan.rrule_invalid")
        parts[name] = part
    return parts


def check_rule(value: str) -> str:
    """The rule, upper-cased, if it is one a plan may have; Rejected otherwise."""
    value = value.strip().upper()
    if value.startswith("RRULE:"):
        value = value[len("RRULE:") :]
    parts = parts_of(value)
    unknown = sorted(set(parts) - PARTS)
    if unknown:
        raise Rejected("care_plan.rrule_part_unknown", part=unknown[0])
    freq = parts.get("FREQ")
    if freq in TOO_FREQUENT:
        raise Rejected("care_plan.rrule_too_frequent", freq=freq)
    if freq not in FREQUENCIES:
        raise Rejected("care_plan.rrule_invalid")
    for part in TIME_PARTS:
        if part in parts:
            raise Rejected("care_plan.rrule_sets_time", part=part)
    if "COUNT" in parts and "UNTIL" in parts:
        raise Rejected("care_plan.rrule_invalid")
    for name, limit in (("COUNT", MAX_COUNT), ("INTERVAL", MAX_INTERVAL)):
        if name in parts and (not parts[name].isdigit() or not 1 <= int(parts[name]) <= limit):
            raise Rejected("care_plan.rrule_bound", part=name, limit=limit)
    try:
        # Parsed against a day like any other: syntax and values (BYDAY=XX, UNTIL).
        rule(value, dt.date(2026, 1, 1), dt.time(9, 0))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise Rejected("care_plan.rrule_invalid") from exc
    return value


def rule(value: str, starts_on: dt.date, at: dt.time) -> rrule:
    """dateutil's rule starting on `starts_on` at local time `at` (naive local time)."""
    parsed = rrulestr(value, dtstart=dt.datetime.combine(starts_on, at))
    if not isinstance(parsed, rrule):  # an RRULE value never makes a set
        raise ValueError("not a single rule")
    return parsed


def _period_start(parts: dict[str, str], dtstart: dt.datetime, not_after: dt.date) -> dt.datetime:
    """A later start for a rule without COUNT that makes the same occurrences from
    `not_after` on: the start moved by whole periods (INTERVAL days, weeks, months
    or years), which keeps the rule's phase. Iterating from a plan's first day
    each run would cost a plan started years ago thousands of steps."""
    if "COUNT" in parts or not_after <= dtstart.date():
        return dtstart
    interval = int(parts.get("INTERVAL", "1"))
    freq = parts["FREQ"]
    if freq in ("DAILY", "WEEKLY"):
        step = interval * (1 if freq == "DAILY" else 7)
        periods = (not_after - dtstart.date()).days // step - 1
        return dtstart + dt.timedelta(days=max(periods, 0) * step) if periods > 0 else dtstart
    if dtstart.day > 28 or (dtstart.month == 2 and dtstart.day == 29):
        return dtstart  # months and years would clip the day: keep the true start
    months = interval * (1 if freq == "MONTHLY" else 12)
    elapsed = (not_after.year - dtstart.year) * 12 + not_after.month - dtstart.month
    periods = elapsed // months - 1
    if periods <= 0:
        return dtstart
    return dtstart + relativedelta(months=periods * months)


def _bounded(recurrence: rrule, parts: dict[str, str], limit: dt.datetime | None) -> rrule:
    """The rule, stopping at the naive local `limit` too (a rule with COUNT stops by itself)."""
    if limit is None or "COUNT" in parts:
        return recurrence
    own = recurrence._until  # type: ignore[attr-defined]
    return recurrence.replace(until=limit if own is None else min(own, limit))


def local_instants(
    value: str,
    starts_on: dt.date,
    at: dt.time,
    zone: ZoneInfo,
    *,
    after: dt.datetime,
    limit: dt.datetime | None = None,
) -> Iterator[dt.datetime]:
    """The rule's occurrences at or after the UTC instant `after` (and, without
    COUNT, up to the local `limit`), as UTC instants of local time `at` in `zone`
    (11:30 in Ürümqi is 11:30 there, whatever the date in UTC), in order."""
    parts = parts_of(value)
    local_after = after.astimezone(zone).replace(tzinfo=None)
    # A day early: the local date of `after` may be a day behind in another zone.
    begin = _period_start(
        parts, dt.datetime.combine(starts_on, at), local_after.date() - dt.timedelta(days=1)
    )
    recurrence = _bounded(rule(value, begin.date(), begin.time()), parts, limit)
    for local in recurrence.xafter(local_after, inc=True):
        instant = local.replace(tzinfo=zone).astimezone(dt.UTC)
        if instant >= after:
            yield instant


def window(
    value: str,
    starts_on: dt.date,
    ends_on: dt.date | None,
    at: dt.time,
    zone: ZoneInfo,
    *,
    after: dt.datetime,
    until: dt.datetime,
    day_off: Callable[[dt.date], bool] | None = None,
) -> tuple[list[dt.datetime], dt.datetime | None]:
    """The occurrences in [after, until] (less the local days `day_off` says are
    off), and when to look next: the first occurrence after `until`, or, when
    none comes within FIRST_WITHIN after it, that far on; None once the plan
    makes no more (its rule or `ends_on` ended it)."""
    made: list[dt.datetime] = []
    look_to = until + FIRST_WITHIN
    limit = look_to.astimezone(zone).replace(tzinfo=None)
    if ends_on is not None:
        limit = min(limit, dt.datetime.combine(ends_on, dt.time.max))
    for instant in local_instants(value, starts_on, at, zone, after=after, limit=limit):
        local_day = instant.astimezone(zone).date()
        if ends_on is not None and local_day > ends_on:
            return made, None
        if instant > until:
            return made, instant
        if day_off is None or not day_off(local_day):
            made.append(instant)
    ended = "COUNT" in parts_of(value) or ends_on is not None and limit.date() >= ends_on
    own_until = rule(value, starts_on, at)._until  # type: ignore[attr-defined]
    if ended or (own_until is not None and own_until <= limit):
        return made, None
    return made, look_to


def _shifted(moment: dt.datetime, years: int) -> dt.datetime:
    return moment.replace(year=moment.year + years)


def first_occurrence(
    value: str, starts_on: dt.date, ends_on: dt.date | None, at: dt.time, zone: ZoneInfo
) -> dt.datetime | None:
    """The plan's first occurrence (holidays aside), if it has one within
    FIRST_WITHIN of its start and not after `ends_on`.

    dateutil looks for a rule's next occurrence up to the year 9999: for a rule
    that never occurs (FREQ=DAILY;INTERVAL=7;BYDAY=MO from a Tuesday) that is
    seconds of CPU. The Gregorian calendar repeats every 400 years (146,097 days,
    exactly 20,871 weeks), so the search starts from the plan's start moved by
    whole multiples of 400 x INTERVAL years (same weekdays, leap days and
    phase) to where between one and two such spans are left before 9999."""
    parts = parts_of(value)
    parts.pop("COUNT", None)  # the first is the same with or without a count
    span = 400 * int(parts.get("INTERVAL", "1"))
    dtstart = dt.datetime.combine(starts_on, at)
    shift = max(0, (dt.MAXYEAR - 2 * span - dtstart.year) // span) * span
    recurrence = rrulestr(";".join(f"{k}={v}" for k, v in parts.items()), dtstart=dtstart)
    assert isinstance(recurrence, rrule)
    own_until = recurrence._until  # type: ignore[attr-defined]
    recurrence = recurrence.replace(
        dtstart=_shifted(dtstart, shift),
        until=None if own_until is None else _shifted(own_until, shift),
    )
    found = recurrence.after(_shifted(dtstart, shift), inc=True)
    if found is None:
        return None
    first = _shifted(found, -shift)
    if first - dtstart > FIRST_WITHIN or (ends_on is not None and first.date() > ends_on):
        return None
    return first.replace(tzinfo=zone).astimezone(dt.UTC)
