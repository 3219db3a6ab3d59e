"""HTTP routes: /v1/sla-policies, /v1/calendars (with per-date overrides), /v1/sla-escalations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Response
from pydantic import Field

from service.auth import CurrentPrincipal
from service.config import SettingsDep
from service.db import CommitInRoute, SessionDep, WriteSessionDep, utcnow
from service.errors import Conflict, Forbidden, NotFound, responses
from service.sla import service
from service.sla.schemas import (
    CalendarCreate,
    CalendarDayPage,
    CalendarDayRead,
    CalendarDaySet,
    CalendarPage,
    CalendarRead,
    CalendarUpdate,
    EscalationPage,
    EscalationRead,
    PolicyCreate,
    PolicyPage,
    PolicyRead,
    PolicyUpdate,
)
from service.validation import MULTI_VALUED, Several

router = APIRouter(prefix="/v1", tags=["SLA"], route_class=CommitInRoute)

ObjectId = Annotated[int, Path(gt=0, lt=2**31)]
Day = Annotated[dt.date, Path(ge=dt.date(2000, 1, 1), le=dt.date(2100, 12, 31))]
RangeDay = Annotated[dt.date, Query(ge=dt.date(2000, 1, 1), le=dt.date(2100, 12, 31))]
EscalationLevel = Annotated[int, Field(ge=1, le=2)]


@router.get(
    "/sla-policies", response_model=PolicyPage, responses=responses(Forbidden, validation=False)
)
def list_policies(principal: CurrentPrincipal, session: SessionDep) -> PolicyPage:
    service.require_reader(principal)
    return PolicyPage(items=[PolicyRead.model_validate(p) for p in service.list_policies(session)])


@router.post(
    "/sla-policies",
    status_code=201,
    response_model=PolicyRead,
    responses=responses(Forbidden, Conflict),
)
def create_policy(
    data: PolicyCreate, principal: CurrentPrincipal, session: WriteSessionDep
) -> PolicyRead:
    return PolicyRead.model_validate(service.create_policy(session, principal, data))


@router.get(
    "/sla-policies/{policy_id}", response_model=PolicyRead, responses=responses(Forbidden, NotFound)
)
def get_policy(policy_id: ObjectId, principal: CurrentPrincipal, session: SessionDep) -> PolicyRead:
    service.require_reader(principal)
    return PolicyRead.model_validate(service.get_policy(session, policy_id))


@router.patch(
    "/sla-policies/{policy_id}",
    response_model=PolicyRead,
    responses=responses(Forbidden, NotFound, Conflict),
)
def update_policy(
    policy_id: ObjectId, data: PolicyUpdate, principal: CurrentPrincipal, session: WriteSessionDep
) -> PolicyRead:
    service.require_editor(principal)
    policy = service.get_policy(session, policy_id)
    return PolicyRead.model_validate(service.update_policy(session, principal, policy, data))


@router.get(
    "/calendars", response_model=CalendarPage, responses=responses(Forbidden, validation=False)
)
def list_calendars(principal: CurrentPrincipal, session: SessionDep) -> CalendarPage:
    service.require_reader(principal)
    return CalendarPage(
        items=[CalendarRead.model_validate(c) for c in service.list_calendars(session)]
    )


@router.post(
    "/calendars",
    status_code=201,
    response_model=CalendarRead,
    responses=responses(Forbidden, Conflict),
)
def create_calendar(
    data: CalendarCreate, principal: CurrentPrincipal, session: WriteSessionDep
) -> CalendarRead:
    return CalendarRead.model_validate(service.create_calendar(session, principal, data))


@router.get(
    "/calendars/{calendar_id}",
    response_model=CalendarRead,
    responses=responses(Forbidden, NotFound),
)
def get_calendar(
    calendar_id: ObjectId, principal: CurrentPrincipal, session: SessionDep
) -> CalendarRead:
    service.require_reader(principal)
    return CalendarRead.model_validate(service.get_calendar(session, calendar_id))


@router.patch(
    "/calendars/{calendar_id}",
    response_model=CalendarRead,
    responses=responses(Forbidden, NotFound),
)
def update_calendar(
    calendar_id: ObjectId,
    data: CalendarUpdate,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
) -> CalendarRead:
    service.require_editor(principal)
    calendar = service.get_calendar(session, calendar_id)
    return CalendarRead.model_validate(service.update_calendar(session, principal, calendar, data))


@router.get(
    "/calendars/{calendar_id}/days",
    response_model=CalendarDayPage,
    responses=responses(Forbidden, NotFound),
)
def list_days(
    calendar_id: ObjectId,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    from_: Annotated[RangeDay | None, Query(alias="from")] = None,
    to: RangeDay | None = None,
) -> CalendarDayPage:
    """Every date in [from, to] (at most a year; by default the next 31 days) as the
    SLA clocks see it, and why: `override`, `holiday`, `makeup_workday` (调休) or
    `weekday`."""
    service.require_reader(principal)
    calendar = service.get_calendar(session, calendar_id)
    start = from_ or utcnow().astimezone(ZoneInfo(settings.timezone)).date()
    end = to or start + dt.timedelta(days=30)
    return CalendarDayPage(
        items=service.explain_days(session, calendar, start, end, settings.timezone)
    )


@router.put(
    "/calendars/{calendar_id}/days/{day}",
    response_model=CalendarDayRead,
    responses=responses(Forbidden, NotFound, Conflict),
)
def set_day(
    calendar_id: ObjectId,
    day: Day,
    data: CalendarDaySet,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
    settings: SettingsDep,
) -> CalendarDayRead:
    """Declare a date a day off or a working day (e.g. next year's holidays and
    make-up days as soon as the State Council publishes them)."""
    service.require_editor(principal)
    calendar = service.get_calendar(session, calendar_id)
    service.set_day(session, principal, calendar, day, data)
    return service.explain_days(session, calendar, day, day, settings.timezone)[0]


@router.delete(
    "/calendars/{calendar_id}/days/{day}",
    status_code=204,
    responses=responses(Forbidden, NotFound),
)
def clear_day(
    calendar_id: ObjectId, day: Day, principal: CurrentPrincipal, session: WriteSessionDep
) -> Response:
    service.require_editor(principal)
    calendar = service.get_calendar(session, calendar_id)
    service.clear_day(session, principal, calendar, day)
    return Response(status_code=204)


@router.get("/sla-escalations", response_model=EscalationPage, responses=responses(Forbidden))
def list_escalations(
    principal: CurrentPrincipal,
    session: SessionDep,
    level: Annotated[Several[EscalationLevel] | None, Query(description=MULTI_VALUED)] = None,
    clock: Annotated[
        Several[Literal["response", "resolution"]] | None, Query(description=MULTI_VALUED)
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EscalationPage:
    """Clocks that ran out on tickets you can see (providers: while they had them)."""
    rows, next_cursor = service.list_escalations(
        session,
        principal,
        levels=sorted(set(level or ())),
        clocks=sorted(set(clock or ())),
        cursor=cursor,
        limit=limit,
    )
    return EscalationPage(
        items=[EscalationRead.model_validate(r) for r in rows], next_cursor=next_cursor
    )
