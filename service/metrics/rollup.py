"""The rollup: the summary of millions of tickets from a few hundred thousand rows.

Every ticket is added to one row of `metrics_rollup` per (local month of
creation, region, organisation, category, kind): the additive counts of
PRODUCT.md's indicators as of the rollup's run, and histograms of its response
and resolution times. Coarser copies drop the category or the organisation, and
`metrics_rollup_org_quarter` sums the copy by organisation by local quarter,
with the quarter's tickets open and overdue at its end. What the rollup cannot
hold is read at summary time:

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

Counts are exact as of that run. Percentiles come from the histograms and are
approximate: the answer lies in the same bucket as the exact percentile's
neighbouring values, so it is off by less than the width of that bucket: under
25% of the value above a minute (buckets grow by 1.25x), under a minute below
it; above 149 days the last bucket has no upper edge.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from service.auth import Principal
from service.db import UTCDateTime, binary_results
from service.directory.models import Region
from service.enums import Role
from service.jobs import JobContext, job
from service.metrics.indicators import COUNTS, PERCENTILES
from service.metrics.models import (
    HISTOGRAM_BUCKETS,
    ROLLUP_COUNTS,
    MetricsPending,
    MetricsRollup,
    MetricsRollupByCategory,
    MetricsRollupByOrganization,
    MetricsRollupByOrganizationQuarter,
    MetricsRollupState,
    MetricsSpan,
)
from service.metrics.periods import Bucket, bucket_of, local_midnight
from service.metrics.tickets import (
    EXCLUDED,
    FOLLOWED,
    Row,
    SummaryScope,
    epoch,
    per_ticket_sql,
    region_key,
    ticket_conditions,
    ticket_dims,
)
from service.tickets.models import FollowUp, Ticket, TicketEvent

EDGES: tuple[float, ...] = tuple(60.0 * 1.25**k for k in range(HISTOGRAM_BUCKETS - 1))
# Ids are drawn before their transactions commit, so an event can become visible
# after a larger id was read: each run also looks at the last EVENT_OVERLAP ids
# below its watermark, and re-rolls those written within LATE_COMMIT of the last
# run (a transaction open longer than that is not waited for).
EVENT_OVERLAP = 1000
LATE_COMMIT = dt.timedelta(minutes=5)
ROLLUP = cast(Table, MetricsRollup.__table__)
BY_ORGANIZATION = cast(Table, MetricsRollupByOrganization.__table__)
BY_CATEGORY = cast(Table, MetricsRollupByCategory.__table__)
BY_ORGANIZATION_QUARTER = cast(Table, MetricsRollupByOrganizationQuarter.__table__)
SPAN = cast(Table, MetricsSpan.__table__)
PENDING = cast(Table, MetricsPending.__table__)
TABLES = (ROLLUP, BY_ORGANIZATION, BY_CATEGORY, BY_ORGANIZATION_QUARTER, SPAN, PENDING)
HISTOGRAMS = [f"hresp_{i}" for i in range(HISTOGRAM_BUCKETS)] + [
    f"hres_{i}" for i in range(HISTOGRAM_BUCKETS)
]
DURATIONS = {"response_minutes": 60.0, "resolution_hours": 3600.0}


# --- histograms ------------------------------------------------------------------


def bucket_sql(seconds: Any) -> Any:
    """SQL for the bucket of a duration in seconds: the number of EDGES at or below
    it (NULL for NULL)."""

    def tree(lo: int, hi: int) -> Any:
        if lo == hi:
            return literal(lo)
        mid = (lo + hi + 1) // 2
        return case((seconds < EDGES[mid - 1], tree(lo, mid - 1)), else_=tree(mid, hi))

    return case((seconds.is_(None), None), else_=tree(0, len(EDGES)))


def bucket_range(index: int) -> tuple[float, float]:
    low = EDGES[index - 1] if index > 0 else 0.0
    high = EDGES[index] if index < len(EDGES) else EDGES[-1] * 1.25
    return low, high


def bucket_index(seconds: float) -> int:
    return sum(1 for edge in EDGES if edge <= seconds)


_LOWS = tuple(bucket_range(i)[0] for i in range(HISTOGRAM_BUCKETS))
_WIDTHS = tuple(bucket_range(i)[1] - bucket_range(i)[0] for i in range(HISTOGRAM_BUCKETS))


def _order_statistic(histogram: list[int], cumulative: list[int], position: int) -> float:
    """The `position`-th value (0-based) placed evenly within its bucket."""
    index = bisect.bisect_right(cumulative, position)
    seen = cumulative[index - 1] if index else 0
    return _LOWS[index] + (position - seen + 0.5) / histogram[index] * _WIDTHS[index]


def percentile(
    histogram: list[int], fraction: float, cumulative: list[int] | None = None
) -> float | None:
    """percentile_cont over the histogram: interpolate between the two values
    around 1 + fraction (n - 1), as PostgreSQL does over the values themselves."""
    if cumulative is None:
        cumulative = list(itertools.accumulate(histogram))
    n = cumulative[-1]
    if n == 0:
        return None
    rank = fraction * (n - 1)
    low = math.floor(rank)
    index = bisect.bisect_right(cumulative, low)
    seen = cumulative[index - 1] if index else 0
    count, width = histogram[index], _WIDTHS[index]
    value = _LOWS[index] + (low - seen + 0.5) / count * width
    if rank > low:
        # the next value: in the same bucket, or the first of the next non-empty one
        if low + 1 < seen + count:
            following = value + width / count
        else:
            following = _order_statistic(histogram, cumulative, low + 1)
        value += (rank - low) * (following - value)
    return value


# --- what settled means, per ticket ----------------------------------------------


def _local_months(start: dt.datetime, end: dt.datetime, timezone: str) -> list[Bucket]:
    """The whole local months covering [start, end), unclipped."""
    zone = ZoneInfo(timezone)
    day = start.astimezone(zone).date().replace(day=1)
    out: list[Bucket] = []
    while True:
        month_start = local_midnight(day, timezone)
        if month_start >= end:
            return out
        following = (day + dt.timedelta(days=32)).replace(day=1)
        out.append(Bucket(day.isoformat(), month_start, local_midnight(following, timezone)))
        day = following


def local_month(instant: dt.datetime, timezone: str) -> dt.date:
    return instant.astimezone(ZoneInfo(timezone)).date().replace(day=1)


def is_month_start(instant: dt.datetime, timezone: str) -> bool:
    local = instant.astimezone(ZoneInfo(timezone))
    return local.day == 1 and local.time() == dt.time()


def quarter_start(month: dt.date) -> dt.date:
    return month.replace(month=(month.month - 1) // 3 * 3 + 1, day=1)


def next_quarter(month: dt.date) -> dt.date:
    """The first month of the quarter after `month`'s."""
    return (quarter_start(month) + dt.timedelta(days=100)).replace(day=1)


def _quarter_of(column: Any, starts: list[dt.date], values: list[Any] | None = None) -> Any:
    """SQL for the first month of a month's quarter, among `starts` (sorted), or
    the value given for that quarter."""

    def tree(lo: int, hi: int) -> Any:
        if lo == hi:
            return literal(starts[lo], Date()) if values is None else literal(values[lo])
        mid = (lo + hi + 1) // 2
        return case((column < literal(starts[mid], Date()), tree(lo, mid - 1)), else_=tree(mid, hi))

    return tree(0, len(starts) - 1)


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


def _ticket_sql(session: Session, now: dt.datetime, timezone: str) -> _TicketSql:
    dialect = session.get_bind().dialect.name
    t = Ticket
    scope = SummaryScope(
        principal=Principal(user_id=0, role=Role.admin),
        start=now,
        end=now,
        timezone=timezone,
        as_of=now,
    )
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


def _roll(
    session: Session,
    now: dt.datetime,
    timezone: str,
    start: dt.datetime,
    end: dt.datetime,
    last_ticket: int,
    paths: Iterable[str] | None = None,
) -> None:
    """Delete and re-insert the slices of the months in [start, end) (local month
    starts) and `paths` (every region when None), from tickets up to `last_ticket`."""
    months = _local_months(start, end, timezone)
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
    quarter_end = _quarter_of(s.month, quarters, ends)
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
        _quarter_of(o.month, quarters).label("month"),
        o.region_path,
        o.organization_id,
        o.kind,
        *(o[n] for n in sums),
        literal(0).label("backlog_at_end"),
        literal(0).label("overdue_at_end"),
    ).where(o.month >= quarters[0], o.month < after)
    spans = select(
        _quarter_of(s.month, quarters).label("month"),
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


def rebuild(session: Session, now: dt.datetime, timezone: str) -> int:
    """Roll up every ticket (the first run, or after a change of time zone); the
    number of rollup rows made."""
    last_ticket = session.scalar(select(func.max(Ticket.id))) or 0
    last_event = session.scalar(select(func.max(TicketEvent.id))) or 0
    first, last = session.execute(
        select(func.min(Ticket.created_at), func.max(Ticket.created_at))
    ).one()
    for table in TABLES:
        session.execute(delete(table))
    if first is not None:
        _roll(session, now, timezone, first, last + dt.timedelta(seconds=1), last_ticket)
    _save_state(session, now, timezone, last_event, last_ticket)
    if session.get_bind().dialect.name == "postgresql":
        # Statistics now, not when autovacuum comes by: without them the planner
        # loops over the regions for each span instead of hashing them.
        for table in TABLES:
            session.execute(text(f"ANALYZE {table.name}"))
    return int(session.scalar(select(func.count()).select_from(ROLLUP)) or 0)


def _save_state(
    session: Session, now: dt.datetime, timezone: str, last_event: int, last_ticket: int
) -> None:
    state = _state(session)
    if state is None:
        state = MetricsRollupState(id=1)
        session.add(state)
    state.timezone, state.refreshed_at = timezone, now
    state.event_id, state.ticket_id = last_event, last_ticket
    session.flush()


def refresh(session: Session, now: dt.datetime, timezone: str) -> int:
    """Re-roll the slices that changed since the last run; returns how many."""
    state = _state(session)
    if state is None or state.timezone != timezone:
        rebuild(session, now, timezone)
        return -1
    last_ticket = session.scalar(select(func.max(Ticket.id))) or 0
    last_event = session.scalar(select(func.max(TicketEvent.id))) or 0
    sql = _ticket_sql(session, now, timezone)
    last_run = state.refreshed_at.timestamp()
    changed = union_all(
        select(TicketEvent.ticket_id.label("id")).where(
            TicketEvent.id > state.event_id, TicketEvent.id <= last_event
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
        _roll(session, now, timezone, start, start + dt.timedelta(days=1), last_ticket, paths)
    _save_state(session, now, timezone, last_event, last_ticket)
    return sum(len(p) for p in slices.values())


@job("metrics.rollup", every=dt.timedelta(minutes=1))
def refresh_rollup(context: JobContext) -> int:
    with context.session() as session:
        slices = refresh(session, context.now, context.settings.timezone)
        session.commit()
    return max(slices, 0)


# --- reading ---------------------------------------------------------------------


def usable(session: Session, scope: Any) -> MetricsRollupState | None:
    """The rollup answers when the period starts at a local month, ends at one (or
    after the rollup's last run), and no community is asked for: the rows hold
    regions, not communities. Otherwise the live query does."""
    if scope.community_id is not None or "community" in scope.group_by:
        return None
    if scope.principal.role not in (Role.admin, Role.provider_staff):
        return None
    state = _state(session)
    if state is None or state.timezone != scope.timezone:
        return None
    if scope.as_of < state.refreshed_at or not is_month_start(scope.start, scope.timezone):
        return None
    if not (is_month_start(scope.end, scope.timezone) or scope.end >= state.refreshed_at):
        return None
    return state


def _table(scope: Any) -> Any:
    """The smallest copy of the rollup that holds what the summary asks for."""
    by_category = "category" in scope.group_by or scope.category_ids is not None
    by_organization = (
        "organization" in scope.group_by
        or scope.organization_id is not None
        or scope.principal.role == Role.provider_staff
    )
    if by_category and by_organization:
        return ROLLUP
    return BY_CATEGORY if by_category else BY_ORGANIZATION


def _months(scope: Any) -> tuple[dt.date, dt.date]:
    """The first local month of the period, and the first after it."""
    tz = scope.timezone
    first = local_month(scope.start, tz)
    if is_month_start(scope.end, tz):
        return first, local_month(scope.end, tz)
    return first, (local_month(scope.end, tz) + dt.timedelta(days=32)).replace(day=1)


def _parts(table: Any, scope: Any) -> list[tuple[Any, dt.date, dt.date]]:
    """Which rows to add up: (copy, first month, month after). The copy by
    organisation answers the quarters the period covers whole from its quarterly
    sums, unless months are asked for."""
    first, after = _months(scope)
    if table is not BY_ORGANIZATION or scope.time_unit == "month":
        return [(table, first, after)]
    low = first if first == quarter_start(first) else next_quarter(first)
    high = quarter_start(after)
    if low >= high:
        return [(table, first, after)]
    parts = [(BY_ORGANIZATION_QUARTER, low, high)]
    if first < low:
        parts.append((table, first, low))
    if high < after:
        parts.append((table, high, after))
    return parts


def _filters(table: Any, scope: Any, months: tuple[dt.date, dt.date] | None = None) -> list[Any]:
    first, after = months or _months(scope)
    where = [table.c.month >= first, table.c.month < after]
    principal: Principal = scope.principal
    if principal.role == Role.provider_staff:
        where.append(table.c.organization_id == principal.organization_id)
    elif principal.region_path is not None:
        where.append(table.c.region_path.startswith(principal.region_path, autoescape=True))
    if scope.region is not None:
        where.append(table.c.region_path.startswith(scope.region.path, autoescape=True))
    if scope.organization_id is not None:
        where.append(table.c.organization_id == scope.organization_id)
    if scope.kind is not None:
        where.append(table.c.kind == scope.kind)
    if scope.category_ids is not None:
        where.append(table.c.category_id.in_(scope.category_ids))
    return where


def _dims(session: Session, scope: Any, table: Any, bounds: list[Bucket]) -> tuple[list[Any], Any]:
    source: Any = table
    dims: list[Any] = []
    starts = [local_month(b.start, scope.timezone) for b in bounds]
    for name in scope.group_by:
        if name == "region":
            region, parent = aliased(Region), aliased(Region)
            source = source.join(region, region.path == table.c.region_path).outerjoin(
                parent, parent.id == region.parent_id
            )
            dims.append(region_key(region, parent, scope.level(session)))
        elif name == "organization":
            dims.append(table.c.organization_id)
        elif name == "category":
            dims.append(table.c.category_id)
        elif name == "kind":
            dims.append(table.c.kind)
        elif name in ("month", "quarter") and name == scope.time_unit:
            dims.append(_month_index(table.c.month, starts))
    return [d.label(f"g{i}") for i, d in enumerate(dims)], source


def _month_index(column: Any, starts: list[dt.date]) -> Any:
    def tree(lo: int, hi: int) -> Any:
        if lo == hi:
            return literal(lo)
        mid = (lo + hi + 1) // 2
        return case((column < literal(starts[mid], Date()), tree(lo, mid - 1)), else_=tree(mid, hi))

    return tree(0, len(starts) - 1)


@dataclass
class _Group:
    counts: dict[str, int]
    histograms: dict[str, list[int]]


def run(session: Session, scope: Any, state: MetricsRollupState) -> list[Any]:
    """The summary's rows from the rollup, the spans and the live tickets."""

    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # Compiling ~130 sums costs more than adding them up; grouping ~130 columns
        # wants memory (hashed, not sorted in temporary files).
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    bounds = scope.buckets()
    groups: dict[tuple[Any, ...], _Group] = {}

    def group(key: tuple[Any, ...]) -> _Group:
        if key not in groups:
            groups[key] = _Group(
                {name: 0 for name in COUNTS},
                {d: [0] * HISTOGRAM_BUCKETS for d in DURATIONS},
            )
        return groups[key]

    # 1. The rolled-up tickets' counts and histograms: one GROUP BY per copy read
    # (quarterly sums and the months around them; a UNION ALL of the two cost
    # more in projecting 131 columns than it saved), merged here.
    if dialect == "postgresql":
        # Measured on 1M tickets (35k rows of metrics_rollup_org, 4,784 groups): one
        # process 103 ms, two workers 113 ms (merging their partial groups costs
        # more than it saves), and the second core stays free for other requests.
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    c, b = len(ROLLUP_COUNTS), HISTOGRAM_BUCKETS
    untouched = {name: 0 for name in COUNTS if name not in ROLLUP_COUNTS}
    # By quarter, the quarters that had ended by the rollup's last run (and by the
    # period's end) take their backlog and overdue from the quarterly rows; the
    # spans answer the others.
    ended: tuple[dt.date, dt.date] | None = None
    limit = min(state.refreshed_at, scope.as_of, scope.end)
    for table, first, after in _parts(_table(scope), scope):
        dims, source = _dims(session, scope, table, bounds)
        sums = [func.sum(table.c[name]).label(name) for name in (*ROLLUP_COUNTS, *HISTOGRAMS)]
        if table is BY_ORGANIZATION_QUARTER and scope.time_unit == "quarter":
            last = first
            while last < after and local_midnight(next_quarter(last), scope.timezone) <= limit:
                last = next_quarter(last)
            if last > first:
                ended = (first, last)
                before = table.c.month < literal(last, Date())
                sums += [
                    func.sum(case((before, table.c.backlog_at_end), else_=0)).label("backlog"),
                    func.sum(case((before, table.c.overdue_at_end), else_=0)).label("overdue"),
                ]
        query = select(*dims, *sums).select_from(source)
        query = query.where(*_filters(table, scope, (first, after)))
        if dims:
            query = query.group_by(*[d.element for d in dims])
        n = len(dims)
        with binary_results(session):
            records = session.execute(query).all()
        for record in records:
            # The sums of NOT NULL integer columns: integers.
            if record[n] is None:  # no rows at all, and no GROUP BY: one row of NULLs
                continue
            key = tuple(record[:n])
            counts = dict(zip(ROLLUP_COUNTS, record[n : n + c], strict=True))
            response = list(record[n + c : n + c + b])
            resolution = list(record[n + c + b : n + c + 2 * b])
            at_end = record[n + c + 2 * b :]
            if at_end:
                counts["backlog"], counts["overdue_open"] = at_end
            known = groups.get(key)
            if known is None:  # the usual case: each key once
                groups[key] = _Group(
                    {**untouched, **counts},
                    {"response_minutes": response, "resolution_hours": resolution},
                )
                continue
            for name, value in counts.items():
                known.counts[name] += value
            for duration, histogram in (
                ("response_minutes", response),
                ("resolution_hours", resolution),
            ):
                known.histograms[duration] = [
                    x + y for x, y in zip(known.histograms[duration], histogram, strict=True)
                ]
    if dialect == "postgresql":
        session.execute(text("SET LOCAL max_parallel_workers_per_gather TO DEFAULT"))

    # 2. Backlog and overdue at each period's end, of the tickets open at a month's end.
    dims, source = _dims(session, scope, SPAN, bounds)
    s = SPAN.c
    ends = [min(b.end, scope.end, scope.as_of).timestamp() for b in bounds]
    period_end = literal(ends[0]) if len(bounds) == 1 else bucket_of(s.created_at, bounds, ends)
    open_at_end = or_(s.ended.is_(None), s.ended > period_end)
    overdue = or_(  # of those open at the period's end
        and_(s.respond_by <= period_end, or_(s.responded.is_(None), s.responded > period_end)),
        s.resolve_deadline <= period_end,
    )
    # Most spans ended before their own period's end: grouped, only those open then.
    query = (
        select(
            *dims,
            func.count().label("backlog"),
            func.sum(case((overdue, 1), else_=0)).label("overdue_open"),
        )
        .select_from(source)
        .where(
            *_filters(SPAN, scope),
            s.created_at >= literal(scope.start, UTCDateTime()),
            s.created_at < literal(scope.end, UTCDateTime()),
            open_at_end,
        )
    )
    if ended is not None:
        query = query.where(or_(s.month < ended[0], s.month >= ended[1]))
    if dims:
        query = query.group_by(*[d.element for d in dims])
    for mapping in session.execute(query).mappings():
        g = group(tuple(mapping[f"g{i}"] for i in range(len(dims))))
        g.counts["backlog"] += int(mapping["backlog"] or 0)
        g.counts["overdue_open"] += int(mapping["overdue_open"] or 0)

    # 3. The tickets newer than the rollup, exactly: a primary-key range, with
    # their follow-ups only.
    newer = Ticket.id > state.ticket_id
    followed = (
        select(FollowUp.ticket_id)
        .where(FollowUp.ticket_id > state.ticket_id)
        .group_by(FollowUp.ticket_id)
        .subquery("followed")
    )
    per_ticket = per_ticket_sql(scope, dialect, bounds, followed)
    where = [*ticket_conditions(scope), newer]
    base = Ticket.__table__.outerjoin(followed, followed.c.ticket_id == Ticket.id)
    dims, source = ticket_dims(session, scope, bounds, base)
    # One pass: each ticket's conditions and durations once, then grouped by the
    # keys and the two duration buckets (the live tickets are few).
    per_row = []
    for name in COUNTS:
        expr = per_ticket[name]
        value = expr if name == "rating_sum" else case((expr, 1), else_=0)
        per_row.append(value.label(name))
    durations = [
        (per_ticket[duration] * unit).label(f"v{i}")
        for i, (duration, unit) in enumerate(DURATIONS.items())
    ]
    tickets = (
        select(*dims, *per_row, *durations)
        .select_from(source)
        .where(*where)
        .offset(0)  # evaluated once per ticket, not once per use
        .subquery()
    )
    keys = [tickets.c[f"g{i}"] for i in range(len(dims))]
    buckets_ = [bucket_sql(tickets.c[f"v{i}"]).label(f"b{i}") for i in range(len(DURATIONS))]
    query = select(
        *keys, *buckets_, *(func.sum(tickets.c[name]).label(name) for name in COUNTS)
    ).group_by(*keys, *buckets_)
    names = list(DURATIONS)
    for record in session.execute(query):
        g = group(tuple(record[:n]))
        totals = record[n + len(names) :]
        for name, value in zip(COUNTS, totals, strict=True):
            g.counts[name] += int(value or 0)
        tickets_here = int(totals[COUNTS.index("created")] or 0)  # the tickets of this row
        for i, duration in enumerate(names):
            if record[n + i] is not None:
                g.histograms[duration][int(record[n + i])] += tickets_here

    wanted = [
        (duration, unit, [(p[0], p[2]) for p in PERCENTILES if p[1] == duration])
        for duration, unit in DURATIONS.items()
    ]
    rows = []
    for key, g in groups.items():  # thousands of groups: kept lean
        percentiles: dict[str, float | None] = {}
        for duration, unit, fractions in wanted:
            histogram = g.histograms[duration]
            cumulative = list(itertools.accumulate(histogram))
            if cumulative[-1] == 0:
                for indicator, _fraction in fractions:
                    percentiles[indicator] = None
                continue
            for indicator, fraction in fractions:
                value = percentile(histogram, fraction, cumulative)
                percentiles[indicator] = None if value is None else value / unit
        rows.append(Row(key, g.counts, percentiles))
    if scope.group_by == () and not rows:
        rows.append(Row((), {name: 0 for name in COUNTS}, {p[0]: None for p in PERCENTILES}))
    return rows
