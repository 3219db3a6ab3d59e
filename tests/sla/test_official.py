"""The official days off and make-up working days (service/sla/official.py): the
2026 notice day by day as before, 2027's statutory holidays, and a year without
its State Council notice said loudly — in /readyz and in the start-up log."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from fastapi.testclient import TestClient

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


def test_readyz_says_which_years_lack_official_holidays(client, clock):
    clock.set(f"{NEWEST}-12-02T09:00")
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    calendar = ready.json()["checks"]["calendar"]
    assert calendar["official_days_left"] == 30
    assert calendar["missing_years"] == [NEWEST + 1]
    assert calendar["source"].startswith("holidays ")
    [warning] = ready.json()["warnings"]
    assert warning.startswith("calendar: ") and str(NEWEST + 1) in warning


def test_readyz_has_no_warning_while_the_year_ahead_is_known(client, clock):
    clock.set(f"{NEWEST}-06-01T09:00")
    body = client.get("/readyz").json()
    assert body["warnings"] == []
    assert body["checks"]["calendar"]["missing_years"] == []


def test_the_start_up_log_warns_of_a_year_without_its_notice(app, clock, caplog):
    clock.set(f"{NEWEST + 1}-01-05T09:00")
    with caplog.at_level(logging.INFO, logger="linli.sla"), TestClient(app):
        pass
    [record] = [r for r in caplog.records if r.name == "linli.sla"]
    assert record.levelno == logging.WARNING
    assert str(NEWEST + 1) in record.getMessage()
    assert "official_days_left=0" in record.getMessage()


def test_the_start_up_log_names_the_years_known(app, clock, caplog):
    clock.set(f"{NEWEST}-03-02T09:00")
    with caplog.at_level(logging.INFO, logger="linli.sla"), TestClient(app):
        pass
    [record] = [r for r in caplog.records if r.name == "linli.sla"]
    assert record.levelno == logging.INFO
    assert f"2001-{NEWEST}" in record.getMessage()
