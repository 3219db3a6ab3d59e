"""The summary's words for tickets, shared by its two ways of counting them: the
live query over every ticket (engine.py) and the rollup (rollup.py), which rolls
tickets up with the same per-ticket SQL and reads the ones newer than it live:

- the scope a summary is asked for (period, grouping, filters, caller) and the
  tickets it takes (`ticket_conditions`);
- what each ticket counts for, and its durations, as SQL (`per_ticket_sql`);
- the keys its group is known by (`ticket_dims`, `region_key`);
- the row a group comes back as (`Row`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, Integer, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from service.auth import Principal
from service.db import UTCDateTime
from service.directory.models import Region
from service.enums import RegionLevel, Status, TicketKind
from service.metrics.periods import Bucket, bucket_of, buckets
from service.scope import visible
from service.tickets.models import FollowUp, Ticket

GROUPS = ("region", "community", "organization", "category", "kind", "month", "quarter")
EXCLUDED = (Status.cancelled, Status.rejected)
# Tickets with at least one follow-up visit.
FOLLOWED = select(FollowUp.ticket_id).group_by(FollowUp.ticket_id).subquery("followed")
COMPLETED = (Status.resolved, Status.closed)


@dataclass(frozen=True)
class SummaryScope:
    """A validated request: the period, grouping and filters, and the caller."""

    principal: Principal
    start: dt.datetime
    end: dt.datetime
    timezone: str
    group_by: tuple[str, ...] = ()
    region: Region | None = None  # the region filter (already checked visible)
    region_level: RegionLevel | None = None
    community_id: int | None = None
    organization_id: int | None = None
    kind: TicketKind | None = None
    category_ids: tuple[int, ...] | None = None
    as_of: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    # A visit checked in by scheduled_for + this was on time (LINLI_VISIT_GRACE_MINUTES).
    visit_grace_minutes: int = 30

    @property
    def scope_path(self) -> str | None:
        if self.region is not None:
            return self.region.path
        return self.principal.region_path

    def level(self, session: Session) -> RegionLevel:
        """The level `group_by=region` groups at: one below the scope's region."""
        if self.region_level is not None:
            return self.region_level
        region = self.region
        if region is None and self.principal.region_id is not None:
            region = session.get(Region, self.principal.region_id)
        if region is None or region.level == RegionLevel.province:
            return RegionLevel.prefecture
        return RegionLevel.county

    @property
    def time_unit(self) -> str | None:
        if "month" in self.group_by:
            return "month"
        if "quarter" in self.group_by:
            return "quarter"
        return None

    def buckets(self) -> list[Bucket]:
        unit = self.time_unit
        if unit is None:
            return [Bucket("", self.start, self.end)]
        return buckets(self.start, self.end, unit, self.timezone)


@dataclass
class Row:
    """One group of a summary: its key (a value per dimension grouped by), its
    counts and its percentiles."""

    key: tuple[Any, ...]
    counts: dict[str, Any]
    percentiles: dict[str, Any]


def epoch(column: Any, dialect: str) -> Any:
    """Seconds since 1970 as a float, for arithmetic on instants on both databases."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", column), Float)
    return (func.julianday(column) - 2440587.5) * 86400.0


def region_key(region: Any, parent: Any, level: RegionLevel) -> Any:
    """The id of the region at `level` above a community's region (NULL when the
    community sits above that level). The tree is province > prefecture > county."""
    if level == RegionLevel.county:
        return case((region.level == RegionLevel.county.value, region.id), else_=None)
    if level == RegionLevel.prefecture:
        return case(
            (region.level == RegionLevel.county.value, region.parent_id),
            (region.level == RegionLevel.prefecture.value, region.id),
            else_=None,
        )
    return case(
        (region.level == RegionLevel.province.value, region.id),
        (region.level == RegionLevel.prefecture.value, region.parent_id),
        else_=parent.parent_id,
    )


def ticket_conditions(scope: SummaryScope) -> list[Any]:
    """The tickets a summary takes: visible to the caller, created in the period,
    and within its filters."""
    return [*in_period(scope, Ticket.created_at), *scope_conditions(scope)]


def in_period(scope: SummaryScope, instant: Any) -> list[Any]:
    """`instant` (a ticket's column) in [from, to)."""
    return [
        instant >= literal(scope.start, UTCDateTime()),
        instant < literal(scope.end, UTCDateTime()),
    ]


def scope_conditions(scope: SummaryScope) -> list[Any]:
    """The tickets visible to the caller and within the summary's filters, at any time."""
    t = Ticket
    where = [visible(scope.principal, Ticket)]
    if scope.region is not None:
        where.append(t.region_path.startswith(scope.region.path, autoescape=True))
    if scope.community_id is not None:
        where.append(t.community_id == scope.community_id)
    if scope.organization_id is not None:
        where.append(t.organization_id == scope.organization_id)
    if scope.kind is not None:
        where.append(t.kind == scope.kind)
    if scope.category_ids is not None:
        where.append(t.category_id.in_(scope.category_ids))
    return where


def per_ticket_sql(
    scope: SummaryScope, dialect: str, bounds: list[Bucket], followed: Any = FOLLOWED
) -> dict[str, Any]:
    """Each count as a per-ticket SQL condition (or value), and the durations."""
    t = Ticket
    now = literal(scope.as_of, UTCDateTime())
    now_epoch = scope.as_of.timestamp()
    paused = func.coalesce(t.paused_seconds, 0)
    excluded = t.status.in_(EXCLUDED)
    completed = t.status.in_(COMPLETED)
    responded = t.responded_at.is_not(None)
    # The end of each bucket's period: its end, `to`, or now, whichever comes first.
    ends = [min(b.end, scope.end, scope.as_of).timestamp() for b in bounds]
    period_end = literal(ends[0]) if len(bounds) == 1 else bucket_of(t.created_at, bounds, ends)
    ended = case(
        (completed, epoch(t.resolved_at, dialect)),
        (excluded, epoch(t.updated_at, dialect)),
        else_=None,
    )
    open_at_end = or_(ended.is_(None), ended > period_end)
    resolve_deadline = epoch(t.resolve_by, dialect) + paused
    return {
        "created": literal(True),
        "cancelled_or_rejected": excluded,
        "active": ~excluded,
        "completed": completed,
        "response_due_or_done": or_(responded, and_(~excluded, t.respond_by <= now)),
        "response_on_time": and_(
            responded, or_(t.respond_by.is_(None), t.responded_at <= t.respond_by)
        ),
        "resolution_due_or_done": or_(
            completed, and_(~excluded, t.resolve_by.is_not(None), resolve_deadline <= now_epoch)
        ),
        "resolution_on_time": and_(
            completed,
            or_(
                t.resolve_by.is_(None),
                epoch(t.resolved_at, dialect) - paused <= epoch(t.resolve_by, dialect),
            ),
        ),
        "rated": t.rating.is_not(None),
        "rated_good": t.rating >= 4,
        "rating_sum": func.coalesce(t.rating, 0),
        "closed": t.status == Status.closed,
        "closed_followed_up": and_(t.status == Status.closed, followed.c.ticket_id.is_not(None)),
        "ever_resolved": or_(completed, t.reopen_count > 0),
        "reopened": t.reopen_count > 0,
        "complaints": t.kind == TicketKind.complaint,
        "complaints_handled": and_(t.kind == TicketKind.complaint, completed),
        "backlog": open_at_end,
        "overdue_open": and_(
            open_at_end,
            or_(
                and_(
                    epoch(t.respond_by, dialect) <= period_end,
                    or_(~responded, epoch(t.responded_at, dialect) > period_end),
                ),
                resolve_deadline <= period_end,
            ),
        ),
        # Durations (NULL when not applicable; percentiles skip NULLs).
        "response_minutes": case(
            (
                responded,
                (epoch(t.responded_at, dialect) - epoch(t.created_at, dialect)) / 60.0,
            ),
            else_=None,
        ),
        "resolution_hours": case(
            (
                completed,
                (epoch(t.resolved_at, dialect) - epoch(t.created_at, dialect) - paused) / 3600.0,
            ),
            else_=None,
        ),
    }


def ticket_dims(
    session: Session,
    scope: SummaryScope,
    bounds: list[Bucket],
    source: Any = None,
    instant: Any = None,
) -> tuple[list[Any], Any]:
    """The GROUP BY expressions of the ticket query, and its FROM clause (`source`
    when given: the tickets joined with their follow-ups). A ticket's month or
    quarter is that of `instant`: its creation unless told (a visit's is when it
    was scheduled for)."""
    t = Ticket
    instant = t.created_at if instant is None else instant
    # A hash join, not `id IN (SELECT ...)`: PostgreSQL hashes a subplan only when
    # it fits in work_mem, and otherwise rescans it for every ticket.
    if source is None:
        source = Ticket.__table__.outerjoin(FOLLOWED, FOLLOWED.c.ticket_id == t.id)
    dims: list[Any] = []
    for name in scope.group_by:
        if name == "region":
            region, parent = aliased(Region), aliased(Region)
            source = source.join(region, region.path == t.region_path).outerjoin(
                parent, parent.id == region.parent_id
            )
            dims.append(region_key(region, parent, scope.level(session)))
        elif name == "community":
            dims.append(t.community_id)
        elif name == "organization":
            dims.append(t.organization_id)
        elif name == "category":
            dims.append(t.category_id)
        elif name == "kind":
            dims.append(t.kind)
        elif name in ("month", "quarter") and name == scope.time_unit:
            dims.append(bucket_of(instant, bounds))
            # quarter beside month is derived from the month
    return [d.label(f"g{i}") for i, d in enumerate(dims)], source


def window_percentiles(
    session: Session,
    dims: list[Any],
    source: Any,
    where: list[Any],
    value: Any,
    wanted: Sequence[tuple[str, str, float]],
) -> dict[tuple[Any, ...], dict[str, float]]:
    """percentile_cont for SQLite: number the values of each group in order, then
    interpolate between the two around 1 + p(n - 1), exactly as PostgreSQL does."""
    partition = [d.element for d in dims]
    value_col = value.label("v")
    inner = (
        select(
            *dims,
            value_col,
            func.row_number().over(partition_by=partition or None, order_by=value).label("rn"),
            func.count().over(partition_by=partition or None).label("n"),
        )
        .select_from(source)
        .where(*where, value.is_not(None))
        .subquery()
    )
    group_cols = [inner.c[f"g{i}"] for i in range(len(dims))]
    picks = []
    for indicator, _duration, fraction in wanted:
        h = 1 + fraction * (inner.c.n - 1)
        low_index = cast(h, Integer)  # h >= 1, so truncation is floor
        frac = h - low_index
        picks.append(
            func.sum(
                case(
                    (inner.c.rn == low_index, inner.c.v * (1 - frac)),
                    (inner.c.rn == low_index + 1, inner.c.v * frac),
                    else_=0.0,
                )
            ).label(indicator)
        )
    query = select(*group_cols, *picks)
    if group_cols:
        query = query.group_by(*group_cols)
    out: dict[tuple[Any, ...], dict[str, float]] = {}
    for record in session.execute(query).mappings():
        key = tuple(record[f"g{i}"] for i in range(len(dims)))
        out[key] = {w[0]: record[w[0]] for w in wanted}
    return out
