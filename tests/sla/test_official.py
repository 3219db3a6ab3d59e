"""The official days off and make-up working days (service/sla/official.py): the
2026 notice day by day as before, 2027's statutory holidays, and a year without
its State Council notice named in time."""

from __future__ import annotations

import datetime as dt

import pytest

from service.sla.official import coverage, official_day, official_days
from tests.sla.conftest import HOLIDAYS_2026, MAKEUP_WORKDAYS_2026

# The newest year whose notice the pinned package carries; the warnings are
# tested around it so that an upgrade does not break them.
NEWEST = max(official_days().notice_years)


def _year(year: int) -> list[dt.date]:
    day, days = dt.date(year, 1, 1), []
    while day.year == year:
        days.append(day)
        day += dt.timedelta(days=1)
    return days


def test_every_day_of_2026_is_as_the_state_council_notice_says():
    """Day by day the same as chinesecalendar 1.11.0: 33 days off, 6 worked Saturdays
    and Sundays, every other day ordinary."""
    expected = dict.fromkeys(_year(2026))
    expected.update(dict.fromkeys(HOLIDAYS_2026, "holiday"))
    expected.update(dict.fromkeys(MAKEUP_WORKDAYS_2026, "workday"))
    assert {day: official_day(day) for day in _year(2026)} == expected


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        ("2025-01-26", "workday"),  # Sunday before the Spring Festival
        ("2025-01-28", "holiday"),  # 除夕, the first year it is statutory
        ("2025-02-04", "holiday"),
        ("2025-02-08", "workday"),
        ("2025-05-31", "holiday"),  # Dragon Boat, a Saturday: 5/31-6/2 off
        ("2025-10-08", "holiday"),  # National Day and Mid-Autumn, eight days
        ("2025-10-11", "workday"),
        ("2025-10-09", None),
    ],
)
def test_2025_known_days(day, kind):
    assert official_day(dt.date.fromisoformat(day)) == kind


def test_2027_new_year_and_spring_festival_are_holidays():
    for day in ("2027-01-01", "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08"):
        assert official_day(dt.date.fromisoformat(day)) == "holiday", day
    assert official_day(dt.date(2027, 1, 4)) is None  # the Monday after New Year


def test_the_package_carries_the_notices_up_to_2026():
    assert set(range(2001, 2027)) <= official_days().notice_years


def test_a_year_without_its_notice_is_named_in_time():
    """Warned 60 days ahead (LINLI_CALENDAR_WARN_DAYS); the days left count down
    to the end of the newest notice year."""
    quiet = coverage(dt.date(NEWEST, 10, 1), warn_days=60)
    assert quiet.missing == () and quiet.warning is None
    assert quiet.days_left == 92  # 1 October to 31 December

    near = coverage(dt.date(NEWEST, 12, 2), warn_days=60)
    assert near.missing == (NEWEST + 1,)
    assert near.days_left == 30
    assert f"{NEWEST + 1}" in near.warning and "调休" in near.warning

    inside = coverage(dt.date(NEWEST + 1, 3, 1), warn_days=0)
    assert inside.missing == (NEWEST + 1,) and inside.days_left == 0
    assert inside.detail()["missing_years"] == [NEWEST + 1]
    assert inside.detail()["official_years"] == [2001, NEWEST]
