"""Business-time arithmetic against a slow, obviously right reference that walks
minute by minute, over random instants, durations and calendars — with the 2026
Spring Festival and National Day holidays and their make-up working days — and
the 2027 holidays, which the library used before did not know."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.sla.calendar import WorkCalendar, normalise_spans
from tests.sla.conftest import HOLIDAYS_2026, MAKEUP_WORKDAYS_2026

SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")
NINE_TO_SIX = ((540, 1080),)
WEEKDAYS_ONLY = (NINE_TO_SIX,) * 5 + ((), ())


def reference_is_working(calendar_spec: dict, instant: dt.datetime) -> bool:
    """Independent of service.sla.calendar: the rules as a person would apply them."""
    local = instant.astimezone(calendar_spec["zone"])
    day = local.date()
    minute = local.hour * 60 + local.minute
    if day in calendar_spec["overrides"]:
        spans = calendar_spec["overrides"][day]
    elif calendar_spec["official"]:
        # The reference knows the notice for 2026 only (the instants stay near it).
        assert dt.date(2025, 12, 1) <= day <= dt.date(2026, 12, 31), day
        if day in HOLIDAYS_2026:
            spans = ()
        elif day in MAKEUP_WORKDAYS_2026:
            spans = calendar_spec["weekly"][day.weekday()] or calendar_spec["weekly"][0]
        else:
            spans = calendar_spec["weekly"][day.weekday()]
    else:
        spans = calendar_spec["weekly"][day.weekday()]
    return any(start <= minute < end for start, end in spans)


def reference_add(spec: dict, start: dt.datetime, minutes: int) -> dt.datetime:
    """Walk minute by minute until `minutes` working minutes have passed."""
    if minutes == 0:
        return start
    moment, counted = start, 0
    while True:
        if reference_is_working(spec, moment):
            counted += 1
            if counted == minutes:
                return moment + dt.timedelta(minutes=1)
        moment += dt.timedelta(minutes=1)


def reference_between(spec: dict, start: dt.datetime, end: dt.datetime) -> int:
    moment, counted = start, 0
    while moment < end:
        counted += reference_is_working(spec, moment)
        moment += dt.timedelta(minutes=1)
    return counted


def build(spec: dict) -> WorkCalendar:
    return WorkCalendar(
        zone=spec["zone"],
        weekly=spec["weekly"],
        official_holidays=spec["official"],
        overrides=spec["overrides"],
    )


@st.composite
def day_spans(draw: st.DrawFn, minimum: int = 0) -> tuple[tuple[int, int], ...]:
    cuts = sorted(draw(st.sets(st.integers(0, 1440), min_size=minimum * 2, max_size=4)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    return normalise_spans(list(zip(cuts[::2], cuts[1::2], strict=True)))


@st.composite
def calendars(draw: st.DrawFn) -> dict:
    weekly = [draw(day_spans()) for _ in range(7)]
    # At least three weekdays with an hour of work: the reference must finish quickly.
    for index in draw(st.sets(st.integers(0, 6), min_size=3, max_size=3)):
        if sum(e - s for s, e in weekly[index]) < 60:
            weekly[index] = ((480, 1020),)
    overrides = draw(
        st.dictionaries(
            st.dates(dt.date(2025, 12, 20), dt.date(2026, 12, 31)), day_spans(), max_size=6
        )
    )
    return {
        "zone": draw(st.sampled_from([SHANGHAI, URUMQI])),
        "weekly": tuple(weekly),
        "official": draw(st.booleans()),
        "overrides": overrides,
    }


# Instants around the year's holidays, minute-aligned (the reference counts minutes).
holiday_seasons = st.sampled_from(
    [
        dt.datetime(2026, 2, 10, tzinfo=dt.UTC),  # Spring Festival, make-up days 2/14 and 2/28
        dt.datetime(2026, 9, 15, tzinfo=dt.UTC),  # Mid-Autumn and National Day, 9/20 and 10/10
        dt.datetime(2025, 12, 28, tzinfo=dt.UTC),  # New Year, make-up day 1/4
        dt.datetime(2026, 4, 30, tzinfo=dt.UTC),  # Labour Day, make-up day 5/9
    ]
)
instants = st.builds(
    lambda base, minutes: base + dt.timedelta(minutes=minutes),
    holiday_seasons,
    st.integers(0, 30 * 24 * 60),
)

SLOW = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(spec=calendars(), start=instants, minutes=st.integers(0, 1500))
def test_add_matches_the_minute_walk(spec, start, minutes):
    assert build(spec).add(start, minutes * 60) == reference_add(spec, start, minutes)


@SLOW
@given(spec=calendars(), start=instants, length=st.integers(0, 12 * 24 * 60))
def test_between_matches_the_minute_walk(spec, start, length):
    end = start + dt.timedelta(minutes=length)
    assert build(spec).between(start, end) == reference_between(spec, start, end) * 60


@SLOW
@given(spec=calendars(), start=instants, minutes=st.integers(1, 1500))
def test_between_undoes_add(spec, start, minutes):
    calendar = build(spec)
    assert calendar.between(start, calendar.add(start, minutes * 60)) == minutes * 60


def at(text: str, zone: ZoneInfo = SHANGHAI) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone)


WORKDAYS = WorkCalendar(zone=SHANGHAI, weekly=WEEKDAYS_ONLY)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        # Friday before the Spring Festival: Saturday 2/14 is a make-up working day.
        ("2026-02-13T17:00", 2, "2026-02-14T10:00"),
        # From the make-up Saturday, across the nine-day holiday (2/15-2/23) to Tuesday.
        ("2026-02-14T17:00", 2, "2026-02-24T10:00"),
        # Three working days (27 hours) from the Friday before: 2/13, 2/14, 2/24, 2/25.
        ("2026-02-13T17:00", 27, "2026-02-25T17:00"),
        # Saturday 2/28 is also a make-up working day.
        ("2026-02-27T17:30", 1, "2026-02-28T09:30"),
        # National Day 10/1-10/7; Sunday 9/20 and Saturday 10/10 are make-up days.
        ("2026-09-18T17:00", 2, "2026-09-20T10:00"),
        ("2026-09-30T17:00", 3, "2026-10-08T11:00"),
        ("2026-10-09T17:00", 2, "2026-10-10T10:00"),
        # Night filing waits for the morning; a weekend waits for Monday.
        ("2026-03-03T23:00", 2, "2026-03-04T11:00"),
        ("2026-03-07T12:00", 1, "2026-03-09T10:00"),
    ],
)
def test_2026_holidays_and_makeup_days(start, hours, due):
    assert WORKDAYS.add(at(start), hours * 3600) == at(due)


def test_around_the_clock_is_plain_addition():
    always = WorkCalendar.around_the_clock(SHANGHAI)
    start = at("2026-02-16T03:00")  # the first day of the Spring Festival, at night
    assert always.add(start, 15 * 60) == at("2026-02-16T03:15")


def test_time_zone_moves_the_working_day():
    """09:00 in Ürümqi (UTC+6) is 11:00 in Beijing (UTC+8)."""
    urumqi = WorkCalendar(zone=URUMQI, weekly=WEEKDAYS_ONLY)
    start = at("2026-03-04T08:00")  # Beijing time, 06:00 in Ürümqi
    assert urumqi.add(start, 3600) == at("2026-03-04T10:00", URUMQI)


def test_an_override_beats_the_official_calendar():
    calendar = WorkCalendar(
        zone=SHANGHAI,
        weekly=WEEKDAYS_ONLY,
        overrides={dt.date(2026, 2, 16): ((600, 660),)},  # on duty one hour on a holiday
    )
    assert calendar.add(at("2026-02-14T17:30"), 3600) == at("2026-02-16T10:30")


@pytest.mark.parametrize(
    "day",
    ["2027-01-01", "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08"],
    ids=["new-year", "eve", "first", "second", "third"],
)
def test_2027_new_year_and_spring_festival_are_days_off(day):
    """元旦 and the Spring Festival's eve and first three days (Monday 2/8 the third)
    are statutory: off whatever the notice adds. chinesecalendar counted them as
    ordinary days (it ends with 2026)."""
    assert WORKDAYS.spans(dt.date.fromisoformat(day)) == ()


def test_2027_new_year_waits_for_monday():
    # Friday 1 January 2027 is New Year's Day, not a working Friday.
    assert WORKDAYS.add(at("2026-12-31T17:00"), 2 * 3600) == at("2027-01-04T10:00")


def test_a_deadline_skips_the_2027_spring_festival():
    """From Thursday 2/4 17:00: the eve (Fri 2/5), the festival's first three days
    (2/6-2/8) and the days in lieu of its weekend days (Tue 2/9, Wed 2/10; the
    holidays package's rule until the State Council's notice for 2027 is in it)."""
    start = at("2027-02-04T17:00")
    assert WORKDAYS.add(start, 2 * 3600) == at("2027-02-11T10:00")
    assert WORKDAYS.between(start, at("2027-02-11T09:00")) == 3600


def test_a_2027_makeup_working_day_set_by_an_admin_works():
    """Until the notice is in the package, its make-up Saturdays are overrides."""
    saturday = dt.date(2027, 2, 20)
    calendar = WorkCalendar(zone=SHANGHAI, weekly=WEEKDAYS_ONLY, overrides={saturday: NINE_TO_SIX})
    assert WORKDAYS.add(at("2027-02-19T17:30"), 3600) == at("2027-02-22T09:30")
    assert calendar.add(at("2027-02-19T17:30"), 3600) == at("2027-02-20T09:30")


def test_2026_makeup_working_days_work_a_mondays_hours():
    saturday = dt.date(2026, 2, 28)
    assert saturday.weekday() == 5
    assert WORKDAYS.spans(saturday) == NINE_TO_SIX
    assert WORKDAYS.spans(dt.date(2026, 3, 7)) == ()  # an ordinary Saturday


def test_weekend_days_inside_a_holiday_period_are_off_for_a_seven_day_calendar():
    """A calendar that works weekends rests through the whole Spring Festival
    (2/15-2/23), as before; the Saturday after it works."""
    every_day = WorkCalendar(zone=SHANGHAI, weekly=(NINE_TO_SIX,) * 7)
    assert every_day.spans(dt.date(2026, 2, 21)) == ()  # Saturday inside the period
    assert every_day.spans(dt.date(2026, 2, 15)) == ()  # the Sunday that opens it
    assert every_day.spans(dt.date(2026, 3, 7)) == NINE_TO_SIX
