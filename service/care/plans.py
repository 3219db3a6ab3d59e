"""Care plans (服务计划): who may make and change them, and their validation.

Who sees a plan is decided in service/scope.py (`visible(principal, CarePlan)`:
as the elder's). Making and changing plans is the elders' edit right
(service/care/service.py MAY[Act.edit]: admins, the community's grid workers,
the care provider's dispatchers), refused by role (403) before anything is
looked up. The visits they make are service/care/horizon.py's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth import Principal
from service.care import horizon
from service.care.models import CarePlan, Elder
from service.care.plan_schemas import CarePlanCreate, CarePlanRead, CarePlanUpdate
from service.care.service import MAY, Act
from service.categories.models import Category
from service.db import utcnow
from service.enums import TicketKind
from service.errors import Forbidden, NotFound, Unprocessable
from service.scope import elder_communities, visible

# Emergency help (助急) is called, not planned.
UNPLANNABLE = "elderly.emergency"
# The changes that move visits; a note alone does not.
RESHAPING = frozenset(
    {
        "rrule",
        "time",
        "duration_minutes",
        "starts_on",
        "ends_on",
        "skip_holidays",
        "government_share_percent",
        "active",
    }
)


def require_edit(principal: Principal) -> None:
    for role, org_role in MAY[Act.edit]:
        if principal.role == role and (org_role is None or principal.org_role == org_role):
            return
    raise Forbidden("care_plan.may_not_edit")


def visible_plan(
    session: Session, principal: Principal, plan_id: int, *, lock: bool = False
) -> CarePlan:
    query = select(CarePlan).where(CarePlan.id == plan_id, visible(principal, CarePlan))
    if lock and session.get_bind().dialect.name == "postgresql":
        # The horizon job skips a plan being changed, and a change waits for a
        # batch that holds the plan: never both at once.
        query = query.with_for_update(of=CarePlan)
    plan = session.scalar(query)
    if plan is None:
        raise NotFound("care_plan.not_found", id=plan_id)
    return plan


def _category(session: Session, code: str) -> Category:
    category = session.scalar(select(Category).where(Category.code == code, Category.active))
    if (
        category is None
        or category.kind != TicketKind.elderly_care
        or code == UNPLANNABLE
        or code.startswith(UNPLANNABLE + ".")
    ):
        raise Unprocessable.on("category", "care_plan.category_not_plannable", code=repr(code))
    return category


def _check_dates(starts_on: dt.date, ends_on: dt.date | None) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise Unprocessable.on("ends_on", "care_plan.ends_before_start")


def _check_occurs(session: Session, plan: CarePlan, timezone: str) -> None:
    try:
        first = horizon.first_occurrence_at(session, plan, timezone)
    except (ValueError, IndexError, KeyError, TypeError, OverflowError) as exc:
        # Values dateutil parses but cannot iterate (BYDAY=9MO in a month).
        raise Unprocessable.on("rrule", "care_plan.rrule_invalid") from exc
    if first is None:
        raise Unprocessable.on("rrule", "care_plan.rrule_never_occurs")


def create_plan(
    session: Session, principal: Principal, data: CarePlanCreate, timezone: str
) -> CarePlan:
    require_edit(principal)
    elder = session.scalar(
        select(Elder).where(
            Elder.id == data.elder_id,
            Elder.community_id.in_(elder_communities(principal)),
            Elder.erased_at.is_(None),
        )
    )
    if elder is None:
        raise Unprocessable.on("elder_id", "care_plan.elder_unknown", id=data.elder_id)
    category = _category(session, data.category)
    _check_dates(data.starts_on, data.ends_on)
    now = utcnow()
    plan = CarePlan(
        elder_id=elder.id,
        community_id=elder.community_id,
        category_id=category.id,
        rrule=data.rrule,
        local_time=data.time,
        duration_minutes=data.duration_minutes,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        skip_holidays=data.skip_holidays,
        government_share_percent=data.government_share_percent,
        note=data.note,
        active=data.active,
        created_at=now,
        created_by_id=principal.user_id,
        updated_at=now,
    )
    _check_occurs(session, plan, timezone)
    session.add(plan)
    session.flush()
    # Where the horizon job takes it up: its first occurrence from now on.
    horizon.reshape(session, plan, principal.user_id, now, timezone, cause="created")
    horizon.make_soon(session, plan, now, timezone)
    return plan


def update_plan(
    session: Session, principal: Principal, plan: CarePlan, data: CarePlanUpdate, timezone: str
) -> CarePlan:
    changes = data.model_dump(exclude_unset=True)  # null was refused where not allowed
    columns = {"time": "local_time"}
    for field, value in changes.items():
        setattr(plan, columns.get(field, field), value)
    _check_dates(plan.starts_on, plan.ends_on)
    if {"rrule", "time", "starts_on", "ends_on"} & changes.keys():
        _check_occurs(session, plan, timezone)
    now = utcnow()
    plan.updated_at = now
    session.flush()
    if RESHAPING & changes.keys():
        cause = "paused" if changes.get("active") is False else "changed"
        horizon.reshape(session, plan, principal.user_id, now, timezone, cause=cause)
        horizon.make_soon(session, plan, now, timezone)
    return plan


def list_plans(
    session: Session,
    principal: Principal,
    *,
    elder_ids: list[int] | None,
    community_ids: list[int] | None,
    active: bool | None,
    after: int | None,
    limit: int,
) -> tuple[Sequence[CarePlan], int | None]:
    query = select(CarePlan).where(visible(principal, CarePlan)).order_by(CarePlan.id)
    if elder_ids:
        query = query.where(CarePlan.elder_id.in_(elder_ids))
    if community_ids:
        query = query.where(CarePlan.community_id.in_(community_ids))
    if active is not None:
        query = query.where(CarePlan.active.is_(active))
    if after is not None:
        query = query.where(CarePlan.id > after)
    rows = session.scalars(query.limit(limit + 1)).all()
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def read(session: Session, plans: Sequence[CarePlan]) -> list[CarePlanRead]:
    codes = dict(
        session.execute(
            select(Category.id, Category.code).where(
                Category.id.in_({plan.category_id for plan in plans})
            )
        )
        .tuples()
        .all()
    )
    return [
        CarePlanRead(
            id=plan.id,
            elder_id=plan.elder_id,
            community_id=plan.community_id,
            category=codes[plan.category_id],
            rrule=plan.rrule,
            time=plan.local_time,
            duration_minutes=plan.duration_minutes,
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            skip_holidays=plan.skip_holidays,
            government_share_percent=plan.government_share_percent,
            note=plan.note,
            active=plan.active,
            next_visit_at=plan.next_occurs_at if plan.active else None,
            created_at=plan.created_at,
            updated_at=plan.updated_at,
        )
        for plan in plans
    ]
