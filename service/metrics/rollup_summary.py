"""The summary from the rollup (rollup.py), when it can answer (`usable`):

1. the rolled-up tickets' counts and histograms, from the smallest copy of the
   rollup that holds the groups asked for (and its quarterly sums, where whole
   quarters are asked for by organisation);
2. backlog and overdue at each period's end, from the spans of the tickets
   open at a month's end;
3. the tickets newer than the rollup, read live with the per-ticket SQL of
   tickets.py (and care.py's for their 助急 figures);
4. the care figures by their own months: `metrics_care`'s sums, the visits
   newer than the rollup or not yet due at its last run read live, and the
   elders served counted distinct over `metrics_care_elder` and the newer
   tickets together.

Counts are exact as of the rollup's last run; percentiles come from the
histograms (histogram.py) and are approximate.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Date, and_, case, func, literal, or_, select, text, union, union_all
from sqlalchemy.orm import Session, aliased

from service.auth import Principal
from service.db import UTCDateTime, binary_results
from service.directory.models import Region
from service.enums import Role
from service.metrics import care
from service.metrics.histogram import bucket_sql, percentile
from service.metrics.indicators import (
    ALL_PERCENTILES,
    CARE_COUNTS,
    CARE_PERCENTILES,
    COUNTS,
    EMERGENCY_COUNTS,
    PERCENTILES,
    TICKET_COUNTS,
)
from service.metrics.models import (
    BY_CATEGORY,
    BY_ORGANIZATION,
    BY_ORGANIZATION_QUARTER,
    CARE,
    CARE_ELDER,
    CARE_HISTOGRAM,
    HISTOGRAM_BUCKETS,
    HISTOGRAMS,
    ROLLUP,
    ROLLUP_COUNTS,
    SPAN,
    MetricsRollupState,
)
from service.metrics.periods import (
    Bucket,
    bucket_of,
    is_month_start,
    local_midnight,
    local_month,
    local_months,
    next_quarter,
    period_of,
    quarter_start,
)
from service.metrics.tickets import (
    Row,
    SummaryScope,
    in_period,
    per_ticket_sql,
    region_key,
    scope_conditions,
    ticket_conditions,
    ticket_dims,
)
from service.tickets.models import FollowUp, Ticket

DURATIONS = {"response_minutes": 60.0, "resolution_hours": 3600.0}
# The live tickets' histograms: the durations above, and 助急 response seconds.
EMERGENCY = "emergency_response_seconds"
LIVE_DURATIONS = {**DURATIONS, EMERGENCY: 1.0}
# Each live duration's histogram in a _Group.
_SLOT = {"response_minutes": "response", "resolution_hours": "resolution", EMERGENCY: "emergency"}
_EMPTY = (0,) * HISTOGRAM_BUCKETS


def usable(session: Session, scope: SummaryScope) -> MetricsRollupState | None:
    """The rollup answers when the period starts at a local month, ends at one (or
    after the rollup's last run), and no community is asked for: the rows hold
    regions, not communities. Otherwise the live query does."""
    if scope.community_id is not None or "community" in scope.group_by:
        return None
    if scope.principal.role not in (Role.admin, Role.provider_staff):
        return None
    state = session.get(MetricsRollupState, 1)
    if state is None or state.timezone != scope.timezone:
        return None
    if state.visit_grace_minutes != scope.visit_grace_minutes:
        return None
    if scope.as_of < state.refreshed_at or not is_month_start(scope.start, scope.timezone):
        return None
    if not (is_month_start(scope.end, scope.timezone) or scope.end >= state.refreshed_at):
        return None
    return state


@functools.cache
def _sums(table: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    """SUM(column) AS column for each of `names`: ~130 per statement, built once per
    process (building them was ~5% of a summary by organisation and quarter)."""
    return tuple(func.sum(table.c[name]).label(name) for name in names)


def _table(scope: SummaryScope) -> Any:
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


def _months(scope: SummaryScope) -> tuple[dt.date, dt.date]:
    """The first local month of the period, and the first after it."""
    tz = scope.timezone
    first = local_month(scope.start, tz)
    if is_month_start(scope.end, tz):
        return first, local_month(scope.end, tz)
    return first, (local_month(scope.end, tz) + dt.timedelta(days=32)).replace(day=1)


Months = list[tuple[dt.date, dt.date]]  # ranges of months: [first, after)


def _parts(table: Any, scope: SummaryScope) -> list[tuple[Any, Months]]:
    """Which rows to add up: (copy, its ranges of months). The copy by
    organisation answers the quarters the period covers whole from its quarterly
    sums, unless months are asked for, and the months before and after them in
    one read of the monthly rows (a statement less: ~10 ms of 1M tickets' summary
    by organisation and quarter)."""
    first, after = _months(scope)
    if table is not BY_ORGANIZATION or scope.time_unit == "month":
        return [(table, [(first, after)])]
    low = first if first == quarter_start(first) else next_quarter(first)
    high = quarter_start(after)
    if low >= high:
        return [(table, [(first, after)])]
    parts: list[tuple[Any, Months]] = [(BY_ORGANIZATION_QUARTER, [(low, high)])]
    edges = [(a, b) for a, b in ((first, low), (high, after)) if a < b]
    if edges:
        parts.append((table, edges))
    return parts


def _filters(table: Any, scope: SummaryScope, months: Months | None = None) -> list[Any]:
    ranges = [
        and_(table.c.month >= first, table.c.month < after)
        for first, after in (months or [_months(scope)])
    ]
    where = [ranges[0] if len(ranges) == 1 else or_(*ranges)]
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


def _dims(
    session: Session, scope: SummaryScope, table: Any, bounds: list[Bucket]
) -> tuple[list[Any], Any]:
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
            dims.append(period_of(table.c.month, starts, list(range(len(starts)))))
    return [d.label(f"g{i}") for i, d in enumerate(dims)], source


class _Group:
    """One group's counts and histograms as the parts of the summary add them up.

    Thousands of groups per summary: each is made from its rollup row as it
    comes (the counts a dict, the histograms the row's own tuples, copied only
    when a second part adds to them), and the 助急 histogram exists only for
    groups with live 助急 tickets."""

    __slots__ = ("counts", "response", "resolution", "emergency")

    def __init__(
        self,
        counts: dict[str, int],
        response: Sequence[int] = _EMPTY,
        resolution: Sequence[int] = _EMPTY,
    ) -> None:
        self.counts = counts
        self.response = response
        self.resolution = resolution
        self.emergency: list[int] | None = None

    def add(self, duration: str, histogram: Sequence[int]) -> None:
        mine = getattr(self, duration)
        setattr(self, duration, [x + y for x, y in zip(mine, histogram, strict=True)])

    def count_in(self, duration: str, bucket: int, tickets: int) -> None:
        if duration == "emergency":
            if self.emergency is None:
                self.emergency = [0] * HISTOGRAM_BUCKETS
            self.emergency[bucket] += tickets
            return
        histogram = getattr(self, duration)
        if not isinstance(histogram, list):
            histogram = list(histogram)
            setattr(self, duration, histogram)
        histogram[bucket] += tickets


def run(session: Session, scope: SummaryScope, state: MetricsRollupState) -> list[Row]:
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
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group(dict.fromkeys(COUNTS, 0))
        return g

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
    for table, months in _parts(_table(scope), scope):
        first, after = months[0]  # the quarterly copy's one range
        dims, source = _dims(session, scope, table, bounds)
        sums = list(_sums(table, (*ROLLUP_COUNTS, *HISTOGRAMS)))
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
        query = query.where(*_filters(table, scope, months))
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
            response = record[n + c : n + c + b]
            resolution = record[n + c + b : n + c + 2 * b]
            at_end = record[n + c + 2 * b :]
            if at_end:
                counts["backlog"], counts["overdue_open"] = at_end
            known = groups.get(key)
            if known is None:  # the usual case: each key once
                groups[key] = _Group({**untouched, **counts}, response, resolution)
                continue
            for name, value in counts.items():
                known.counts[name] += value
            known.add("response", response)
            known.add("resolution", resolution)
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
    newer = _newer(state)
    followed = (
        select(FollowUp.ticket_id)
        .where(FollowUp.ticket_id > literal(state.ticket_id, literal_execute=True))
        .group_by(FollowUp.ticket_id)
        .subquery("followed")
    )
    per_ticket = per_ticket_sql(scope, dialect, bounds, followed)
    where = [*ticket_conditions(scope), newer]
    base = Ticket.__table__.outerjoin(followed, followed.c.ticket_id == Ticket.id)
    dims, source = ticket_dims(session, scope, bounds, base)
    # One pass: each ticket's conditions and durations once, then grouped by the
    # keys and the duration buckets (the live tickets are few); 助急 tickets'
    # counts and response times too (by creation, like the rest).
    emergency = care.emergency_sql(dialect)
    is_emergency = Ticket.category_id == care.emergency_categories()
    per_ticket = {
        **per_ticket,
        "emergencies": is_emergency,
        "emergencies_responded": and_(is_emergency, emergency["emergencies_responded"]),
        EMERGENCY: case((is_emergency, emergency[EMERGENCY]), else_=None),
    }
    live_counts = (*TICKET_COUNTS, *EMERGENCY_COUNTS)
    per_row = []
    for name in live_counts:
        expr = per_ticket[name]
        value = expr if name == "rating_sum" else case((expr, 1), else_=0)
        per_row.append(value.label(name))
    durations = [
        (per_ticket[duration] * unit).label(f"v{i}")
        for i, (duration, unit) in enumerate(LIVE_DURATIONS.items())
    ]
    tickets = (
        select(*dims, *per_row, *durations)
        .select_from(source)
        .where(*where)
        .offset(0)  # evaluated once per ticket, not once per use
        .subquery()
    )
    keys = [tickets.c[f"g{i}"] for i in range(len(dims))]
    names = list(LIVE_DURATIONS)
    buckets_ = [bucket_sql(tickets.c[f"v{i}"]).label(f"b{i}") for i in range(len(names))]
    query = select(
        *keys, *buckets_, *(func.sum(tickets.c[name]).label(name) for name in live_counts)
    ).group_by(*keys, *buckets_)
    for record in session.execute(query):
        g = group(tuple(record[:n]))
        totals = record[n + len(names) :]
        for name, value in zip(live_counts, totals, strict=True):
            g.counts[name] += int(value or 0)
        tickets_here = int(totals[TICKET_COUNTS.index("created")] or 0)  # the tickets of this row
        for i, duration in enumerate(names):
            if record[n + i] is not None:
                g.count_in(_SLOT[duration], int(record[n + i]), tickets_here)

    wanted = [
        (_SLOT[duration], unit, [(p[0], p[2]) for p in PERCENTILES if p[1] == duration])
        for duration, unit in DURATIONS.items()
    ]
    nothing = {p[0]: None for p in PERCENTILES}
    rows: dict[tuple[Any, ...], Row] = {}
    for key, g in groups.items():  # thousands of groups: kept lean
        percentiles: dict[str, float | None] = dict(nothing)
        for slot, unit, fractions in wanted:
            histogram = getattr(g, slot)
            cumulative = list(itertools.accumulate(histogram))
            if cumulative[-1] == 0:
                continue
            for indicator, fraction in fractions:
                value = percentile(histogram, fraction, cumulative)
                percentiles[indicator] = None if value is None else value / unit
        rows[key] = Row(key, g.counts, percentiles)
    # 4. The care figures: rolled up by their own months, and read live for the
    # tickets newer than the rollup and the visits not yet due at its last run.
    live_emergencies = {key: g.emergency for key, g in groups.items() if g.emergency is not None}
    parts, histograms = _care(session, scope, state, bounds, live_emergencies)
    care_percentiles = {
        key: {
            indicator: percentile(histogram, fraction)
            for indicator, _d, fraction in CARE_PERCENTILES
        }
        for key, histogram in histograms.items()
    }
    care.add_to(rows, parts, care_percentiles)
    for row in rows.values():
        for indicator, _duration, _fraction in ALL_PERCENTILES:
            row.percentiles.setdefault(indicator, None)
    if scope.group_by == () and not rows:
        rows[()] = Row((), dict.fromkeys(COUNTS, 0), dict.fromkeys(p[0] for p in ALL_PERCENTILES))
    return list(rows.values())


def _care(
    session: Session,
    scope: SummaryScope,
    state: MetricsRollupState,
    bounds: list[Bucket],
    live_emergencies: dict[tuple[Any, ...], list[int]],
) -> tuple[list[care.Counts], dict[tuple[Any, ...], list[int]]]:
    """The care counts of each group, in parts to add up, and its 助急 histogram
    (with `live_emergencies`, those of the tickets newer than the rollup, whose
    counts the live read of the tickets has already added)."""
    dims, source = _dims(session, scope, CARE, bounds)
    n = len(dims)
    rolled: care.Counts = {}
    histograms: dict[tuple[Any, ...], list[int]] = {}
    names = (*CARE_COUNTS, *CARE_HISTOGRAM)
    query = select(*dims, *_sums(CARE, names))
    query = query.select_from(source).where(*_filters(CARE, scope))
    if dims:
        query = query.group_by(*[d.element for d in dims])
    c = len(CARE_COUNTS)
    with binary_results(session):
        records = session.execute(query).all()
    for record in records:
        if record[n] is None:  # no rows, and no GROUP BY
            continue
        key = tuple(record[:n])
        rolled[key] = dict(zip(CARE_COUNTS, record[n : n + c], strict=True))
        if rolled[key]["emergencies_responded"]:
            histograms[key] = list(record[n + c :])
    # Read live: the tickets newer than the rollup, and the visits not yet due at
    # its last run (the plans' horizon: an index range).
    ahead = Ticket.scheduled_for > literal(state.refreshed_at, UTCDateTime(), literal_execute=True)
    for key, histogram in live_emergencies.items():
        known = histograms.get(key, [0] * HISTOGRAM_BUCKETS)
        histograms[key] = [x + y for x, y in zip(known, histogram, strict=True)]
    parts = [
        rolled,
        care.visit_counts(session, scope, bounds, _live(_newer(state), ahead)),
        _elders(session, scope, state, bounds),
    ]
    return parts, histograms


def _elders(
    session: Session, scope: SummaryScope, state: MetricsRollupState, bounds: list[Bucket]
) -> care.Counts:
    """Distinct elders served per group, over the rolled-up elder months and the
    tickets newer than the rollup together."""
    e, t = CARE_ELDER.c, Ticket
    columns = ("month", "region_path", "organization_id", "category_id", "kind", "elder_id")
    rolled = select(*(e[name] for name in columns)).where(*_filters(CARE_ELDER, scope))
    months = local_months(scope.start, scope.end, scope.timezone)
    month = bucket_of(t.resolved_at, months, [dt.date.fromisoformat(m.label) for m in months])
    live = (
        select(
            month.label("month"),
            t.region_path,
            t.organization_id,
            t.category_id,
            t.kind,
            t.elder_id,
        )
        .select_from(_live(_newer(state)))
        .where(
            *scope_conditions(scope),
            *in_period(scope, t.resolved_at),
            *care.served_conditions(),
        )
    )
    both = union_all(rolled, live).subquery()
    dims, source = _dims(session, scope, both, bounds)
    query = select(*dims, func.count(both.c.elder_id.distinct()).label("elders_served"))
    query = query.select_from(source)
    if dims:
        query = query.group_by(*[d.element for d in dims])
    return {
        tuple(r[f"g{i}"] for i in range(len(dims))): {"elders_served": int(r["elders_served"])}
        for r in session.execute(query).mappings()
        if r["elders_served"]
    }


def _newer(state: MetricsRollupState) -> Any:
    """The tickets newer than the rollup, with the watermark written into the SQL:
    as a parameter, PostgreSQL's generic plan for a statement run many times
    (psycopg prepares it after five) does not know that the range is empty and
    scans the index of resolved tickets instead (117 ms instead of 12 for the
    elders at 1M tickets)."""
    return Ticket.id > literal(state.ticket_id, literal_execute=True)


def _live(*ranges: Any) -> Any:
    """The tickets in any of `ranges` (each an index range: newer ids, visits not
    yet due), joined by id from a subquery that the planner must run first
    (OFFSET 0; a UNION): left to choose, SQLite takes the index of the period's
    resolved tickets or scheduled visits instead, and reads them all (0.4 s at
    1M tickets)."""
    parts = [select(Ticket.id.label("id")).where(condition) for condition in ranges]
    ids = (union(*parts) if len(parts) > 1 else parts[0].offset(0)).subquery("live")
    return Ticket.__table__.join(ids, ids.c.id == Ticket.id)
