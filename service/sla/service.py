"""Editing policies and calendars, explaining calendar days, listing escalations.

Policies and calendars are one configuration for the whole deployment, so
only an administrator of the whole deployment (no region in the token) may
change them; every administrator and provider may read them. Each change
gives the configuration a new stamp (`policy.touch`), which every instance
notices on its next ticket. Deadlines already set stay as they are until the
ticket's next priority or category change, resume or reopen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.auth import Principal
from service.categories.models import Category
from service.db import utcnow
from service.enums import Role
from service.errors import Conflict, Forbidden, NotFound, Unprocessable
from service.pagination import decode_cursor, encode_cursor
from service.scope import visible
from service.sla.calendar import format_hhmm
from service.sla.models import Calendar, CalendarDay, SlaEscalation, SlaPolicy
from service.sla.official import official_day
from service.sla.policy import build_calendar, touch, weekly_spans
from service.sla.schemas import (
    CalendarCreate,
    CalendarDayRead,
    CalendarDaySet,
    CalendarUpdate,
    PolicyCreate,
    PolicyUpdate,
)

# Up a floor (a room-level cycle kept on purpose): clocks run on tickets.
from service.tickets.models import Ticket


def require_editor(principal: Principal) -> None:
    if principal.role != Role.admin or principal.region_path is not None:
        raise Forbidden("sla.edit_forbidden")


def require_reader(principal: Principal) -> None:
    if principal.role not in (Role.admin, Role.provider_staff):
        raise Forbidden("sla.read_forbidden")


# --- calendars ---------------------------------------------------------------


def list_calendars(session: Session) -> Sequence[Calendar]:
    return session.scalars(select(Calendar).order_by(Calendar.id)).all()


def get_calendar(session: Session, calendar_id: int) -> Calendar:
    calendar = session.get(Calendar, calendar_id)
    if calendar is None:
        raise NotFound("calendar.not_found", id=calendar_id)
    return calendar


def _flush_unique(session: Session, code: str, /, **params: Any) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(code, **params) from exc


def create_calendar(session: Session, principal: Principal, data: CalendarCreate) -> Calendar:
    require_editor(principal)
    now = utcnow()
    calendar = Calendar(
        code=data.code,
        name=data.name,
        timezone=data.timezone,
        hours=data.hours.model_dump(),
        official_holidays=data.official_holidays,
        created_at=now,
        updated_at=now,
    )
    _ensure_works(calendar)
    session.add(calendar)
    _flush_unique(session, "calendar.exists", code=repr(data.code))
    touch(session)
    return calendar


def _ensure_works(calendar: Calendar) -> None:
    # Date overrides can only ever switch off a finite number of days.
    if not any(weekly_spans(calendar.hours)):
        raise Unprocessable.on("hours", "calendar.no_working_hours")


def update_calendar(
    session: Session, principal: Principal, calendar: Calendar, data: CalendarUpdate
) -> Calendar:
    require_editor(principal)
    changes = data.model_dump(exclude_unset=True)  # null was refused where not allowed
    if "hours" in changes:
        calendar.hours = data.hours.model_dump()
        _ensure_works(calendar)
    if "name" in changes:
        calendar.name = data.name
    if "timezone" in changes:
        calendar.timezone = data.timezone
    if "official_holidays" in changes:
        calendar.official_holidays = data.official_holidays
    calendar.updated_at = utcnow()
    session.flush()
    touch(session)
    return calendar


def set_day(
    session: Session, principal: Principal, calendar: Calendar, day: dt.date, data: CalendarDaySet
) -> CalendarDay:
    require_editor(principal)
    if not data.working and data.hours:
        raise Unprocessable.on("hours", "calendar.day_off_hours")
    if data.working and data.hours is not None and not data.hours:
        raise Unprocessable.on("hours", "calendar.working_day_hours")
    override = session.scalar(
        select(CalendarDay).where(
            CalendarDay.calendar_id == calendar.id, CalendarDay.observed_on == day
        )
    )
    if override is None:
        override = CalendarDay(calendar_id=calendar.id, observed_on=day)
        session.add(override)
    override.working = data.working
    override.hours = data.hours
    override.note = data.note
    override.updated_at = utcnow()
    _flush_unique(session, "calendar.day_race")
    touch(session)
    return override


def clear_day(session: Session, principal: Principal, calendar: Calendar, day: dt.date) -> None:
    require_editor(principal)
    override = session.scalar(
        select(CalendarDay).where(
            CalendarDay.calendar_id == calendar.id, CalendarDay.observed_on == day
        )
    )
    if override is None:
        raise NotFound("calendar.no_override", day=day.isoformat(), calendar=calendar.code)
    session.delete(override)
    session.flush()
    touch(session)


def explain_days(
    session: Session, calendar: Calendar, start: dt.date, end: dt.date, default_zone: str
) -> list[CalendarDayRead]:
    """Each date in [start, end] as the clocks see it, and why."""
    if end < start:
        raise Unprocessable.on("to", "validation.range_reversed")
    if (end - start).days > 366:
        raise Unprocessable.on("to", "calendar.at_most_a_year")
    overrides = {
        d.observed_on: d
        for d in session.scalars(
            select(CalendarDay).where(
                CalendarDay.calendar_id == calendar.id,
                CalendarDay.observed_on >= start,
                CalendarDay.observed_on <= end,
            )
        )
    }
    work = build_calendar(calendar, overrides.values(), default_zone)
    days: list[CalendarDayRead] = []
    day = start
    while day <= end:
        spans = work.spans(day)
        if day in overrides:
            source = "override"
        elif calendar.official_holidays and official_day(day) == "holiday":
            source = "holiday"
        elif calendar.official_holidays and official_day(day) == "workday":
            source = "makeup_workday"
        else:
            source = "weekday"
        days.append(
            CalendarDayRead(
                date=day,
                working=bool(spans),
                hours=[[format_hhmm(s), format_hhmm(e)] for s, e in spans],
                source=source,
                note=overrides[day].note if day in overrides else None,
            )
        )
        day += dt.timedelta(days=1)
    return days


# --- policies ----------------------------------------------------------------


def list_policies(session: Session) -> Sequence[SlaPolicy]:
    return session.scalars(select(SlaPolicy).order_by(SlaPolicy.id)).all()


def get_policy(session: Session, policy_id: int) -> SlaPolicy:
    policy = session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound("sla_policy.not_found", id=policy_id)
    return policy


def _check_references(session: Session, calendar_id: int | None, category: str | None) -> None:
    if calendar_id is not None and session.get(Calendar, calendar_id) is None:
        raise Unprocessable.on("calendar_id", "calendar.no_such", id=calendar_id)
    if (
        category is not None
        and session.scalar(select(Category.id).where(Category.code == category)) is None
    ):
        raise Unprocessable.on("category", "category.unknown", code=repr(category))


def _same_selector(session: Session, policy: SlaPolicy) -> SlaPolicy | None:
    """Another active policy for exactly the same tickets would make the choice arbitrary."""
    candidates = session.scalars(
        select(SlaPolicy).where(SlaPolicy.active, SlaPolicy.id != (policy.id or 0))
    )
    for other in candidates:
        if (other.kind, other.category, other.priority) == (
            policy.kind,
            policy.category,
            policy.priority,
        ):
            return other
    return None


def create_policy(session: Session, principal: Principal, data: PolicyCreate) -> SlaPolicy:
    require_editor(principal)
    _check_references(session, data.calendar_id, data.category)
    if (
        data.respond_minutes is None
        and data.resolve_minutes is None
        and not data.use_preferred_window
    ):
        raise Unprocessable.on("respond_minutes", "sla_policy.no_target")
    now = utcnow()
    policy = SlaPolicy(
        **data.model_dump(exclude={"pause_on"}),
        pause_on=[str(reason) for reason in data.pause_on],
        created_at=now,
        updated_at=now,
    )
    if policy.active and (other := _same_selector(session, policy)) is not None:
        raise Conflict("sla_policy.overlaps", id=other.id)
    session.add(policy)
    session.flush()
    touch(session)
    return policy


def update_policy(
    session: Session, principal: Principal, policy: SlaPolicy, data: PolicyUpdate
) -> SlaPolicy:
    require_editor(principal)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)  # null refused by the schema
    _check_references(session, changes.get("calendar_id"), None)
    for field, value in changes.items():
        if field == "pause_on":
            value = [str(reason) for reason in value]
        setattr(policy, field, value)
    if (
        policy.respond_minutes is None
        and policy.resolve_minutes is None
        and not policy.use_preferred_window
    ):
        raise Unprocessable.on("respond_minutes", "sla_policy.no_target")
    if policy.active and (other := _same_selector(session, policy)) is not None:
        raise Conflict("sla_policy.overlaps", id=other.id)
    policy.updated_at = utcnow()
    session.flush()
    touch(session)
    return policy


# --- escalations ---------------------------------------------------------------


def list_escalations(
    session: Session,
    principal: Principal,
    *,
    levels: Sequence[int] = (),
    clocks: Sequence[str] = (),
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[SlaEscalation], str | None]:
    """Escalations of the tickets the caller may see, newest first. A provider sees
    those raised while its organisation had the ticket."""
    if principal.role not in (Role.admin, Role.provider_staff):
        raise Forbidden("sla.escalations_forbidden")
    query = (
        select(SlaEscalation)
        .join(Ticket, Ticket.id == SlaEscalation.ticket_id)
        .where(visible(principal, Ticket))
    )
    if principal.role == Role.provider_staff:
        query = query.where(SlaEscalation.organization_id == principal.organization_id)
    if levels:  # any of them; none given: all
        query = query.where(SlaEscalation.level.in_(levels))
    if clocks:
        query = query.where(SlaEscalation.clock.in_(clocks))
    if cursor:
        query = query.where(SlaEscalation.id < decode_cursor("e", cursor))
    rows = session.scalars(query.order_by(SlaEscalation.id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    return page, (encode_cursor("e", page[-1].id) if len(rows) > limit else None)
