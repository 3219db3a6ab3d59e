"""The rollup: the summary of millions of tickets from a few hundred thousand rows.

Every ticket is added to one row of `metrics_rollup` per (local month of
creation, region, organisation, category, kind): the additive counts of
PRODUCT.md's indicators as of the rollup's run, and histograms of its response
and resolution times. Coarser copies drop the category or the organisation, and
`metrics_rollup_org_quarter` sums the copy by organisation by local quarter,
with the quarter's tickets open and overdue at its end. What the rollup cannot
hold is read at summary time (rollup_summary.py):

- tickets newer than the rollup (id above `metrics_rollup_state.ticket_id`) are
  read live, with the exact per-ticket SQL;
- backlog and overdue are taken at each period's end, which the rollup does not
  know. A ticket that ended within its own month is in no backlog at any month's
  end (nor at `now`), so only the tickets still open, and those that ended after
  their month's end, are kept, one row each, in `metrics_span` with their
  deadlines, and evaluated exactly at the period's end.

A ticket is *settled* once nothing but a change to the ticket itself can change
what it counts for: it ended (resolved, closed, cancelled or rejected) and its
response deadline, if it was never answered, has passed. The others are listed
in `metrics_pending`: their response- and resolution-due counts move with the
clock. The job `metrics.rollup` (every minute) re-rolls the slices (local
month, region) of the tickets with new timeline events (every change to a
ticket writes one), and of the pending tickets that settled or passed a deadline
since its last run; a slice is deleted and re-inserted from `ticket` in one
transaction, so re-running is harmless. So the summary is the tickets as they
were at the job's last run (`rollup_refreshed_at`, at most a minute or so ago),
plus every ticket filed since, with backlog and overdue at the period's end.

Counts are exact as of that run; percentiles come from the histograms and are
approximate (histogram.py).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, literal, or_, select, text, union_all
from sqlalchemy.orm import Session

from service.auth import Principal
from service.db import UTCDateTime
from service.enums import Role
from service.jobs import JobContext, job
from service.metrics import care
from service.metrics.histogram import bucket_sql
from service.metrics.indicators import EMERGENCY_COUNTS, VISIT_COUNTS
from service.metrics.models import (
    BY_CATEGORY,
    BY_ORGANIZATION,
    BY_ORGANIZATION_QUARTER,
    CARE,
    CARE_ELDER,
    CARE_HISTOGRAM,
    CARE_TABLES,
    HISTOGRAM_BUCKETS,
    HISTOGRAMS,
    PENDING,
    ROLLUP,
    ROLLUP_COUNTS,
    SPAN,
    TABLES,
    MetricsRollupState,
)
from service.metrics.periods import (
    Bucket,
    bucket_of,
    local_midnight,
    local_month,
    local_months,
    next_quarter,
    period_of,
    quarter_start,
)
from service.metrics.tickets import EXCLUDED, FOLLOWED, SummaryScope, epoch, per_ticket_sql
from service.tickets.models import EVENT_TIME_MARGIN, Ticket, TicketEvent

# Ids are drawn before their transactions commit, so an event can become visible
# after a larger id was read: each run also looks at the last EVENT_OVERLAP ids
# below its watermark, and re-rolls those written within LATE_COMMIT of the last
# run (a transaction open longer than that is not waited for).
EVENT_OVERLAP = 1000
LATE_COMMIT = dt.timedelta(minutes=5)


# --- what settled means, per ticket ----------------------------------------------


@dataclass
class _TicketSql:
    """The per-ticket expressions the rollup stores, as of `now`."""

    counts: dict[str, Any]
    settled: Any
    ended: Any
    response_seconds: Any
    resolution_seconds: Any
    respond_by: Any
    responded: Any
    resolve_deadline: Any


def _scope(now: dt.datetime, timezone: str, grace: int) -> SummaryScope:
    """What the per-ticket SQL needs to know: when it is, and the visits' grace."""
    return SummaryScope(
        principal=Principal(user_id=0, role=Role.admin),
        start=now,
        end=now,
        timezone=timezone,
        as_of=now,
        visit_grace_minutes=grace,
    )


def _ticket_sql(session: Session, now: dt.datetime, timezone: str) -> _TicketSql:
    dialect = session.get_bind().dialect.name
    t = Ticket
    scope = _scope(now, timezone, 30)
    per_ticket = per_ticket_sql(scope, dialect, [Bucket("", now, now)])
    excluded = t.status.in_(EXCLUDED)
    completed = per_ticket["completed"]
    responded = t.responded_at.is_not(None)
    ended = case(
        (completed, epoch(t.resolved_at, dialect)),
        (excluded, epoch(t.updated_at, dialect)),
        else_=None,
    )
    settled = and_(
        ended.is_not(None),
        ended <= now.timestamp(),
        or_(
            responded,
            excluded,
            t.respond_by.is_(None),
            t.respond_by <= literal(now, UTCDateTime()),
        ),
        # a visit not yet due is left out of the care rollup until it is
        or_(t.scheduled_for.is_(None), t.scheduled_for <= literal(now, UTCDateTime())),
    )
    paused = func.coalesce(t.paused_seconds, 0)
    return _TicketSql(
        counts={name: per_ticket[name] for name in ROLLUP_COUNTS},
        settled=case((settled, 1), else_=0),
        ended=ended,
        response_seconds=case(
            (responded, epoch(t.responded_at, dialect) - epoch(t.created_at, dialect)),
            else_=None,
        ),
        resolution_seconds=case(
            (
                completed,
                epoch(t.resolved_at, dialect) - epoch(t.created_at, dialect) - paused,
            ),
            else_=None,
        ),
        respond_by=epoch(t.respond_by, dialect),
        responded=case((responded, epoch(t.responded_at, dialect)), else_=None),
        resolve_deadline=epoch(t.resolve_by, dialect) + paused,
    )


# --- rolling up ------------------------------------------------------------------


def reroll(
    session: Session,
    now: dt.datetime,
    timezone: str,
    start: dt.datetime,
    end: dt.datetime,
    last_ticket: int,
    paths: Iterable[str] | None = None,
    grace: int = 30,
) -> None:
    """Delete and re-insert the slices of the months in [start, end) (local month
    starts) and `paths` (every region when None), from tickets up to `last_ticket`;
    the visits' on-time counts with `grace` minutes (LINLI_VISIT_GRACE_MINUTES)."""
    months = local_months(start, end, timezone)
    if not months:
        return
    first, after = dt.date.fromisoformat(months[0].label), months[-1].end
    after_day = local_month(after, timezone)
    path_list = sorted(set(paths)) if paths is not None else None
    quarters = [quarter_start(first)]
    while (following := next_quarter(quarters[-1])) < after_day:
        quarters.append(following)
    for table in TABLES:
        if table is BY_ORGANIZATION_QUARTER:
            continue  # _roll_quarters, from what is made here
        stale = delete(table).where(table.c.month >= first, table.c.month < after_day)
        if path_list is not None:
            stale = stale.where(table.c.region_path.in_(path_list))
        session.execute(stale)
    for table in CARE_TABLES:
        stale = delete(table).where(table.c.slice_month >= first, table.c.slice_month < after_day)
        if path_list is not None:
            stale = stale.where(table.c.region_path.in_(path_list))
        session.execute(stale)

    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))  # compiling this costs minutes
    t = Ticket
    sql = _ticket_sql(session, now, timezone)
    month = bucket_of(t.created_at, months, [dt.date.fromisoformat(m.label) for m in months])
    month_end = bucket_of(t.created_at, months, [m.end.timestamp() for m in months])
    where = [
        t.created_at >= literal(months[0].start, UTCDateTime()),
        t.created_at < literal(after, UTCDateTime()),
        t.id <= last_ticket,
    ]
    if path_list is not None:
        where.append(t.region_path.in_(path_list))
    source = Ticket.__table__.outerjoin(FOLLOWED, FOLLOWED.c.ticket_id == t.id)
    keys = [t.region_path, t.organization_id, t.category_id, t.kind]

    columns = [month.label("month"), *keys]
    for name, expr in sql.counts.items():
        if name == "rating_sum":
            columns.append(func.coalesce(t.rating, 0).label(name))
        else:
            columns.append(case((expr, 1), else_=0).label(name))
    columns.append(sql.response_seconds.label("rv"))
    columns.append(sql.resolution_seconds.label("sv"))
    # OFFSET 0 keeps the planner from inlining each ticket's values and buckets into
    # every use of them (and the statement stays small to compile).
    values = select(*columns).select_from(source).where(*where).offset(0).subquery()
    inner = (
        select(
            *(c for c in values.c if c.key not in ("rv", "sv")),
            bucket_sql(values.c.rv).label("rb"),
            bucket_sql(values.c.sv).label("sb"),
        )
        .offset(0)
        .subquery()
    )
    key_columns = [inner.c.month, *(inner.c[k.key] for k in keys)]
    sums = [func.sum(inner.c[name]) for name in ROLLUP_COUNTS]
    histograms = [
        func.sum(case((inner.c[which] == i, 1), else_=0))
        for which in ("rb", "sb")
        for i in range(HISTOGRAM_BUCKETS)
    ]
    rolled = select(*key_columns, *sums, *histograms).group_by(*key_columns)
    target = ["month", "region_path", "organization_id", "category_id", "kind", *ROLLUP_COUNTS]
    target += HISTOGRAMS
    session.execute(insert(ROLLUP).from_select(target, rolled))
    # The two coarser copies, from the rows just made.
    made = [ROLLUP.c.month >= first, ROLLUP.c.month < after_day]
    if path_list is not None:
        made.append(ROLLUP.c.region_path.in_(path_list))
    for table, key in ((BY_ORGANIZATION, "organization_id"), (BY_CATEGORY, "category_id")):
        key_columns = [ROLLUP.c.month, ROLLUP.c.region_path, ROLLUP.c[key], ROLLUP.c.kind]
        coarse = (
            select(*key_columns, *(func.sum(ROLLUP.c[n]) for n in (*ROLLUP_COUNTS, *HISTOGRAMS)))
            .where(*made)
            .group_by(*key_columns)
        )
        columns = ["month", "region_path", key, "kind", *ROLLUP_COUNTS, *HISTOGRAMS]
        session.execute(insert(table).from_select(columns, coarse))
    spanning = select(
        t.id,
        month,
        *keys,
        t.created_at,
        sql.ended,
        sql.respond_by,
        sql.responded,
        sql.resolve_deadline,
    ).where(*where, or_(sql.settled == 0, sql.ended > month_end))
    session.execute(
        insert(SPAN).from_select(
            [
                "ticket_id",
                "month",
                "region_path",
                "organization_id",
                "category_id",
                "kind",
                "created_at",
                "ended",
                "respond_by",
                "responded",
                "resolve_deadline",
            ],
            spanning,
        )
    )
    pending = select(t.id, month, t.region_path).where(*where, sql.settled == 0)
    session.execute(insert(PENDING).from_select(["ticket_id", "month", "region_path"], pending))
    _roll_quarters(session, timezone, quarters, path_list)
    _roll_care(session, _scope(now, timezone, grace), months, where)


def _roll_care(
    session: Session, scope: SummaryScope, months: list[Bucket], where: list[Any]
) -> None:
    """The care rows of the slices' tickets (`where`): visits due by now by the
    month they were scheduled for, 助急 tickets by that of their creation, and the
    elders served by the month of the resolution; each row keeps its slice's month."""
    dialect = session.get_bind().dialect.name
    t = Ticket
    now = literal(scope.as_of, UTCDateTime())
    slice_month = bucket_of(t.created_at, months, [dt.date.fromisoformat(m.label) for m in months])
    keys = [t.region_path, t.organization_id, t.category_id, t.kind]
    key_names = ["region_path", "organization_id", "category_id", "kind"]

    def month_of(instant: Any, conditions: list[Any]) -> Any:
        """The local month of `instant`, over the months its values span here."""
        low, high = session.execute(
            select(func.min(instant), func.max(instant)).where(*conditions)
        ).one()
        if low is None:
            return None
        spanned = local_months(low, high + dt.timedelta(seconds=1), scope.timezone)
        return bucket_of(instant, spanned, [dt.date.fromisoformat(m.label) for m in spanned])

    def grouped(inner: Any, sums: list[Any]) -> Any:
        group = [inner.c.month, inner.c.slice_month, *(inner.c[k] for k in key_names)]
        return select(*group, *sums).group_by(*group)

    target = ["month", "slice_month", *key_names]
    visits = [*where, care.is_visit(), t.scheduled_for <= now]
    month = month_of(t.scheduled_for, visits)
    if month is not None:
        sql = care.visit_sql(scope, dialect)
        values = [
            (sql[n] if n == "government_share_sum" else case((sql[n], 1), else_=0)).label(n)
            for n in VISIT_COUNTS
        ]
        inner = (
            select(month.label("month"), slice_month.label("slice_month"), *keys, *values)
            .where(*visits)
            .offset(0)
            .subquery()
        )
        sums: list[Any] = [func.sum(inner.c[n]) for n in VISIT_COUNTS]
        sums += [literal(0) for _ in (*EMERGENCY_COUNTS, *CARE_HISTOGRAM)]
        columns = [*target, *VISIT_COUNTS, *EMERGENCY_COUNTS, *CARE_HISTOGRAM]
        session.execute(insert(CARE).from_select(columns, grouped(inner, sums)))
    sql = care.emergency_sql(dialect)
    values = [case((sql[n], 1), else_=0).label(n) for n in EMERGENCY_COUNTS]
    seconds = sql["emergency_response_seconds"]
    inner = (
        select(
            slice_month.label("month"),
            slice_month.label("slice_month"),
            *keys,
            *values,
            bucket_sql(seconds).label("b"),
        )
        .where(*where, t.category_id == care.emergency_categories())
        .offset(0)
        .subquery()
    )
    sums = [literal(0) for _ in VISIT_COUNTS]
    sums += [func.sum(inner.c[n]) for n in EMERGENCY_COUNTS]
    sums += [func.sum(case((inner.c.b == i, 1), else_=0)) for i in range(HISTOGRAM_BUCKETS)]
    columns = [*target, *VISIT_COUNTS, *EMERGENCY_COUNTS, *CARE_HISTOGRAM]
    session.execute(insert(CARE).from_select(columns, grouped(inner, sums)))
    served = [*where, *care.served_conditions()]
    month = month_of(t.resolved_at, served)
    if month is not None:
        elders = (
            select(month.label("month"), slice_month.label("slice_month"), *keys, t.elder_id)
            .where(*served)
            .distinct()
        )
        session.execute(insert(CARE_ELDER).from_select([*target, "elder_id"], elders))


def _roll_quarters(
    session: Session, timezone: str, quarters: list[dt.date], path_list: list[str] | None
) -> None:
    """The quarterly rows of `quarters` (first months; and `path_list`, or every
    region), from the monthly rows by organisation and the spans just made: their
    sums, and the tickets open and overdue at the quarter's end. For a quarter
    not ended yet, that is what its end will see unless the tickets change, and
    every change re-rolls their slice; the summary reads it once it has ended."""
    o, s = BY_ORGANIZATION.c, SPAN.c
    after = next_quarter(quarters[-1])
    stale = delete(BY_ORGANIZATION_QUARTER).where(
        BY_ORGANIZATION_QUARTER.c.month >= quarters[0], BY_ORGANIZATION_QUARTER.c.month < after
    )
    if path_list is not None:
        stale = stale.where(BY_ORGANIZATION_QUARTER.c.region_path.in_(path_list))
    session.execute(stale)
    ends = [local_midnight(next_quarter(q), timezone).timestamp() for q in quarters]
    quarter_end = period_of(s.month, quarters, ends)
    open_at_end = or_(s.ended.is_(None), s.ended > quarter_end)
    overdue = and_(
        open_at_end,
        or_(
            and_(
                s.respond_by <= quarter_end,
                or_(s.responded.is_(None), s.responded > quarter_end),
            ),
            s.resolve_deadline <= quarter_end,
        ),
    )
    sums = (*ROLLUP_COUNTS, *HISTOGRAMS)
    monthly = select(
        period_of(o.month, quarters).label("month"),
        o.region_path,
        o.organization_id,
        o.kind,
        *(o[n] for n in sums),
        literal(0).label("backlog_at_end"),
        literal(0).label("overdue_at_end"),
    ).where(o.month >= quarters[0], o.month < after)
    spans = select(
        period_of(s.month, quarters).label("month"),
        s.region_path,
        s.organization_id,
        s.kind,
        *(literal(0).label(n) for n in sums),
        case((open_at_end, 1), else_=0).label("backlog_at_end"),
        case((overdue, 1), else_=0).label("overdue_at_end"),
    ).where(s.month >= quarters[0], s.month < after)
    if path_list is not None:
        monthly = monthly.where(o.region_path.in_(path_list))
        spans = spans.where(s.region_path.in_(path_list))
    both = union_all(monthly, spans).subquery()
    keys = [both.c.month, both.c.region_path, both.c.organization_id, both.c.kind]
    totals = [*sums, "backlog_at_end", "overdue_at_end"]
    by_quarter = select(*keys, *(func.sum(both.c[n]) for n in totals)).group_by(*keys)
    columns = ["month", "region_path", "organization_id", "kind", *totals]
    session.execute(insert(BY_ORGANIZATION_QUARTER).from_select(columns, by_quarter))


def _state(session: Session) -> MetricsRollupState | None:
    return session.get(MetricsRollupState, 1)


def rebuild(session: Session, now: dt.datetime, timezone: str, grace: int = 30) -> int:
    """Roll up every ticket (the first run, or after a change of time zone or of
    the visits' grace); the number of rollup rows made."""
    last_ticket = session.scalar(select(func.max(Ticket.id))) or 0
    last_event = session.scalar(select(func.max(TicketEvent.id))) or 0
    first, last = session.execute(
        select(func.min(Ticket.created_at), func.max(Ticket.created_at))
    ).one()
    for table in (*TABLES, *CARE_TABLES):
        session.execute(delete(table))
    if first is not None:
        end = last + dt.timedelta(seconds=1)
        reroll(session, now, timezone, first, end, last_ticket, grace=grace)
    _save_state(session, now, timezone, last_event, last_ticket, grace)
    if session.get_bind().dialect.name == "postgresql":
        # Statistics now, not when autovacuum comes by: without them the planner
        # loops over the regions for each span instead of hashing them.
        for table in (*TABLES, *CARE_TABLES):
            session.execute(text(f"ANALYZE {table.name}"))
    return int(session.scalar(select(func.count()).select_from(ROLLUP)) or 0)


def _save_state(
    session: Session,
    now: dt.datetime,
    timezone: str,
    last_event: int,
    last_ticket: int,
    grace: int,
) -> None:
    state = _state(session)
    if state is None:
        state = MetricsRollupState(id=1)
        session.add(state)
    state.timezone, state.refreshed_at = timezone, now
    state.visit_grace_minutes = grace
    state.event_id, state.ticket_id = last_event, last_ticket
    session.flush()


def refresh(session: Session, now: dt.datetime, timezone: str, grace: int = 30) -> int:
    """Re-roll the slices that changed since the last run; returns how many."""
    state = _state(session)
    if state is None or state.timezone != timezone or state.visit_grace_minutes != grace:
        rebuild(session, now, timezone, grace)
        return -1
    last_ticket = session.scalar(select(func.max(Ticket.id))) or 0
    last_event = session.scalar(select(func.max(TicketEvent.id))) or 0
    sql = _ticket_sql(session, now, timezone)
    last_run = state.refreshed_at.timestamp()
    changed = union_all(
        select(TicketEvent.ticket_id.label("id")).where(
            TicketEvent.id > state.event_id,
            TicketEvent.id <= last_event,
            # Months before the last run's are not read (service/partitions).
            TicketEvent.created_at
            >= literal(state.refreshed_at - EVENT_TIME_MARGIN, UTCDateTime()),
        ),
        select(TicketEvent.ticket_id).where(
            TicketEvent.id > state.event_id - EVENT_OVERLAP,
            TicketEvent.id <= state.event_id,
            TicketEvent.created_at >= literal(state.refreshed_at - LATE_COMMIT, UTCDateTime()),
        ),
        select(Ticket.id).where(Ticket.id > state.ticket_id, Ticket.id <= last_ticket),
        # Pending tickets whose counts moved with the clock: settled, or past a
        # response or resolution deadline since the last run.
        select(Ticket.id)
        .join(PENDING, PENDING.c.ticket_id == Ticket.id)
        .where(
            or_(
                sql.settled == 1,
                and_(sql.respond_by > last_run, sql.respond_by <= now.timestamp()),
                and_(sql.resolve_deadline > last_run, sql.resolve_deadline <= now.timestamp()),
                # a visit that has come due: the care rollup takes it now
                and_(
                    Ticket.scheduled_for > literal(state.refreshed_at, UTCDateTime()),
                    Ticket.scheduled_for <= literal(now, UTCDateTime()),
                ),
            )
        ),
    ).subquery()
    rows = session.execute(
        select(Ticket.region_path, Ticket.created_at)
        .where(Ticket.id.in_(select(changed.c.id)))
        .distinct()
    ).all()
    slices: dict[dt.date, set[str]] = defaultdict(set)
    for path, created in rows:
        slices[local_month(created, timezone)].add(path)
    for month, paths in sorted(slices.items()):
        start = local_midnight(month, timezone)
        end = start + dt.timedelta(days=1)
        reroll(session, now, timezone, start, end, last_ticket, paths, grace)
    _save_state(session, now, timezone, last_event, last_ticket, grace)
    return sum(len(p) for p in slices.values())


@job("metrics.rollup", every=dt.timedelta(minutes=1))
def refresh_rollup(context: JobContext) -> int:
    with context.session() as session:
        settings = context.settings
        slices = refresh(session, context.now, settings.timezone, settings.visit_grace_minutes)
        session.commit()
    return max(slices, 0)
