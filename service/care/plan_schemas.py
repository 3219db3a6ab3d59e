"""Request and response bodies of the care plans (服务计划)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from service.care.recurrence import check_rule
from service.i18n import Rejected
from service.validation import ReadModel, StrictModel, omittable, text

Id = Annotated[int, Field(gt=0, lt=2**31)]
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _time_of_day(value: str) -> str:
    if not _HHMM.match(value):
        raise Rejected("validation.time_of_day", value=repr(value))
    return value


def _in_range(value: dt.date) -> dt.date:
    if not dt.date(2020, 1, 1) <= value < dt.date(2100, 1, 1):
        raise Rejected("validation.time_range")
    return value


Rule = Annotated[
    str,
    StringConstraints(max_length=500),
    AfterValidator(check_rule),
    Field(
        description="RFC 5545 RRULE value repeating days: FREQ DAILY, WEEKLY, MONTHLY or "
        "YEARLY (finer ones answer 422 `care_plan.rrule_too_frequent`), no BYHOUR, "
        "BYMINUTE or BYSECOND (the time is `time`), e.g. `FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR`. "
        "It may go on without end (no COUNT, UNTIL or `ends_on`).",
        examples=["FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"],
    ),
]
TimeOfDay = Annotated[
    str,
    StringConstraints(max_length=5),
    AfterValidator(_time_of_day),
    Field(description="Local time of day, HH:MM, in the community's region's time zone."),
]
Day = Annotated[dt.date, AfterValidator(_in_range)]
Duration = Annotated[int, Field(ge=5, le=720, description="Minutes, 5-720.")]
Share = Annotated[
    int, Field(ge=0, le=100, description="The government's share of each visit's cost (补贴), %.")
]
CategoryCode = Annotated[str, StringConstraints(pattern=r"^elderly(\.[a-z_]+)+$", max_length=64)]


class CarePlanCreate(StrictModel):
    elder_id: Id
    category: CategoryCode = Field(
        description="An active `elderly.*` category (not `elderly.emergency`), e.g. `elderly.meal`."
    )
    rrule: Rule
    time: TimeOfDay
    duration_minutes: Duration
    starts_on: Day
    ends_on: Day | None = Field(default=None, description="The last day (inclusive); none: open.")
    skip_holidays: bool = Field(
        default=False,
        description="No visits on the region's public holidays and calendar days off "
        "(the calendar of the SLA clocks for that category). Default false.",
    )
    government_share_percent: Share = 0
    note: text(500) | None = None  # type: ignore[valid-type]
    active: bool = Field(default=True, description="Default true.")


class CarePlanUpdate(StrictModel):
    """Fields left out keep their value. Changing the rule, time, duration, days,
    holidays or share reshapes the visits to come that have not started: those that
    no longer fit are cancelled (`ticket.cancelled`), the rest carry the new
    duration and share; past and started visits are never touched. `active: false`
    (pausing) cancels the visits to come."""

    rrule: Rule = omittable()
    time: TimeOfDay = omittable()
    duration_minutes: Duration = omittable()
    starts_on: Day = omittable()
    ends_on: Day | None = None
    skip_holidays: bool = omittable()
    government_share_percent: Share = omittable()
    note: text(500) | None = None  # type: ignore[valid-type]
    active: bool = omittable()


class CarePlanRead(BaseModel):
    id: int
    elder_id: int
    community_id: int = Field(description="The elder's community.")
    category: str
    rrule: str
    time: str
    duration_minutes: int
    starts_on: dt.date
    ends_on: dt.date | None
    skip_holidays: bool
    government_share_percent: int
    note: str | None
    active: bool
    next_visit_at: dt.datetime | None = Field(
        description="Where the horizon job takes the plan up next: its next occurrence "
        "(visits are made `LINLI_CARE_HORIZON_HOURS` ahead, each once); null once "
        "paused or ended."
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class CarePlanPage(ReadModel):
    items: list[CarePlanRead]
    next_cursor: str | None = None
