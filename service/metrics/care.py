"""The elderly-care indicators (issue 18) as SQL: what a visit, a 助急 ticket and
an elder served count for, and the live queries over the tickets.

Each is counted by its own instant, not the ticket's creation:

- a **visit** (a care plan's occurrence: `scheduled_for` set) by when it was
  scheduled for; cancelled visits (a plan ended or changed) count for nothing;
- a **助急** ticket (category `elderly.emergency`) by its creation, like every
  ticket;
- an **elder served** by the resolution of an elderly-care ticket naming them:
  distinct elders, which no sum of smaller groups gives.

The live summary (engine.py) runs these over every ticket of the period; the
rollup (rollup.py) stores the same per-ticket expressions, and the summary from
it (rollup_summary.py) reads the tickets newer than the rollup with them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from service.categories.models import Category
from service.db import UTCDateTime
from service.enums import Status, TicketKind
from service.metrics.indicators import CARE_PERCENTILES, COUNTS, EMERGENCY_COUNTS, VISIT_COUNTS
from service.metrics.periods import Bucket
from service.metrics.tickets import (
    COMPLETED,
    Row,
    SummaryScope,
    epoch,
    in_period,
    scope_conditions,
    ticket_dims,
    window_percentiles,
)
from service.tickets.models import Ticket

EMERGENCY = "elderly.emergency"

Counts = dict[tuple[Any, ...], dict[str, int]]


def emergency_categories() -> Any:
    """The ids of the 助急 category, as a subquery (no round trip of its own)."""
    return select(Category.id).where(Category.code == EMERGENCY).scalar_subquery()


def is_visit() -> Any:
    """The tickets the visit counts take (at any time): plan visits, not cancelled."""
    return and_(Ticket.scheduled_for.is_not(None), Ticket.status != Status.cancelled)


def visit_sql(scope: SummaryScope, dialect: str) -> dict[str, Any]:
    """Each visit count as a per-visit SQL condition (a value for the share's sum),
    as of `scope.as_of`."""
    t = Ticket
    due = t.scheduled_for <= literal(scope.as_of, UTCDateTime())
    done = and_(due, t.status.in_(COMPLETED))
    grace = scope.visit_grace_minutes * 60.0
    checked_in = t.checked_in_at.is_not(None)
    return {
        "visits_scheduled": t.id.is_not(None),
        "visits_due": due,
        "visits_done": done,
        "visits_checked_in": checked_in,
        # To the millisecond: SQLite's julianday() carries ~0.1 ms of rounding.
        "visits_checked_in_on_time": and_(
            checked_in,
            epoch(t.checked_in_at, dialect) - epoch(t.scheduled_for, dialect) <= grace + 0.001,
        ),
        "missed_visits": t.visit_missed_at.is_not(None),
        "government_subsidy_visits": and_(done, t.government_share_percent > 0),
        "government_share_sum": case((done, func.coalesce(t.government_share_percent, 0)), else_=0),
    }


def emergency_sql(dialect: str) -> dict[str, Any]:
    t = Ticket
    responded = t.responded_at.is_not(None)
    return {
        "emergencies": t.id.is_not(None),
        "emergencies_responded": responded,
        "emergency_response_seconds": case(
            (responded, epoch(t.responded_at, dialect) - epoch(t.created_at, dialect)),
            else_=None,
        ),
    }


def served_conditions() -> list[Any]:
    """An elderly-care ticket resolved (and not reopened since) that names an elder."""
    t = Ticket
    return [
        t.kind == TicketKind.elderly_care,
        t.elder_id.is_not(None),
        t.status.in_(COMPLETED),
        t.resolved_at.is_not(None),
    ]


def _summed(values: dict[str, Any], names: tuple[str, ...]) -> list[Any]:
    out = []
    for name in names:
        expr = values[name]
        value = expr if name == "government_share_sum" else case((expr, 1), else_=0)
        out.append(func.sum(value).label(name))
    return out


def _grouped(
    session: Session, dims: list[Any], source: Any, where: list[Any], aggregates: list[Any]
) -> list[Any]:
    query = select(*dims, *aggregates).select_from(source).where(*where)
    if dims:
        query = query.group_by(*[d.element for d in dims])
    return list(session.execute(query).mappings())


def visit_counts(
    session: Session, scope: SummaryScope, bounds: list[Bucket], tickets: Any = None
) -> Counts:
    """Per group: the visit counts of the visits scheduled in the period (of
    `tickets`, a FROM clause of the ticket table, when given)."""
    dialect = session.get_bind().dialect.name
    t = Ticket
    source = Ticket.__table__ if tickets is None else tickets
    dims, source = ticket_dims(session, scope, bounds, source, t.scheduled_for)
    where = [*scope_conditions(scope), *in_period(scope, t.scheduled_for), is_visit()]
    rows = _grouped(session, dims, source, where, _summed(visit_sql(scope, dialect), VISIT_COUNTS))
    return {
        tuple(r[f"g{i}"] for i in range(len(dims))): {n: int(r[n] or 0) for n in VISIT_COUNTS}
        for r in rows
    }


def emergency_where(scope: SummaryScope, extra: tuple[Any, ...] = ()) -> list[Any]:
    t = Ticket
    return [
        *scope_conditions(scope),
        *in_period(scope, t.created_at),
        t.category_id == emergency_categories(),
        *extra,
    ]


def emergency_counts(
    session: Session, scope: SummaryScope, bounds: list[Bucket], extra: tuple[Any, ...] = ()
) -> Counts:
    dialect = session.get_bind().dialect.name
    dims, source = ticket_dims(session, scope, bounds, Ticket.__table__)
    where = emergency_where(scope, extra)
    rows = _grouped(session, dims, source, where, _summed(emergency_sql(dialect), EMERGENCY_COUNTS))
    return {
        tuple(r[f"g{i}"] for i in range(len(dims))): {n: int(r[n] or 0) for n in EMERGENCY_COUNTS}
        for r in rows
    }


def emergency_percentiles(
    session: Session, scope: SummaryScope, bounds: list[Bucket]
) -> dict[tuple[Any, ...], dict[str, float | None]]:
    """Exactly: percentile_cont on PostgreSQL, the same interpolation on SQLite."""
    dialect = session.get_bind().dialect.name
    seconds = emergency_sql(dialect)["emergency_response_seconds"]
    dims, source = ticket_dims(session, scope, bounds, Ticket.__table__)
    where = emergency_where(scope)
    if dialect != "postgresql":
        return window_percentiles(session, dims, source, where, seconds, CARE_PERCENTILES)  # type: ignore[return-value]
    picks = [
        func.percentile_cont(fraction).within_group(seconds).label(indicator)
        for indicator, _duration, fraction in CARE_PERCENTILES
    ]
    return {
        tuple(r[f"g{i}"] for i in range(len(dims))): {p[0]: r[p[0]] for p in CARE_PERCENTILES}
        for r in _grouped(session, dims, source, where, picks)
    }


def elders_served(session: Session, scope: SummaryScope, bounds: list[Bucket]) -> Counts:
    """Per group: the distinct elders of the elderly-care tickets resolved in the period."""
    t = Ticket
    dims, source = ticket_dims(session, scope, bounds, Ticket.__table__, t.resolved_at)
    where = [*scope_conditions(scope), *in_period(scope, t.resolved_at), *served_conditions()]
    rows = _grouped(
        session, dims, source, where, [func.count(t.elder_id.distinct()).label("elders_served")]
    )
    return {
        tuple(r[f"g{i}"] for i in range(len(dims))): {"elders_served": int(r["elders_served"])}
        for r in rows
    }


def live(
    session: Session, scope: SummaryScope, bounds: list[Bucket]
) -> tuple[list[Counts], dict[tuple[Any, ...], dict[str, float | None]]]:
    """Every care figure straight from the tickets: the counts of each group (in
    parts to add up) and the 助急 percentiles."""
    counts = [
        visit_counts(session, scope, bounds),
        emergency_counts(session, scope, bounds),
        elders_served(session, scope, bounds),
    ]
    return counts, emergency_percentiles(session, scope, bounds)


def add_to(
    rows: dict[tuple[Any, ...], Row],
    parts: list[Counts],
    percentiles: dict[tuple[Any, ...], dict[str, float | None]],
) -> None:
    """Add the care figures to the summary's rows; a group with care figures but no
    ticket created in the period gets a row of its own."""
    for part in parts:
        for key, counts in part.items():
            row = rows.get(key)
            if row is None:
                row = rows[key] = Row(key, {name: 0 for name in COUNTS}, {})
            for name, value in counts.items():
                row.counts[name] = row.counts.get(name, 0) + value
    for key, values in percentiles.items():
        if key in rows:
            rows[key].percentiles.update(values)
