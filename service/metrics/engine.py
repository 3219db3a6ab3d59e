"""The summary: one GROUP BY over the tickets (and one over the communities for
the households), with every indicator's aggregate computed in SQL.

Definitions (also in the README, "Service-quality metrics"):

- the cohort is the tickets *created* in [from, to), in the caller's scope;
- a ticket counts for the organisation it is assigned to (`ticket.organization_id`):
  the one that served the community for that kind of work when it was filed, or
  the one an administrator re-assigned it to; a returned, unassigned ticket counts
  for no organisation;
- outcomes are as known at `as_of` (now); backlog and overdue are taken at the
  end of each group's period (the end of its month or quarter, or `to`, and
  never later than now).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from service.categories.models import Category
from service.directory.models import Community, Organization, ProviderAssignment, Region
from service.enums import Role
from service.metrics import care, rollup_summary
from service.metrics.indicators import (
    ALL_PERCENTILES,
    COUNTS,
    PERCENTILES,
    TICKET_COUNTS,
    indicators_from,
)
from service.metrics.periods import quarter_label
from service.metrics.tickets import (
    Row,
    SummaryScope,
    per_ticket_sql,
    region_key,
    ticket_conditions,
    ticket_dims,
    window_percentiles,
)


def _dim_names(scope: SummaryScope) -> list[str]:
    names = [n for n in scope.group_by if n not in ("month", "quarter")]
    if scope.time_unit:
        names.append(scope.time_unit)
    # Keep the request's order for the label keys; the time index goes where asked.
    return [n for n in scope.group_by if n in names]


def run_summary(session: Session, scope: SummaryScope, *, exact: bool = False) -> list[Row]:
    """The rows from the rollup when it can answer (rollup_summary.py), otherwise
    (or with `exact`) from the live query over the tickets."""
    state = None if exact else rollup_summary.usable(session, scope)
    if state is not None:
        return rollup_summary.run(session, scope, state)
    return live_summary(session, scope)


def live_summary(session: Session, scope: SummaryScope) -> list[Row]:
    """Every figure straight from the tickets: the reference the rollup is tested against."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # JIT compiling these expressions costs seconds and saves milliseconds; the
        # sorts of the percentiles want memory rather than temporary files.
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    bounds = scope.buckets()
    per_ticket = per_ticket_sql(scope, dialect, bounds)
    dims, source = ticket_dims(session, scope, bounds)
    where = ticket_conditions(scope)
    aggregates: list[Any] = []
    for name in TICKET_COUNTS:
        expr = per_ticket[name]
        if name == "rating_sum":
            aggregates.append(func.sum(expr).label(name))
        else:
            aggregates.append(func.sum(case((expr, 1), else_=0)).label(name))
    if dialect == "postgresql":
        for indicator, duration, fraction in PERCENTILES:
            aggregates.append(
                func.percentile_cont(fraction).within_group(per_ticket[duration]).label(indicator)
            )
    query = select(*dims, *aggregates).select_from(source).where(*where)
    if dims:
        query = query.group_by(*[d.element for d in dims])
    rows: dict[tuple[Any, ...], Row] = {}
    for record in session.execute(query).mappings():
        key = tuple(record[f"g{i}"] for i in range(len(dims)))
        counts = dict.fromkeys(COUNTS, 0)
        counts.update({name: int(record[name] or 0) for name in TICKET_COUNTS})
        percentiles = {p[0]: record[p[0]] for p in PERCENTILES} if dialect == "postgresql" else {}
        rows[key] = Row(key, counts, percentiles)
    if dialect != "postgresql":
        for duration in ("response_minutes", "resolution_hours"):
            wanted = [p for p in PERCENTILES if p[1] == duration]
            for key, values in window_percentiles(
                session, dims, source, where, per_ticket[duration], wanted
            ).items():
                if key in rows:
                    rows[key].percentiles.update(values)
    care.add_to(rows, *care.live(session, scope, bounds))
    for row in rows.values():
        for indicator, _duration, _fraction in ALL_PERCENTILES:
            row.percentiles.setdefault(indicator, None)
    if scope.group_by == () and not rows:
        rows[()] = Row((), dict.fromkeys(COUNTS, 0), dict.fromkeys(p[0] for p in ALL_PERCENTILES))
    return list(rows.values())


# --- households: the denominator of complaints per 1,000 households -----------


def households(session: Session, scope: SummaryScope) -> dict[tuple[Any, ...], int]:
    """Households per (region, community, organisation) key among the group keys:
    the communities in scope, and for an organisation those it served (any kind)
    at some time in the period. Time, kind and category do not change them."""
    c = Community
    source: Any = Community.__table__
    where: list[Any] = []
    if scope.principal.role == Role.admin and scope.principal.region_path is not None:
        where.append(c.region_path.startswith(scope.principal.region_path, autoescape=True))
    if scope.region is not None:
        where.append(c.region_path.startswith(scope.region.path, autoescape=True))
    if scope.community_id is not None:
        where.append(c.id == scope.community_id)
    organization = scope.organization_id
    if scope.principal.role == Role.provider_staff:
        organization = scope.principal.organization_id
    served = None
    if "organization" in scope.group_by or organization is not None:
        start_day = scope.start.date()
        end_day = scope.end.date()
        pa = ProviderAssignment
        served = (
            select(pa.community_id, pa.organization_id)
            .where(pa.since_on <= end_day, or_(pa.until_on.is_(None), pa.until_on > start_day))
            .distinct()
            .subquery()
        )
        source = source.join(served, served.c.community_id == c.id)
        if organization is not None:
            where.append(served.c.organization_id == organization)
    dims: list[Any] = []
    for name in scope.group_by:
        if name == "region":
            region, parent = aliased(Region), aliased(Region)
            source = source.join(region, region.path == c.region_path).outerjoin(
                parent, parent.id == region.parent_id
            )
            dims.append(region_key(region, parent, scope.level(session)))
        elif name == "community":
            dims.append(c.id)
        elif name == "organization":
            assert served is not None
            dims.append(served.c.organization_id)
    labelled = [d.label(f"h{i}") for i, d in enumerate(dims)]
    query = select(*labelled, func.sum(c.households).label("households")).select_from(source)
    query = query.where(*where)
    if labelled:
        query = query.group_by(*dims)
    return {
        tuple(r[f"h{i}"] for i in range(len(dims))): int(r["households"] or 0)
        for r in session.execute(query).mappings()
    }


# --- labels --------------------------------------------------------------------


def _names(session: Session, model: Any, ids: set[Any]) -> dict[Any, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(model.id, model.name).where(model.id.in_(ids))).all())


def summarise(
    session: Session, scope: SummaryScope, *, exact: bool = False
) -> list[dict[str, Any]]:
    """The summary rows: each group's keys (with names) and its indicators."""
    rows = run_summary(session, scope, exact=exact)
    names = _dim_names(scope)
    house = households(session, scope)
    household_dims = [
        i for i, n in enumerate(names) if n in ("region", "community", "organization")
    ]
    lookups: dict[str, dict[Any, Any]] = {}
    for i, name in enumerate(names):
        values = {row.key[i] for row in rows}
        if name == "region":
            lookups[name] = _names(session, Region, values)
        elif name == "community":
            lookups[name] = _names(session, Community, values)
        elif name == "organization":
            lookups[name] = _names(session, Organization, values)
        elif name == "category":
            ids = {v for v in values if v is not None}
            lookups[name] = {
                r.id: (r.code, r.name_zh)
                for r in session.execute(
                    select(Category.id, Category.code, Category.name_zh).where(Category.id.in_(ids))
                )
            }
    bounds = scope.buckets()
    out = []
    for row in rows:
        group: dict[str, Any] = {}
        for i, name in enumerate(names):
            value = row.key[i]
            if name in ("region", "community", "organization"):
                group[name] = (
                    None if value is None else {"id": value, "name": lookups[name].get(value)}
                )
            elif name == "category":
                code, zh = lookups[name].get(value, (None, None))
                group[name] = {"code": code, "name": zh}
            elif name == "kind":
                group[name] = str(value) if value is not None else None
            elif name == scope.time_unit:
                bucket = bounds[int(value)]
                group[name] = bucket.label
                if name == "month" and "quarter" in scope.group_by:
                    year, month = (int(x) for x in bucket.label.split("-"))
                    group["quarter"] = quarter_label(year, month)
        counts = row.counts  # each row's own: completed in place
        counts["households"] = house.get(tuple(row.key[i] for i in household_dims), 0)
        result = {"group": {k: group[k] for k in scope.group_by if k in group}}
        result.update(indicators_from(counts, row.percentiles))
        result["counts"] = counts
        out.append(result)
    out.sort(key=lambda r: _sort_key(r["group"], scope.group_by))
    return out


def _sort_key(group: dict[str, Any], order: tuple[str, ...]) -> tuple[Any, ...]:
    """Groups in key order, None last. Each position holds one type (ids, codes
    or labels), so the values compare as they are."""
    key: list[Any] = []
    for name in order:
        value = group.get(name)
        if isinstance(value, dict):
            value = value.get("id") if "id" in value else value.get("code")
        key.append((True, 0) if value is None else (False, value))
    return tuple(key)
