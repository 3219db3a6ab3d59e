"""Care plans make visits: each occurrence within the horizon becomes an
`elderly_care` ticket (a visit), exactly once, and plan changes reshape the
visits to come.

Once: a visit holds its plan's occurrence in `ticket.(care_plan_id,
plan_occurrence)`, which is unique, and visits are inserted with INSERT ... ON
CONFLICT DO NOTHING RETURNING, as the SLA escalations are: whatever number of
instances run the job, and however often, only the insert that made a visit
writes its `ticket.created` event. On PostgreSQL a batch also locks its plans
(FOR UPDATE SKIP LOCKED), so that two instances share the work instead of both
computing it, and a plan being edited waits for the next turn; SQLite has one
writer at a time.

Batched: one turn reads up to BATCH due plans (the index on `next_occurs_at`),
takes the new tickets' ids in one statement, inserts the visits and their
events in one statement each, and moves the plans' `next_occurs_at` in one
more: a handful of statements per batch, not per visit (bench/care_horizon.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, bindparam, func, insert, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.care import recurrence
from service.care.models import CarePlan, Elder
from service.categories.models import Category
from service.directory.models import Community, ProviderAssignment
from service.enums import Channel, Priority, ServiceKind, Status, TicketKind
from service.jobs import JobContext, job
from service.sla import clock
from service.sla.calendar import WorkCalendar
from service.sla.policy import SlaConfig, load_config
from service.telemetry import instruments
from service.tickets.events import record_event
from service.tickets.filing import ticket_number
from service.tickets.models import Ticket, TicketEvent
from service.tickets.search import ticket_terms
from service.tickets.stream import FEED_ORGANIZATIONS

BATCH = 500
# The job's period, and twice that: what a plan change cannot leave to the job.
EVERY = dt.timedelta(minutes=5)
SOON = 2 * EVERY
# Visits not yet begun: a plan change may cancel or reshape them.
NOT_STARTED = (Status.submitted, Status.assigned, Status.accepted)


@job("care.horizon", every=EVERY)
def make_visits(context: JobContext) -> int:
    horizon = dt.timedelta(hours=context.settings.care_horizon_hours)
    made = 0
    while True:
        with context.session() as session:
            examined, created = make_batch(
                session, context.now, horizon, context.settings.timezone, limit=BATCH
            )
            session.commit()
        made += created
        if examined < BATCH or not context.more_time():
            return made


@dataclass(frozen=True)
class _Plan:
    id: int
    elder_id: int
    community_id: int
    region_path: str
    category_id: int
    category_code: str
    priority: Priority
    organization_id: int | None
    created_by_id: int
    rrule: str
    local_time: str
    duration_minutes: int
    starts_on: dt.date
    ends_on: dt.date | None
    skip_holidays: bool
    government_share_percent: int
    note: str | None
    next_occurs_at: dt.datetime


def _due_plans(session: Session, until: dt.datetime, limit: int, plan_ids: Sequence[int] | None):
    serving = (
        select(ProviderAssignment.organization_id)
        .where(
            ProviderAssignment.community_id == CarePlan.community_id,
            ProviderAssignment.kind == ServiceKind.elderly_care,
            ProviderAssignment.current.is_(True),
        )
        .scalar_subquery()
    )
    query = (
        select(
            CarePlan.id,
            CarePlan.elder_id,
            CarePlan.community_id,
            Community.region_path,
            CarePlan.category_id,
            Category.code.label("category_code"),
            Category.default_priority.label("priority"),
            serving.label("organization_id"),
            CarePlan.created_by_id,
            CarePlan.rrule,
            CarePlan.local_time,
            CarePlan.duration_minutes,
            CarePlan.starts_on,
            CarePlan.ends_on,
            CarePlan.skip_holidays,
            CarePlan.government_share_percent,
            CarePlan.note,
            CarePlan.next_occurs_at,
        )
        .join(Community, Community.id == CarePlan.community_id)
        .join(Category, Category.id == CarePlan.category_id)
        .join(Elder, and_(Elder.id == CarePlan.elder_id, Elder.erased_at.is_(None)))
        .where(CarePlan.active, CarePlan.next_occurs_at <= until)
        .order_by(CarePlan.id)
        .limit(limit)
    )
    if plan_ids is not None:
        query = query.where(CarePlan.id.in_(plan_ids))
    if session.get_bind().dialect.name == "postgresql":
        # Plans another instance (or an edit) holds wait for the next turn.
        query = query.with_for_update(of=CarePlan, skip_locked=True)
    return [_Plan(**row._mapping) for row in session.execute(query)]


def _plan_zone_and_calendar(
    config: SlaConfig, category_id: int, priority: Priority, region_path: str
) -> tuple[ZoneInfo, WorkCalendar | None]:
    zone = ZoneInfo(config.zone_for(region_path))
    policy = config.policy_for(TicketKind.elderly_care, category_id, priority, region_path)
    return zone, (policy.calendar if policy is not None else None)


def occurrences(
    plan: Any,
    config: SlaConfig,
    *,
    after: dt.datetime,
    until: dt.datetime,
    category_id: int,
    priority: Priority,
    region_path: str,
) -> tuple[list[dt.datetime], dt.datetime | None]:
    """The plan's occurrences in [after, until] in its region's time zone (less
    holidays when it skips them), and the next one to look at (recurrence.window)."""
    zone, calendar = _plan_zone_and_calendar(config, category_id, priority, region_path)
    day_off = calendar.day_off_for_holiday if plan.skip_holidays and calendar else None
    hours, minutes = (int(part) for part in plan.local_time.split(":"))
    return recurrence.window(
        plan.rrule,
        plan.starts_on,
        plan.ends_on,
        dt.time(hours, minutes),
        zone,
        after=after,
        until=until,
        day_off=day_off,
    )


def make_batch(
    session: Session,
    now: dt.datetime,
    horizon: dt.timedelta,
    timezone: str,
    *,
    limit: int = BATCH,
    plan_ids: Sequence[int] | None = None,
) -> tuple[int, int]:
    """One batch of plans with occurrences due within `horizon` of `now`: their
    visits made (those not made already) and their `next_occurs_at` moved on.
    Returns (plans examined, visits made). Flushes; the caller commits."""
    until = now + horizon
    plans = _due_plans(session, until, limit, plan_ids)
    if not plans:
        return 0, 0
    config = load_config(session, timezone)
    visits: list[tuple[_Plan, dt.datetime]] = []
    moves: list[dict[str, Any]] = []
    for plan in plans:
        made, following = occurrences(
            plan,
            config,
            # Occurrences already past are not made (the job was down for longer
            # than the horizon): a visit in the past cannot be scheduled.
            after=max(plan.next_occurs_at, now),
            until=until,
            category_id=plan.category_id,
            priority=plan.priority,
            region_path=plan.region_path,
        )
        visits += [(plan, at) for at in made]
        moves.append({"plan_id": plan.id, "next_at": following})
    created = _insert_visits(session, config, visits, now) if visits else 0
    session.execute(_MOVE_PLANS, moves)
    return len(plans), created


def make_soon(session: Session, plan: CarePlan, now: dt.datetime, timezone: str) -> int:
    """Make at once the plan's visits due before the job's next turn could: a
    lunch planned at 11:25 for 11:30 is a visit the carer sees now, not a slot
    the job finds already past. The rest waits for the job."""
    _, made = make_batch(session, now, SOON, timezone, limit=1, plan_ids=[plan.id])
    return made


def new_ticket_ids(session: Session, count: int) -> list[int]:
    """`count` ids for new tickets in one statement (filing takes one the same way)."""
    if session.get_bind().dialect.name == "postgresql":
        sequence: Any = literal_column("nextval(pg_get_serial_sequence('ticket', 'id'))")
        series = func.generate_series(1, count).table_valued("n")
        return list(session.scalars(select(sequence).select_from(series)))
    # One writer at a time (the job's session holds BEGIN IMMEDIATE).
    top = session.scalar(select(func.coalesce(func.max(Ticket.id), 0))) or 0
    return list(range(top + 1, top + 1 + count))


_TICKET_COLUMNS = [c.key for c in Ticket.__table__.c]
# Core, executemany: one statement for the batch's plans.
_PLANS = cast(Table, CarePlan.__table__)
_MOVE_PLANS = (
    update(_PLANS)
    .where(_PLANS.c.id == bindparam("plan_id"))
    .values(next_occurs_at=bindparam("next_at"))
)


def _insert_visits(
    session: Session, config: SlaConfig, visits: list[tuple[_Plan, dt.datetime]], now: dt.datetime
) -> int:
    ids = new_ticket_ids(session, len(visits))
    rows: list[dict[str, Any]] = []
    by_id: dict[int, tuple[Ticket, str]] = {}
    for ticket_id, (plan, at) in zip(ids, visits, strict=True):
        ticket = _visit(plan, at, ticket_id, now, config)
        by_id[ticket_id] = ticket, plan.category_code
        rows.append({key: getattr(ticket, key) for key in _TICKET_COLUMNS})
    upsert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        upsert(Ticket)
        .on_conflict_do_nothing(index_elements=["care_plan_id", "plan_occurrence"])
        .returning(Ticket.id)
    )
    made = [by_id[ticket_id] for ticket_id in session.scalars(statement, rows)]
    if not made:
        return 0
    session.execute(
        insert(TicketEvent),
        [
            {
                "ticket_id": ticket.id,
                "type": "ticket.created",
                "actor_id": None,  # the job: the timeline shows `system`
                "from_status": None,
                "to_status": ticket.status,
                "organization_id": ticket.organization_id,
                "internal": False,
                "data": {
                    "category": category,
                    "priority": str(ticket.priority),
                    "channel": str(Channel.care_plan),
                    "care_plan_id": ticket.care_plan_id,
                    "scheduled_for": ticket.scheduled_for.isoformat(),  # type: ignore[union-attr]
                },
                "created_at": now,
            }
            for ticket, category in made
        ],
    )
    for _ in made:
        instruments.ticket_created(session, TicketKind.elderly_care)  # counted on commit
    organizations = {t.organization_id for t, _ in made if t.organization_id is not None}
    if organizations:
        # Wake this process's feed long-polls after commit, as filing does.
        session.info.setdefault(FEED_ORGANIZATIONS, set()).update(organizations)
    return len(made)


def _visit(
    plan: _Plan, at: dt.datetime, ticket_id: int, now: dt.datetime, config: SlaConfig
) -> Ticket:
    status = Status.assigned if plan.organization_id else Status.submitted
    ticket = Ticket(
        id=ticket_id,
        number=ticket_number(ticket_id, now, config.default_zone),
        kind=TicketKind.elderly_care,
        category_id=plan.category_id,
        priority=plan.priority,
        status=status,
        community_id=plan.community_id,
        region_path=plan.region_path,
        organization_id=plan.organization_id,
        assignee_id=None,
        reporter_id=None,
        reporter_name=None,
        # Whoever made the plan stands as the filer: a grid worker sees the visits
        # of the plans they made, as the tickets they file.
        filed_by_id=plan.created_by_id,
        on_behalf_of_name=None,
        on_behalf_of_phone=None,
        channel=Channel.care_plan,
        title=None,
        description=plan.note or "",
        # Inserted by Core (make_batch): the ORM's events do not set it.
        search_terms=ticket_terms(None, plan.note, None, None),
        building=None,
        unit=None,
        room=None,
        area=None,
        contact_phone=None,
        # The visit's window is its preferred time: the elderly-care policy
        # resolves by the end of it (docs/sla.md).
        preferred_from=at,
        preferred_to=at + dt.timedelta(minutes=plan.duration_minutes),
        attachments=[],
        language=None,
        created_at=now,
        updated_at=now,
        closed_at=None,
        responded_at=None,
        resolved_at=None,
        on_hold_since=None,
        hold_reason=None,
        paused_seconds=0,
        response_breached=False,
        resolution_breached=False,
        sla_paused_at=None,
        rating=None,
        rating_comment=None,
        rating_tags=None,
        reopen_count=0,
        urge_count=0,
        last_urged_at=None,
        duplicate_key=None,
        response_escalation_level=0,
        resolution_escalation_level=0,
        elder_id=plan.elder_id,
        care_plan_id=plan.id,
        scheduled_for=at,
        plan_occurrence=at,
        government_share_percent=plan.government_share_percent,
        version=1,
    )
    policy = config.policy_for(
        TicketKind.elderly_care, plan.category_id, plan.priority, plan.region_path
    )
    clock.start(ticket, policy, now)
    return ticket


# --- plan changes ------------------------------------------------------------------


def reshape(
    session: Session,
    plan: CarePlan,
    actor_id: int | None,
    now: dt.datetime,
    timezone: str,
    *,
    cause: str,
) -> int:
    """After a change to `plan` (already applied to it): its visits to come that
    have not started and no longer fit are cancelled, with a `ticket.cancelled`
    event, and release their occurrence; the rest take the plan's duration and
    share. Past and started visits are never touched. The plan's next occurrence
    is set again, so the job makes what is newly due. Returns the visits cancelled."""
    visits = session.scalars(
        select(Ticket)
        .where(
            Ticket.care_plan_id == plan.id,
            Ticket.plan_occurrence.is_not(None),
            Ticket.scheduled_for > now,
            Ticket.status.in_(NOT_STARTED),
        )
        .order_by(Ticket.scheduled_for)
    ).all()
    config = load_config(session, timezone)
    region_path, priority = session.execute(
        select(Community.region_path, Category.default_priority)
        .where(Community.id == plan.community_id)
        .join(Category, Category.id == plan.category_id)
    ).one()
    fitting: set[dt.datetime] = set()
    if plan.active and visits:
        made, _ = occurrences(
            plan,
            config,
            after=now,
            until=max(v.scheduled_for or now for v in visits),
            category_id=plan.category_id,
            priority=priority,
            region_path=region_path,
        )
        fitting = set(made)
    cancelled = 0
    for visit in visits:
        if visit.scheduled_for in fitting:
            _refit(visit, plan, config, region_path)
            continue
        before = visit.status
        visit.status = Status.cancelled
        visit.plan_occurrence = None  # the occurrence may be made again by a later change
        visit.updated_at = now
        visit.sla_next_check_at = None
        record_event(
            session,
            visit,
            "ticket.cancelled",
            actor_id,
            from_status=before,
            to_status=Status.cancelled,
            data={"reason": None, "care_plan_id": plan.id, "care_plan_change": cause},
            at=now,
        )
        cancelled += 1
    plan.next_occurs_at = _first_from(plan, config, now, priority, region_path)
    session.flush()
    return cancelled


def _refit(visit: Ticket, plan: CarePlan, config: SlaConfig, region_path: str) -> None:
    assert visit.scheduled_for is not None  # a visit's
    end = visit.scheduled_for + dt.timedelta(minutes=plan.duration_minutes)
    if (
        visit.preferred_to == end
        and visit.government_share_percent == plan.government_share_percent
    ):
        return
    visit.preferred_to = end
    visit.government_share_percent = plan.government_share_percent
    clock.recompute(visit, config.policy_by_id(visit.sla_policy_id, region_path))


def _first_from(
    plan: CarePlan, config: SlaConfig, now: dt.datetime, priority: Priority, region_path: str
) -> dt.datetime | None:
    """Where the job takes the plan up again: its first occurrence from now (those
    already made are skipped by their unique key)."""
    if not plan.active:
        return None
    _, following = occurrences(
        plan,
        config,
        after=now,
        until=now - dt.timedelta(microseconds=1),
        category_id=plan.category_id,
        priority=priority,
        region_path=region_path,
    )
    return following


def first_occurrence_at(session: Session, plan: CarePlan, timezone: str) -> dt.datetime | None:
    """The plan's first occurrence in its region's zone (recurrence.first_occurrence)."""
    config = load_config(session, timezone)
    region_path = session.scalar(
        select(Community.region_path).where(Community.id == plan.community_id)
    )
    hours, minutes = (int(part) for part in plan.local_time.split(":"))
    return recurrence.first_occurrence(
        plan.rrule,
        plan.starts_on,
        plan.ends_on,
        dt.time(hours, minutes),
        ZoneInfo(config.zone_for(region_path or "")),
    )
