"""Mainland China's official days off and make-up working days (调休), from the
`holidays` package, and how far ahead they are known.

The package gives two kinds of days for China:

- the statutory holidays of the 全国年节及纪念日放假办法 (New Year's Day; the
  Spring Festival's eve and first three days; Qingming; two days of Labour Day;
  Dragon Boat; Mid-Autumn; three days of National Day), with a day in lieu for
  each one that falls on a weekend: for any year, by rule;
- each year's State Council notice (国务院办公厅关于××年部分节假日安排的通知):
  the weekdays given off to bridge a holiday and the weekend days worked
  instead. Only for the years whose notice the package carries.

A year without its notice keeps the statutory days but lacks its bridging days
and make-up working days, so deadlines around its holidays are off by a day or
more until the package is upgraded or administrators add the days as
overrides. `coverage()` names those years, for /readyz and the start-up log:
never a silent fall-back.

A holiday period counts as off as a whole, its weekend days included, which
matters to calendars with weekend hours: a weekend day next to a day off that
is not a make-up working day belongs to the period (2026: 2/15-2/23, where the
package lists the holidays and moved days but not Sunday 2/15 or 2/21-2/22).
For 2025 and 2026 this gives exactly the days of the `chinesecalendar` package
used before.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from holidays.countries.china import ChinaStaticHolidays

from service.config import Settings
from service.db import utcnow

log = logging.getLogger("linli.sla")

# The years loaded: from the first notice the package carries to as far as a
# deadline may be computed (ten years past any date the service will see).
FIRST_YEAR, LAST_YEAR = 2001, 2099
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class OfficialDays:
    days_off: frozenset[dt.date]
    makeup_workdays: frozenset[dt.date]  # weekend days declared working days
    notice_years: frozenset[int]  # years whose State Council notice the package carries
    source: str  # the package and its version, e.g. "holidays 0.109"


@cache
def official_days() -> OfficialDays:
    """Loaded once per process (about 0.3 s, most of it the package's first use)."""
    china = holidays.country_holidays("CN", years=range(FIRST_YEAR, LAST_YEAR + 1))
    makeup = frozenset(china.weekend_workdays)
    return OfficialDays(
        days_off=frozenset(_whole_periods(frozenset(china.keys()), makeup)),
        makeup_workdays=makeup,
        notice_years=frozenset(ChinaStaticHolidays.special_public_holidays),
        source=f"holidays {holidays.__version__}",
    )


def _whole_periods(days_off: frozenset[dt.date], makeup: frozenset[dt.date]) -> set[dt.date]:
    """The days off with the weekend days that join them into one period."""

    def resting(day: dt.date) -> bool:
        return day in days_off or (day.weekday() >= 5 and day not in makeup)

    periods = set(days_off)
    for day in days_off:
        for step in (ONE_DAY, -ONE_DAY):
            other = day + step
            while resting(other) and other not in periods:
                periods.add(other)
                other += step
    return periods


def official_day(day: dt.date) -> str | None:
    """'holiday', 'workday' (a make-up working day) or None for an ordinary day."""
    days = official_days()
    if day in days.days_off:
        return "holiday"
    if day in days.makeup_workdays:
        return "workday"
    return None


@dataclass(frozen=True)
class Coverage:
    """How far ahead the official schedule is known, seen from `today`."""

    source: str
    notice_years: tuple[int, int]  # the first and the newest year with a notice
    # Days from today to the end of the unbroken run of notice years that holds
    # today; 0 when this year has no notice. A gauge to alert on.
    days_left: int
    # This year, and each year that starts within the warning horizon, without
    # its notice.
    missing: tuple[int, ...]

    @property
    def warning(self) -> str | None:
        if not self.missing:
            return None
        years = ", ".join(str(year) for year in self.missing)
        return (
            f"no State Council holiday schedule for {years} in {self.source} "
            f"(it has {self.notice_years[0]}-{self.notice_years[1]}): those years' "
            "clocks know the statutory holidays but not the bridging days or the "
            "make-up working days (调休). Upgrade the holidays package once the notice "
            "is in it, or set the days with PUT /v1/calendars/{id}/days/{date}."
        )

    def detail(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "official_years": list(self.notice_years),
            "official_days_left": self.days_left,
            "missing_years": list(self.missing),
            "warning": self.warning,
        }


def coverage(today: dt.date, warn_days: int) -> Coverage:
    days = official_days()
    years = days.notice_years
    last = today.year - 1
    while last + 1 in years:
        last += 1
    days_left = (dt.date(last, 12, 31) - today).days + 1 if last >= today.year else 0
    horizon = today + dt.timedelta(days=warn_days)
    missing = tuple(y for y in range(today.year, horizon.year + 1) if y not in years)
    return Coverage(
        source=days.source,
        notice_years=(min(years), max(years)),
        days_left=days_left,
        missing=missing,
    )


def coverage_now(settings: Settings) -> Coverage:
    today = utcnow().astimezone(ZoneInfo(settings.timezone)).date()
    return coverage(today, settings.calendar_warn_days)


def log_coverage(settings: Settings) -> Coverage:
    """At start: which years are known, and loudly which are not."""
    seen = coverage_now(settings)
    if seen.warning:
        log.warning("official holidays (official_days_left=%d): %s", seen.days_left, seen.warning)
    else:
        log.info(
            "official holidays: %s, %d-%d; official_days_left=%d",
            seen.source,
            *seen.notice_years,
            seen.days_left,
        )
    return seen
