"""Response bodies of the metrics routes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.validation import ReadModel


class Indicators(BaseModel):
    created: int
    completion_rate: float | None
    response_on_time_rate: float | None
    resolution_on_time_rate: float | None
    response_minutes_p50: float | None
    response_minutes_p90: float | None
    resolution_hours_p50: float | None
    resolution_hours_p90: float | None
    satisfaction_rate: float | None
    avg_rating: float | None
    rating_coverage: float | None
    follow_up_rate: float | None
    reopen_rate: float | None
    complaints: int
    complaints_per_1000_households: float | None
    complaint_handling_rate: float | None
    backlog: int
    overdue_open: int
    visits_scheduled: int = Field(
        description="care plans' visits (not cancelled) scheduled for the period"
    )
    plan_fulfilment_rate: float | None = Field(
        description="of those visits, due by `as_of`: the share resolved or closed"
    )
    visit_on_time_rate: float | None = Field(
        description="visits checked in by scheduled_for + LINLI_VISIT_GRACE_MINUTES ÷ checked in"
    )
    missed_visits: int = Field(description="of the visits scheduled, those marked missed")
    emergency_response_seconds_p90: float | None = Field(
        description="助急 (elderly.emergency) tickets created in the period: 90th percentile"
        " of created → responded, seconds"
    )
    elders_served: int = Field(
        description="distinct elders of the elderly-care tickets resolved in the period"
    )
    government_subsidy_visits: int = Field(
        description="done visits with a government share above 0"
    )
    government_subsidy_share: float | None = Field(
        description="Σ government_share_percent ÷ (100 × done visits)"
    )


class SummaryRow(Indicators):
    group: dict[str, Any] = Field(
        description="the group's keys: region/community/organization {id, name}, "
        "category {code, name}, kind, month (YYYY-MM), quarter (YYYYQn)"
    )
    counts: dict[str, int] = Field(description="the numerators and denominators")


class SummaryRead(ReadModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    as_of: str
    timezone: str
    group_by: list[str]
    source: str = Field(
        description="`rollup`: the tickets as of the rollup's last run, `rollup_refreshed_at`"
        " (percentiles from histograms: within 25% of the value plus one minute or"
        " 1/60 hour), those filed since read live, backlog and overdue at each period's"
        " end; `live`: every ticket read now, exactly"
    )
    rollup_refreshed_at: str | None = None
    rows: list[SummaryRow]


class RankingWeights(ReadModel):
    """Weights of the composite score (they need not sum to 1: they are normalised)."""

    model_config = ConfigDict(extra="forbid")
    response_on_time_rate: float = Field(default=0.2, ge=0, le=100)
    resolution_on_time_rate: float = Field(default=0.25, ge=0, le=100)
    satisfaction_rate: float = Field(default=0.25, ge=0, le=100)
    completion_rate: float = Field(default=0.1, ge=0, le=100)
    follow_up_rate: float = Field(default=0.1, ge=0, le=100)
    reopen_rate: float = Field(default=0.05, ge=0, le=100)
    complaints_per_1000_households: float = Field(default=0.05, ge=0, le=100)


class ActionRead(BaseModel):
    start_on: dt.date
    years: int
    targets: dict[str, list[float | None]]
    weights: RankingWeights
    red_list_min_score: float
    black_list_max_score: float
    min_tickets: int
    complaints_ceiling: float
    updated_at: str | None


class ActionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start_on: dt.date | None = None
    years: int | None = Field(None, ge=1, le=10)
    # indicator -> the target of each year of the action (None: no target that year)
    targets: dict[str, list[float | None]] | None = None
    weights: RankingWeights | None = None
    red_list_min_score: float | None = Field(None, ge=0, le=100)
    black_list_max_score: float | None = Field(None, ge=0, le=100)
    min_tickets: int | None = Field(None, ge=0, le=1_000_000)
    complaints_ceiling: float | None = Field(None, gt=0, le=10_000)


class RankingRow(BaseModel):
    rank: int | None
    organization: dict[str, Any]
    score: float | None
    list: str | None = Field(description="`red`, `black` or null")
    parts: dict[str, float | None]
    indicators: Indicators


class RankingRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    kind: str | None
    weights: RankingWeights
    red_list_min_score: float
    black_list_max_score: float
    min_tickets: int
    rows: list[RankingRow]


class TrendPoint(BaseModel):
    quarter: str
    year_of_action: int
    value: float | None
    target: float | None
    met: bool | None


class TrendSeries(BaseModel):
    indicator: str
    name_zh: str
    higher_is_better: bool
    points: list[TrendPoint]


class TrendRead(BaseModel):
    start_on: dt.date
    scope: dict[str, Any]
    series: list[TrendSeries]
