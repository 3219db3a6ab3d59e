"""Request and response bodies of /v1/sla-policies, /v1/calendars and escalations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from service.enums import HoldReason, Priority, TicketKind
from service.i18n import Rejected
from service.sla.calendar import normalise_spans, parse_hhmm
from service.sla.policy import WEEKDAYS
from service.validation import (
    Name,
    ReadModel,
    ShortText,
    StrictModel,
    TimeZone,
    omittable,
    text,
)

Minutes = Annotated[int, Field(ge=1, le=366 * 24 * 60)]
CategoryCode = text(64, 1)


def _hhmm(value: str) -> str:
    if len(value) != 5 or value[2] != ":" or not (value[:2] + value[3:]).isdigit():
        raise Rejected("validation.hhmm")
    parse_hhmm(value)
    return value


HHMM = Annotated[str, AfterValidator(_hhmm)]
Span = Annotated[list[HHMM], Field(min_length=2, max_length=2)]
DaySpans = Annotated[list[Span], Field(max_length=8)]


def _valid_spans(spans: list[list[str]]) -> list[list[str]]:
    normalise_spans([(parse_hhmm(start), parse_hhmm(end)) for start, end in spans])
    return spans


class WeekHours(StrictModel):
    """Working hours per weekday, e.g. {"mon": [["09:00", "12:00"], ["13:30", "18:00"]]}."""

    mon: DaySpans = []
    tue: DaySpans = []
    wed: DaySpans = []
    thu: DaySpans = []
    fri: DaySpans = []
    sat: DaySpans = []
    sun: DaySpans = []

    @field_validator(*WEEKDAYS)
    @classmethod
    def _spans(cls, value: list[list[str]]) -> list[list[str]]:
        return _valid_spans(value)


class CalendarCreate(StrictModel):
    code: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
    name: Name  # type: ignore[valid-type]
    timezone: TimeZone | None = None
    hours: WeekHours
    official_holidays: bool = True


class CalendarUpdate(StrictModel):
    name: Name = omittable()  # type: ignore[valid-type]
    # null: the zone of each ticket's region (else LINLI_TIMEZONE).
    timezone: TimeZone | None = None
    hours: WeekHours = omittable()
    official_holidays: bool = omittable()


class CalendarRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    timezone: str | None
    hours: dict[str, list[list[str]]]
    official_holidays: bool
    updated_at: dt.datetime


class CalendarPage(BaseModel):
    items: list[CalendarRead]


class CalendarDaySet(StrictModel):
    """An override for one date: a day off, or a working day (with its hours, or
    a Monday's when `hours` is left out)."""

    working: bool
    hours: DaySpans | None = None
    note: ShortText | None = None  # type: ignore[valid-type]

    @field_validator("hours")
    @classmethod
    def _spans(cls, value: list[list[str]] | None) -> list[list[str]] | None:
        return None if value is None else _valid_spans(value)


class CalendarDayRead(ReadModel):
    """What a date is in a calendar, and why."""

    date: dt.date
    working: bool
    hours: list[list[str]]
    # override (an admin said so), holiday, makeup_workday (调休), weekday
    source: str
    note: str | None = None


class CalendarDayPage(BaseModel):
    items: list[CalendarDayRead]


class PolicyCreate(StrictModel):
    name: Name  # type: ignore[valid-type]
    kind: TicketKind | None = None
    category: CategoryCode | None = None  # type: ignore[valid-type]
    priority: Priority | None = None
    respond_minutes: Minutes | None = None
    resolve_minutes: Minutes | None = None
    use_preferred_window: bool = False
    calendar_id: Annotated[int, Field(gt=0, lt=2**31)]
    pause_on: list[HoldReason] = []
    escalate_after_minutes: Minutes = 60
    active: bool = True


class PolicyUpdate(StrictModel):
    name: Name = omittable()  # type: ignore[valid-type]
    # null: no target for that clock (a policy keeps at least one target).
    respond_minutes: Minutes | None = None
    resolve_minutes: Minutes | None = None
    use_preferred_window: bool = omittable()
    calendar_id: Annotated[int, Field(gt=0, lt=2**31)] = omittable()
    pause_on: list[HoldReason] = omittable()
    escalate_after_minutes: Minutes = omittable()
    active: bool = omittable()


class PolicyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: TicketKind | None
    category: str | None
    priority: Priority | None
    respond_minutes: int | None
    resolve_minutes: int | None
    use_preferred_window: bool
    calendar_id: int
    pause_on: list[str]
    escalate_after_minutes: int
    active: bool
    updated_at: dt.datetime


class PolicyPage(BaseModel):
    items: list[PolicyRead]


class EscalationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    clock: str
    cycle: int
    level: int
    organization_id: int | None
    due_at: dt.datetime
    escalated_at: dt.datetime


class EscalationPage(BaseModel):
    items: list[EscalationRead]
    next_cursor: str | None
