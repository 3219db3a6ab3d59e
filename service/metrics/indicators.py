"""The service-quality indicators of PRODUCT.md: names, labels, and how each is
derived from the counts and percentiles that SQL aggregates.

SQL does the aggregation (sums of per-ticket conditions and percentiles, per
group); an indicator is then one of those aggregates or a ratio of two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Indicator:
    name: str
    zh: str
    # higher_is_better: for targets and the ranking score.
    higher_is_better: bool = True
    # A ratio: numerator and denominator names among the aggregated counts.
    ratio: tuple[str, str] | None = None
    # A rate in [0, 1] (shown as a percentage).
    rate: bool = False
    per: float = 1.0


INDICATORS: tuple[Indicator, ...] = (
    Indicator("created", "工单数"),
    Indicator("completion_rate", "办结率", ratio=("completed", "active"), rate=True),
    Indicator(
        "response_on_time_rate",
        "响应及时率",
        ratio=("response_on_time", "response_due_or_done"),
        rate=True,
    ),
    Indicator(
        "resolution_on_time_rate",
        "维修/办结及时率",
        ratio=("resolution_on_time", "resolution_due_or_done"),
        rate=True,
    ),
    Indicator("response_minutes_p50", "响应时长中位数（分钟）", higher_is_better=False),
    Indicator("response_minutes_p90", "响应时长90分位（分钟）", higher_is_better=False),
    Indicator("resolution_hours_p50", "办结时长中位数（小时）", higher_is_better=False),
    Indicator("resolution_hours_p90", "办结时长90分位（小时）", higher_is_better=False),
    Indicator("satisfaction_rate", "满意率", ratio=("rated_good", "rated"), rate=True),
    Indicator("avg_rating", "平均评分", ratio=("rating_sum", "rated")),
    Indicator("rating_coverage", "评价率", ratio=("rated", "closed"), rate=True),
    Indicator("follow_up_rate", "回访率", ratio=("closed_followed_up", "closed"), rate=True),
    Indicator(
        "reopen_rate",
        "返修率",
        higher_is_better=False,
        ratio=("reopened", "ever_resolved"),
        rate=True,
    ),
    Indicator("complaints", "投诉数", higher_is_better=False),
    Indicator(
        "complaints_per_1000_households",
        "每千户投诉数",
        higher_is_better=False,
        ratio=("complaints", "households"),
        per=1000.0,
    ),
    Indicator(
        "complaint_handling_rate",
        "投诉处理率",
        ratio=("complaints_handled", "complaints"),
        rate=True,
    ),
    Indicator("backlog", "积压工单", higher_is_better=False),
    Indicator("overdue_open", "超时未办结", higher_is_better=False),
    # Home and community elderly care (issue 18), each counted by its own instant:
    # visits by when they were scheduled for, 助急 by creation, elders by resolution.
    Indicator("visits_scheduled", "计划服务次数"),
    Indicator(
        "plan_fulfilment_rate", "服务计划完成率", ratio=("visits_done", "visits_due"), rate=True
    ),
    Indicator(
        "visit_on_time_rate",
        "上门准时率",
        ratio=("visits_checked_in_on_time", "visits_checked_in"),
        rate=True,
    ),
    Indicator("missed_visits", "漏服务次数", higher_is_better=False),
    Indicator("emergency_response_seconds_p90", "助急响应90分位（秒）", higher_is_better=False),
    Indicator("elders_served", "服务老人数"),
    Indicator("government_subsidy_visits", "政府补贴服务次数"),
    Indicator(
        "government_subsidy_share",
        "政府补贴占比",
        ratio=("government_share_sum", "visits_done"),
        rate=True,
        per=0.01,
    ),
)
BY_NAME = {indicator.name: indicator for indicator in INDICATORS}
_CARE_NAMES = frozenset(
    (
        "visits_scheduled",
        "plan_fulfilment_rate",
        "visit_on_time_rate",
        "missed_visits",
        "emergency_response_seconds_p90",
        "elders_served",
        "government_subsidy_visits",
        "government_subsidy_share",
    )
)

# The counts SQL sums per group over the tickets created in the period (each a
# per-ticket 0/1 condition, or a sum of ratings).
TICKET_COUNTS: tuple[str, ...] = (
    "created",
    "cancelled_or_rejected",
    "active",
    "completed",
    "response_due_or_done",
    "response_on_time",
    "resolution_due_or_done",
    "resolution_on_time",
    "rated",
    "rated_good",
    "rating_sum",
    "closed",
    "closed_followed_up",
    "ever_resolved",
    "reopened",
    "complaints",
    "complaints_handled",
    "backlog",
    "overdue_open",
)
PERCENTILES: tuple[tuple[str, str, float], ...] = (
    # (indicator, duration, fraction)
    ("response_minutes_p50", "response_minutes", 0.5),
    ("response_minutes_p90", "response_minutes", 0.9),
    ("resolution_hours_p50", "resolution_hours", 0.5),
    ("resolution_hours_p90", "resolution_hours", 0.9),
)
# The care counts (service/metrics/care.py), additive like the above: of the visits
# scheduled in the period (not cancelled), and of the 助急 tickets created in it.
VISIT_COUNTS: tuple[str, ...] = (
    "visits_scheduled",
    "visits_due",
    "visits_done",
    "visits_checked_in",
    "visits_checked_in_on_time",
    "missed_visits",
    "government_subsidy_visits",
    "government_share_sum",  # the done visits' government_share_percent, summed
)
EMERGENCY_COUNTS: tuple[str, ...] = ("emergencies", "emergencies_responded")
CARE_COUNTS = VISIT_COUNTS + EMERGENCY_COUNTS
# Distinct elders: not a sum of anything, counted per group as a whole.
COUNTS: tuple[str, ...] = TICKET_COUNTS + CARE_COUNTS + ("elders_served",)
CARE_PERCENTILES: tuple[tuple[str, str, float], ...] = (
    ("emergency_response_seconds_p90", "emergency_response_seconds", 0.9),
)
ALL_PERCENTILES = PERCENTILES + CARE_PERCENTILES


# indicators_from runs once per summary row, thousands of times per summary: each
# plan is the indicators' names sorted into what they are made of, once.
@dataclass(frozen=True)
class _Plan:
    order: tuple[str, ...]  # INDICATORS' order, for the answer's
    plain: tuple[str, ...]  # a count as it is
    ratios: tuple[tuple[str, str, str, float], ...]  # (name, numerator, denominator, per)
    percentiles: tuple[str, ...]


def _plan(indicators: tuple[Indicator, ...]) -> _Plan:
    percentile_names = {p[0] for p in ALL_PERCENTILES}
    return _Plan(
        order=tuple(i.name for i in indicators),
        plain=tuple(
            i.name for i in indicators if i.ratio is None and i.name not in percentile_names
        ),
        ratios=tuple((i.name, *i.ratio, i.per) for i in indicators if i.ratio is not None),
        percentiles=tuple(i.name for i in indicators if i.name in percentile_names),
    )


CARE_INDICATORS = tuple(i for i in INDICATORS if i.name in _CARE_NAMES)
_TICKET_PLAN = _plan(tuple(i for i in INDICATORS if i.name not in _CARE_NAMES))
_CARE_PLAN = _plan(CARE_INDICATORS)
# A group without visits, 助急 tickets or elders served (most groups of
# property companies): every care indicator is 0 or None.
_NO_CARE = {name: (0 if name in _CARE_PLAN.plain else None) for name in _CARE_PLAN.order}


def _evaluate(plan: _Plan, counts: dict[str, Any], percentiles: dict[str, Any]) -> dict[str, Any]:
    # Rounded to 6 (ratios) and 4 (percentiles) decimals by scaling: 2.5x faster
    # than round(x, 6), which converts through decimal digits.
    get = counts.get
    out = dict.fromkeys(plan.order)
    for name in plan.plain:
        out[name] = int(get(name) or 0)
    for name, over, under, per in plan.ratios:
        if (d := get(under)) and (n := get(over)) is not None:
            out[name] = round(n * per / d * 1e6) / 1e6
    for name in plan.percentiles:
        if (v := percentiles.get(name)) is not None:
            out[name] = round(float(v) * 1e4) / 1e4
    return out


def indicators_from(counts: dict[str, Any], percentiles: dict[str, Any]) -> dict[str, Any]:
    """The indicators of one group from its aggregates, in INDICATORS' order. A
    ratio with nothing to divide by is None (not 0): "no rated tickets" is not
    "nobody satisfied"."""
    out = _evaluate(_TICKET_PLAN, counts, percentiles)
    get = counts.get
    if get("visits_scheduled") or get("emergencies") or get("elders_served"):
        out.update(_evaluate(_CARE_PLAN, counts, percentiles))
    else:
        out.update(_NO_CARE)
    return out
