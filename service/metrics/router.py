"""HTTP routes of /v1/metrics."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from service.auth import AdminPrincipal
from service.config import SettingsDep
from service.db import CommitInRoute, SessionDep, WriteSessionDep
from service.enums import OrganizationKind
from service.errors import (
    Forbidden,
    Invalid,
    NotFound,
    TooManyRequests,
    Unprocessable,
    responses,
)
from service.limits import ExpensiveRead
from service.metrics import action, export, rollup_summary
from service.metrics.engine import summarise
from service.metrics.request import MetricsPrincipal, SummaryParams
from service.metrics.schemas import ActionRead, ActionUpdate, RankingRead, SummaryRead, TrendRead
from service.replica import ReadSessionDep
from service.tickets.serialize import json_response

router = APIRouter(prefix="/v1/metrics", tags=["metrics"], route_class=CommitInRoute)

Params = Annotated[SummaryParams, Depends()]


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@router.get(
    "/summary",
    response_model=SummaryRead,
    responses={
        **responses(Forbidden, NotFound, TooManyRequests),
        200: {"content": export.EXPORT_CONTENT},
    },
)
def get_summary(
    principal: MetricsPrincipal,
    session: ReadSessionDep,
    settings: SettingsDep,
    params: Params,
    _gate: ExpensiveRead,
) -> Any:
    """Service-quality indicators of the tickets created in [from, to), grouped.

    `format=csv|xlsx` exports the same rows, with column headers and labels in
    `lang` (`zh-Hans`, `ug` or `en`; else `Accept-Language`; else `en`)."""
    scope = params.scope(session, principal, settings)
    state = rollup_summary.usable(session, scope)
    rows = summarise(session, scope)
    if len(rows) > settings.metrics_max_rows:
        raise Unprocessable(
            "metrics.too_many_rows",
            errors=[Invalid("group_by", "metrics.too_many_groups")],
            rows=f"{len(rows):,}",
            limit=f"{settings.metrics_max_rows:,}",
        )
    if params.format != "json":
        names = (
            export.category_names(session, params.lang) if "category" in scope.group_by else None
        )
        headers, body = export.summary_table(rows, scope.group_by, params.lang, names)
        return export.render(headers, body, params.format, "linli-summary", lang=params.lang)
    # Written as built: thousands of rows validated twice more (model_validate, then
    # the response model) cost more than the summary's SQL. The shape is
    # SummaryRead's; tests/reliability's schemathesis run checks it.
    return json_response(
        {
            "from": _iso(scope.start),
            "to": _iso(scope.end),
            "as_of": _iso(scope.as_of),
            "timezone": scope.timezone,
            "group_by": list(scope.group_by),
            "source": "live" if state is None else "rollup",
            "rollup_refreshed_at": None if state is None else _iso(state.refreshed_at),
            "rows": rows,
        }
    )


OrganizationKindParam = Annotated[OrganizationKind, Query()]


@router.get(
    "/rankings",
    response_model=RankingRead,
    responses={
        **responses(Forbidden, NotFound, TooManyRequests),
        200: {"content": export.EXPORT_CONTENT},
    },
)
def get_rankings(
    principal: MetricsPrincipal,
    session: ReadSessionDep,
    settings: SettingsDep,
    params: Params,
    _gate: ExpensiveRead,
    organization_kind: OrganizationKindParam = OrganizationKind.property_company,
) -> Any:
    """Organisations ranked by the composite score of GET /v1/metrics/action's
    weights; `list` is `red` at or above its minimum score, `black` below its
    maximum; fewer than `min_tickets` tickets in the period: unranked."""
    scope = params.scope(session, principal, settings)
    current = action.load_action(session)
    rows = action.rankings(session, scope, current, organization_kind.value)
    if params.format != "json":
        headers, body = export.ranking_table(rows, params.lang)
        return export.render(headers, body, params.format, "linli-rankings", lang=params.lang)
    return RankingRead.model_validate(
        {
            "from": _iso(scope.start),
            "to": _iso(scope.end),
            "kind": scope.kind,
            "weights": current.weights,
            "red_list_min_score": current.red_list_min_score,
            "black_list_max_score": current.black_list_max_score,
            "min_tickets": current.min_tickets,
            "rows": rows,
        }
    )


@router.get(
    "/trend",
    response_model=TrendRead,
    responses={
        **responses(Forbidden, NotFound, TooManyRequests),
        200: {"content": export.EXPORT_CONTENT},
    },
)
def get_trend(
    principal: MetricsPrincipal,
    session: ReadSessionDep,
    settings: SettingsDep,
    params: Params,
    _gate: ExpensiveRead,
) -> Any:
    """Each quarter of the three-year action so far, each indicator against the
    target of its year, for the caller's scope narrowed by region_id (province,
    prefecture, county), community_id, organization_id, kind or category."""
    scope = params.scope(session, principal, settings)
    current = action.load_action(session)
    series = action.trend(session, scope, current)
    if params.format != "json":
        headers, body = export.trend_table(series, params.lang)
        return export.render(headers, body, params.format, "linli-trend", lang=params.lang)
    return TrendRead.model_validate(
        {
            "start_on": current.start_on,
            "scope": {
                "region_id": params.region_id,
                "community_id": params.community_id,
                "organization_id": params.organization_id,
                "kind": params.kind,
                "category": params.category,
            },
            "series": series,
        }
    )


def _action_read(current: action.Action) -> ActionRead:
    return ActionRead(
        start_on=current.start_on,
        years=current.years,
        targets=current.targets,
        weights=current.weights,
        red_list_min_score=current.red_list_min_score,
        black_list_max_score=current.black_list_max_score,
        min_tickets=current.min_tickets,
        complaints_ceiling=current.complaints_ceiling,
        updated_at=_iso(current.updated_at) if current.updated_at else None,
    )


@router.get("/action", response_model=ActionRead, responses=responses(Forbidden, validation=False))
def get_action(principal: MetricsPrincipal, session: SessionDep) -> ActionRead:
    """The three-year action: start date, yearly targets, ranking weights and lists."""
    return _action_read(action.load_action(session))


@router.put("/action", response_model=ActionRead, responses=responses(Forbidden))
def put_action(
    data: ActionUpdate, principal: AdminPrincipal, session: WriteSessionDep
) -> ActionRead:
    """Change the action (province-wide administrators): fields left out (or null)
    keep their value; `targets` replaces the listed indicators' yearly targets."""
    return _action_read(action.update_action(session, principal, data))
