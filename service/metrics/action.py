"""The three-year action (start, targets), the ranking of organisations and the
quarterly trend against the targets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, cast

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.auth import Principal
from service.db import utcnow
from service.directory.models import Organization
from service.errors import Forbidden, Invalid, Unprocessable
from service.metrics.engine import summarise
from service.metrics.indicators import BY_NAME, INDICATORS
from service.metrics.models import QualityAction, QualityTarget
from service.metrics.periods import buckets, local_midnight
from service.metrics.schemas import ActionUpdate, RankingWeights
from service.metrics.tickets import SummaryScope

# Targets of the three years unless the department sets its own (year 1, 2, 3).
DEFAULT_TARGETS: dict[str, list[float | None]] = {
    "completion_rate": [0.90, 0.93, 0.95],
    "response_on_time_rate": [0.85, 0.90, 0.95],
    "resolution_on_time_rate": [0.80, 0.88, 0.93],
    "satisfaction_rate": [0.80, 0.85, 0.90],
    "follow_up_rate": [0.60, 0.75, 0.90],
    "reopen_rate": [0.05, 0.04, 0.03],
    "complaint_handling_rate": [0.90, 0.95, 0.98],
    "response_minutes_p90": [240.0, 180.0, 120.0],
}
DEFAULT_START = dt.date(2024, 1, 1)


@dataclass
class Action:
    start_on: dt.date = DEFAULT_START
    years: int = 3
    targets: dict[str, list[float | None]] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    weights: RankingWeights = field(default_factory=RankingWeights)
    red_list_min_score: float = 90.0
    black_list_max_score: float = 60.0
    min_tickets: int = 30
    # complaints per 1,000 households in the period at which that part scores 0
    complaints_ceiling: float = 50.0
    updated_at: dt.datetime | None = None

    def target(self, indicator: str, year: int) -> float | None:
        values = self.targets.get(indicator) or []
        return values[year - 1] if 0 < year <= len(values) else None


def load_action(session: Session) -> Action:
    row = session.get(QualityAction, 1)
    action = Action()
    if row is not None:
        action = Action(
            start_on=row.start_on,
            years=row.years,
            weights=RankingWeights(**row.weights),
            red_list_min_score=row.red_list_min_score,
            black_list_max_score=row.black_list_max_score,
            min_tickets=row.min_tickets,
            complaints_ceiling=row.complaints_ceiling,
            updated_at=row.updated_at,
            targets={},
        )
        for target in session.scalars(select(QualityTarget).order_by(QualityTarget.year)):
            values = action.targets.setdefault(target.indicator, [None] * action.years)
            if target.year <= action.years:
                values[target.year - 1] = target.target
    return action


def update_action(session: Session, principal: Principal, data: ActionUpdate) -> Action:
    """Province-wide administrators set the action; a county's cannot move the goals."""
    if principal.region_path is not None:
        raise Forbidden("metrics.action_forbidden")
    current = load_action(session)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)  # null: unchanged
    new = replace(
        current,
        **cast(
            dict[str, Any],
            {
                k: (RankingWeights(**v) if k == "weights" else v)
                for k, v in changes.items()
                if k != "targets"
            },
        ),
    )
    if data.targets is not None:
        errors = []
        for name, values in data.targets.items():
            if name not in BY_NAME or name in ("created", "backlog", "overdue_open"):
                errors.append(Invalid(f"targets.{name}", "metrics.no_indicator"))
            elif len(values) > new.years:
                errors.append(Invalid(f"targets.{name}", "metrics.too_many_years"))
            elif BY_NAME[name].rate and any(v is not None and not 0 <= v <= 1 for v in values):
                errors.append(Invalid(f"targets.{name}", "metrics.rate_range"))
            elif any(v is not None and v < 0 for v in values):
                errors.append(Invalid(f"targets.{name}", "metrics.negative_target"))
        if errors:
            raise Unprocessable("metrics.bad_targets", errors=errors)
        new.targets = {**current.targets, **data.targets}
    if new.black_list_max_score > new.red_list_min_score:
        raise Unprocessable(
            "metrics.black_above_red",
            errors=[Invalid("black_list_max_score", "metrics.above_red_list")],
        )
    row = session.get(QualityAction, 1)
    if row is None:
        row = QualityAction(id=1)
        session.add(row)
    row.start_on, row.years = new.start_on, new.years
    row.weights = new.weights.model_dump()
    row.red_list_min_score = new.red_list_min_score
    row.black_list_max_score = new.black_list_max_score
    row.min_tickets = new.min_tickets
    row.complaints_ceiling = new.complaints_ceiling
    row.updated_at = utcnow()
    row.updated_by_id = principal.user_id
    session.execute(delete(QualityTarget))
    session.flush()
    for name, values in new.targets.items():
        for year, value in enumerate(values[: new.years], start=1):
            if value is not None:
                session.add(QualityTarget(indicator=name, year=year, target=value))
    session.flush()
    return load_action(session)


# --- rankings --------------------------------------------------------------------


def score_parts(row: dict[str, Any], action: Action) -> dict[str, float | None]:
    """Each weighted indicator as a part in [0, 1], better = higher."""
    parts: dict[str, float | None] = {}
    for name in RankingWeights.model_fields:
        value = row.get(name)
        if value is None:
            parts[name] = None
        elif name == "complaints_per_1000_households":
            parts[name] = max(0.0, 1.0 - value / action.complaints_ceiling)
        elif BY_NAME[name].higher_is_better:
            parts[name] = float(value)
        else:
            parts[name] = max(0.0, 1.0 - float(value))
    return parts


def composite(parts: dict[str, float | None], weights: RankingWeights) -> float | None:
    """100 x the weighted mean of the parts that exist (weights renormalised)."""
    total = weight_sum = 0.0
    for name, weight in weights.model_dump().items():
        value = parts.get(name)
        if value is None or weight == 0:
            continue
        total += weight * value
        weight_sum += weight
    return None if weight_sum == 0 else round(100 * total / weight_sum, 2)


def rankings(
    session: Session, scope: SummaryScope, action: Action, organization_kind: str
) -> list[dict[str, Any]]:
    rows = summarise(session, replace(scope, group_by=("organization",)))
    ids = [r["group"]["organization"]["id"] for r in rows if r["group"]["organization"]]
    kinds = dict(
        session.execute(
            select(Organization.id, Organization.kind).where(Organization.id.in_(ids))
        ).all()
    )
    ranked = []
    for row in rows:
        organization = row["group"]["organization"]
        if organization is None or str(kinds.get(organization["id"])) != organization_kind:
            continue
        parts = score_parts(row, action)
        eligible = row["created"] >= action.min_tickets
        score = composite(parts, action.weights) if eligible else None
        listed = None
        if score is not None:
            if score >= action.red_list_min_score:
                listed = "red"
            elif score < action.black_list_max_score:
                listed = "black"
        indicators = {i.name: row[i.name] for i in INDICATORS}
        ranked.append(
            {
                "organization": organization,
                "score": score,
                "list": listed,
                "parts": parts,
                "indicators": indicators,
            }
        )
    ranked.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), r["organization"]["id"]))
    for position, row in enumerate(ranked, start=1):
        row["rank"] = position if row["score"] is not None else None
    return ranked


# --- the trend against the targets ----------------------------------------------


def trend(session: Session, scope: SummaryScope, action: Action) -> list[dict[str, Any]]:
    """Every quarter of the action so far, each indicator against its target."""
    start = local_midnight(action.start_on, scope.timezone)
    end_day = action.start_on.replace(year=action.start_on.year + action.years)
    end = min(local_midnight(end_day, scope.timezone), scope.as_of)
    if end <= start:
        return [
            {
                "indicator": i.name,
                "name_zh": i.zh,
                "higher_is_better": i.higher_is_better,
                "points": [],
            }
            for i in INDICATORS
        ]
    quarters = buckets(start, end, "quarter", scope.timezone)
    rows = summarise(session, replace(scope, start=start, end=end, group_by=("quarter",)))
    by_quarter = {r["group"]["quarter"]: r for r in rows}
    series = []
    for indicator in INDICATORS:
        points = []
        for quarter in quarters:
            row = by_quarter.get(quarter.label)
            year = _year_of_action(action.start_on, quarter.start, scope.timezone)
            target = action.target(indicator.name, year)
            value = row[indicator.name] if row else None
            met = None
            if value is not None and target is not None:
                met = value >= target if indicator.higher_is_better else value <= target
            points.append(
                {
                    "quarter": quarter.label,
                    "year_of_action": year,
                    "value": value,
                    "target": target,
                    "met": met,
                }
            )
        series.append(
            {
                "indicator": indicator.name,
                "name_zh": indicator.zh,
                "higher_is_better": indicator.higher_is_better,
                "points": points,
            }
        )
    return series


def _year_of_action(start_on: dt.date, instant: dt.datetime, timezone: str) -> int:
    from zoneinfo import ZoneInfo

    day = instant.astimezone(ZoneInfo(timezone)).date()
    years = day.year - start_on.year - ((day.month, day.day) < (start_on.month, start_on.day))
    return years + 1
