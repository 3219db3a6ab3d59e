"""The indicators of PRODUCT.md computed in plain Python over ticket rows, written
independently of the SQL, to check it against."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

OPEN = {"submitted", "assigned", "accepted", "in_progress", "on_hold"}


def percentile_cont(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    h = 1 + fraction * (len(ordered) - 1)
    low = math.floor(h)
    if low >= len(ordered):
        return ordered[-1]
    return ordered[low - 1] + (h - low) * (ordered[low] - ordered[low - 1])


def _next_local_month(instant: dt.datetime, tz: ZoneInfo, months: int) -> dt.datetime:
    local = instant.astimezone(tz)
    month = (local.month - 1) // months * months + 1
    year = local.year
    month += months
    if month > 12:
        year, month = year + 1, month - 12
    return dt.datetime(year, month, 1, tzinfo=tz).astimezone(dt.UTC)


def _time_label(instant: dt.datetime, tz: ZoneInfo, unit: str) -> str:
    local = instant.astimezone(tz)
    if unit == "month":
        return f"{local.year:04d}-{local.month:02d}"
    return f"{local.year:04d}Q{(local.month - 1) // 3 + 1}"


def reference(
    tickets: list[dict[str, Any]],
    followed_up: set[int],
    *,
    start: dt.datetime,
    end: dt.datetime,
    as_of: dt.datetime,
    group_by: tuple[str, ...],
    region_of: dict[int, Any],
    households_of: Any,
    timezone: str = "Asia/Shanghai",
    emergency_category: int | None = None,
    grace_minutes: int = 30,
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """{group key: indicators}. `region_of[community_id]` is the community's group
    region; `households_of(key_parts)` the households of a group's
    (region, community, organisation) parts. The care indicators take visits by
    `scheduled_for`, 助急 tickets (category `emergency_category`) by creation and
    elders by resolution, each into the group of that instant."""
    tz = ZoneInfo(timezone)
    unit = "month" if "month" in group_by else "quarter" if "quarter" in group_by else None

    def key_of(t: dict[str, Any], instant: dt.datetime) -> tuple[Any, ...]:
        key = []
        for name in group_by:
            if name == "region":
                key.append(region_of[t["community_id"]])
            elif name == "community":
                key.append(t["community_id"])
            elif name == "organization":
                key.append(t["organization_id"])
            elif name == "category":
                key.append(t["category_id"])
            elif name == "kind":
                key.append(t["kind"])
            else:
                key.append(_time_label(instant, tz, name))
        return tuple(key)

    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    visits: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    emergencies: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    served: dict[tuple[Any, ...], set[int]] = defaultdict(set)
    for t in tickets:
        if start <= t["created_at"] < end:
            groups[key_of(t, t["created_at"])].append(t)
            if emergency_category is not None and t["category_id"] == emergency_category:
                emergencies[key_of(t, t["created_at"])].append(t)
        scheduled = t.get("scheduled_for")
        if scheduled is not None and t["status"] != "cancelled" and start <= scheduled < end:
            visits[key_of(t, scheduled)].append(t)
        if (
            t["kind"] == "elderly_care"
            and t.get("elder_id") is not None
            and t["status"] in ("resolved", "closed")
            and start <= t["resolved_at"] < end
        ):
            served[key_of(t, t["resolved_at"])].add(t["elder_id"])

    out = {}
    for key in set(groups) | set(visits) | set(emergencies) | set(served):
        rows = groups.get(key, [])
        period_end = min(end, as_of)
        if unit and rows:
            bucket_end = _next_local_month(rows[0]["created_at"], tz, 1 if unit == "month" else 3)
            period_end = min(period_end, bucket_end)
        c: dict[str, int] = defaultdict(int)
        response_minutes, resolution_hours = [], []
        for t in rows:
            status = t["status"]
            excluded = status in ("cancelled", "rejected")
            completed = status in ("resolved", "closed")
            paused = t["paused_seconds"]
            c["created"] += 1
            c["active"] += not excluded
            c["completed"] += completed
            responded = t["responded_at"] is not None
            if responded or (not excluded and t["respond_by"] and t["respond_by"] <= as_of):
                c["response_due_or_done"] += 1
            if responded and (t["respond_by"] is None or t["responded_at"] <= t["respond_by"]):
                c["response_on_time"] += 1
            deadline = t["resolve_by"] + dt.timedelta(seconds=paused) if t["resolve_by"] else None
            if completed or (not excluded and deadline and deadline <= as_of):
                c["resolution_due_or_done"] += 1
            if completed and (
                deadline is None
                or (t["resolved_at"] - dt.timedelta(seconds=paused)) <= t["resolve_by"]
            ):
                c["resolution_on_time"] += 1
            if t["rating"] is not None:
                c["rated"] += 1
                c["rated_good"] += t["rating"] >= 4
                c["rating_sum"] += t["rating"]
            if status == "closed":
                c["closed"] += 1
                c["closed_followed_up"] += t["id"] in followed_up
            if completed or t["reopen_count"] > 0:
                c["ever_resolved"] += 1
            c["reopened"] += t["reopen_count"] > 0
            if t["kind"] == "complaint":
                c["complaints"] += 1
                c["complaints_handled"] += completed
            ended = t["resolved_at"] if completed else t["updated_at"] if excluded else None
            if ended is None or ended > period_end:
                c["backlog"] += 1
                late_response = (
                    t["respond_by"] is not None
                    and t["respond_by"] <= period_end
                    and (not responded or t["responded_at"] > period_end)
                )
                if late_response or (deadline is not None and deadline <= period_end):
                    c["overdue_open"] += 1
            if responded:
                response_minutes.append((t["responded_at"] - t["created_at"]).total_seconds() / 60)
            if completed:
                resolution_hours.append(
                    ((t["resolved_at"] - t["created_at"]).total_seconds() - paused) / 3600
                )
        parts = {n: key[i] for i, n in enumerate(group_by)}
        households = households_of(parts)

        def ratio(a: float, b: float, per: float = 1.0) -> float | None:
            return None if not b else a * per / b

        out[key] = {
            "created": c["created"],
            "completion_rate": ratio(c["completed"], c["active"]),
            "response_on_time_rate": ratio(c["response_on_time"], c["response_due_or_done"]),
            "resolution_on_time_rate": ratio(c["resolution_on_time"], c["resolution_due_or_done"]),
            "response_minutes_p50": percentile_cont(response_minutes, 0.5),
            "response_minutes_p90": percentile_cont(response_minutes, 0.9),
            "resolution_hours_p50": percentile_cont(resolution_hours, 0.5),
            "resolution_hours_p90": percentile_cont(resolution_hours, 0.9),
            "satisfaction_rate": ratio(c["rated_good"], c["rated"]),
            "avg_rating": ratio(c["rating_sum"], c["rated"]),
            "rating_coverage": ratio(c["rated"], c["closed"]),
            "follow_up_rate": ratio(c["closed_followed_up"], c["closed"]),
            "reopen_rate": ratio(c["reopened"], c["ever_resolved"]),
            "complaints": c["complaints"],
            "complaints_per_1000_households": ratio(c["complaints"], households, 1000.0),
            "complaint_handling_rate": ratio(c["complaints_handled"], c["complaints"]),
            "backlog": c["backlog"],
            "overdue_open": c["overdue_open"],
        }
        out[key].update(_care(visits.get(key, []), emergencies.get(key, []), as_of, grace_minutes))
        out[key]["elders_served"] = len(served.get(key, ()))
    return out


def _care(
    visits: list[dict[str, Any]],
    emergencies: list[dict[str, Any]],
    as_of: dt.datetime,
    grace_minutes: int,
) -> dict[str, Any]:
    grace = dt.timedelta(minutes=grace_minutes)
    due = [v for v in visits if v["scheduled_for"] <= as_of]
    done = [v for v in due if v["status"] in ("resolved", "closed")]
    checked_in = [v for v in visits if v.get("checked_in_at") is not None]
    on_time = [v for v in checked_in if v["checked_in_at"] <= v["scheduled_for"] + grace]
    shares = [v.get("government_share_percent") or 0 for v in done]
    responses = [
        (e["responded_at"] - e["created_at"]).total_seconds()
        for e in emergencies
        if e["responded_at"] is not None
    ]
    return {
        "visits_scheduled": len(visits),
        "plan_fulfilment_rate": len(done) / len(due) if due else None,
        "visit_on_time_rate": len(on_time) / len(checked_in) if checked_in else None,
        "missed_visits": sum(v.get("visit_missed_at") is not None for v in visits),
        "emergency_response_seconds_p90": percentile_cont(responses, 0.9),
        "government_subsidy_visits": sum(s > 0 for s in shares),
        "government_subsidy_share": sum(shares) / (100 * len(done)) if done else None,
    }
