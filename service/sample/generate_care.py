"""The generator's home and community elderly care (issue 18): elders, their care
plans, the last year of the plans' visits with what became of each, and 助急
calls, drawn from their own random stream so the other tickets stay as they were.

- Elders: ~8.6% of residents (20,000 for the programme's 231,500), more in the
  older communities; 5% of them live alone and get a weekly 探访 (elderly.visit),
  2% get a meal delivered every day at 11:30 (elderly.meal), where the community
  has a care provider.
- A plan's share of government subsidy: none for ~40%, 30%, 50% or 100% for the
  others (those living alone more often in full).
- Visits are made two days ahead (the care horizon), as the job does. Most are
  checked in within the 30-minute grace; some late (marked missed at the grace's
  end, then checked in and done), a few never (missed and left open), a few
  cancelled (the elder was in hospital). Worse providers miss more.
- 助急: one call a year per 20 elders, answered within ~2.5 minutes typically,
  one in ten over the 5-minute target, a few false alarms cancelled unanswered.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from service.sample.generate_world import Plan, World, cumulative, pick, serving

DAY = 86400.0
LOCAL_OFFSET = 8 * 3600  # Asia/Shanghai, the generator's offices (no DST)
HORIZON = 48 * 3600.0  # LINLI_CARE_HORIZON_HOURS' default: visits made this far ahead
GRACE = 30 * 60.0  # LINLI_VISIT_GRACE_MINUTES' default
ELDERS_PER_RESIDENT = 20_000 / 231_500
ALONE, MEALS = 0.05, 0.02
EMERGENCIES_PER_ELDER_YEAR = 0.05
OUTCOMES = (("well", 0.9), ("needs_help", 0.05), ("not_home", 0.04), ("hospitalised", 0.01))


@dataclass(frozen=True)
class CarePlanDraw:
    id: int
    elder_id: int
    community_id: int
    category: str  # elderly.visit or elderly.meal
    rrule: str
    local_time: str
    duration_minutes: int
    share: int
    starts: float  # epoch of its first day's local midnight


def elder_count(plan: Plan) -> int:
    return plan.elders if plan.elders is not None else round(plan.residents * ELDERS_PER_RESIDENT)


def elders(
    world: World, plan: Plan, rng: random.Random, first_id: int, created: dt.datetime
) -> list[dict[str, Any]]:
    """The elder rows (no personal data beyond the year of birth, gender and living alone)."""
    weights = [
        w * world.elderly_share[c]
        for c, w in zip(world.community_ids, world.community_weights, strict=True)
    ]
    community_cum = cumulative(weights)
    rows = []
    for n in range(elder_count(plan)):
        rows.append(
            {
                "id": first_id + n,
                "community_id": pick(rng, community_cum, world.community_ids),
                "name": None,
                "birth_year": rng.randint(1930, 1962),
                "gender": rng.choice(("female", "male")),
                "lives_alone": rng.random() < ALONE,
                "care_level": min(4, int(rng.expovariate(1.2))),
                "created_at": created,
                "updated_at": created,
            }
        )
    return rows


def care_plans(
    world: World, plan: Plan, rng: random.Random, elder_rows: list[dict[str, Any]], first_id: int
) -> list[CarePlanDraw]:
    """A weekly 探访 for each elder living alone and daily meals for MEALS of the
    elders, where the community has a care provider, over the last year."""
    start = plan.end.timestamp() - 365 * DAY
    first_day = math.floor((start + LOCAL_OFFSET) / DAY) * DAY - LOCAL_OFFSET
    plans: list[CarePlanDraw] = []
    for elder in elder_rows:
        community = elder["community_id"]
        if community not in world.care_by:
            continue
        wanted = []
        if elder["lives_alone"]:
            weekday = rng.choice(("MO", "TU", "WE", "TH", "FR"))
            wanted.append(("elderly.visit", f"FREQ=WEEKLY;BYDAY={weekday}", "10:00", 45))
        if rng.random() < MEALS:
            wanted.append(("elderly.meal", "FREQ=DAILY", "11:30", 20))
        for category, rrule, local_time, minutes in wanted:
            share = rng.choices((0, 30, 50, 100), (4, 2, 2, 2 + 4 * elder["lives_alone"]))[0]
            plans.append(
                CarePlanDraw(
                    id=first_id + len(plans),
                    elder_id=elder["id"],
                    community_id=community,
                    category=category,
                    rrule=rrule,
                    local_time=local_time,
                    duration_minutes=minutes,
                    share=share,
                    starts=first_day + rng.randint(0, 30) * DAY,
                )
            )
    return plans


def plan_rows(plans: list[CarePlanDraw], categories: dict[str, int], creator_of: Any) -> list:
    return [
        {
            "id": p.id,
            "elder_id": p.elder_id,
            "community_id": p.community_id,
            "category_id": categories[p.category],
            "rrule": p.rrule,
            "local_time": p.local_time,
            "duration_minutes": p.duration_minutes,
            "starts_on": dt.datetime.fromtimestamp(p.starts + LOCAL_OFFSET, dt.UTC).date(),
            "ends_on": None,
            "skip_holidays": False,
            "government_share_percent": p.share,
            "active": True,
            "created_by_id": creator_of(p.community_id),
        }
        for p in plans
    ]


def _occurrences(p: CarePlanDraw, end: float) -> Iterator[float]:
    hours, minutes = (int(x) for x in p.local_time.split(":"))
    at = p.starts + hours * 3600 + minutes * 60
    weekday = p.rrule.rsplit("=", 1)[1] if "WEEKLY" in p.rrule else None
    days = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
    while at < end - 6 * 3600:  # all its fate known by the end
        local = dt.datetime.fromtimestamp(at + LOCAL_OFFSET, dt.UTC)
        if weekday is None or days[local.weekday()] == weekday:
            yield at
        at += DAY


def visits(
    world: World,
    plan: Plan,
    rng: random.Random,
    plans: list[CarePlanDraw],
    categories: dict[str, int],
    creator_of: Any,
    first_id: int,
) -> Iterator[dict[str, Any]]:
    """The plans' visits up to the generator's end, as ticket rows, each with its fate."""
    end = plan.end.timestamp()
    next_id = first_id
    for p in plans:
        category_id = categories[p.category]
        filer = creator_of(p.community_id)
        for scheduled in _occurrences(p, end):
            created = scheduled - HORIZON
            organization = serving(world.care_by.get(p.community_id), created)
            quality = world.quality.get(organization, 1.0) if organization else 1.0
            row = _visit_row(rng, p, scheduled, created, organization, quality, end)
            row.update(
                id=next_id,
                category_id=category_id,
                community_id=p.community_id,
                region_path=world.community_path[p.community_id],
                organization_id=organization,
                filed_by_id=filer,
                elder_id=p.elder_id,
                care_plan_id=p.id,
                scheduled_for=scheduled,
                plan_occurrence=scheduled,
                government_share_percent=p.share,
                preferred_from=scheduled,
                preferred_to=scheduled + p.duration_minutes * 60,
                respond_by=created + 2 * 3600,
                resolve_by=scheduled + p.duration_minutes * 60,
                visit_outcome=(
                    rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
                    if p.category == "elderly.visit" and row["checked_out_at"] is not None
                    else None
                ),
            )
            next_id += 1
            yield row


def _visit_row(
    rng: random.Random,
    p: CarePlanDraw,
    scheduled: float,
    created: float,
    organization: int | None,
    quality: float,
    end: float,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "status": "assigned",
        "created_at": created,
        "updated_at": created,
        "responded_at": None,
        "resolved_at": None,
        "closed_at": None,
        "checked_in_at": None,
        "checked_out_at": None,
        "visit_missed_at": None,
        "rating": None,
    }
    fate = rng.random()
    if organization is None:
        row["status"] = "submitted"
        fate = 0.0  # nobody to come: missed
    never, late = 0.02 * quality, 0.08 * quality
    if fate < 0.01 and organization is not None:
        row.update(status="cancelled", updated_at=scheduled - rng.uniform(3600, DAY))
        return row
    if fate < 0.01 + never:
        missed = scheduled + GRACE + rng.uniform(0, 60)
        row.update(visit_missed_at=missed, updated_at=missed)
        return row
    if fate < 0.01 + never + late:
        arrived = scheduled + GRACE + rng.uniform(60, 2 * 3600)
        row["visit_missed_at"] = scheduled + GRACE + rng.uniform(0, 60)
    else:
        arrived = scheduled + max(-GRACE, min(GRACE - 60, rng.gauss(-300, 480)))
    left = arrived + p.duration_minutes * 60 * rng.uniform(0.7, 1.4)
    row.update(
        status="resolved",
        responded_at=arrived,
        checked_in_at=arrived,
        checked_out_at=left,
        resolved_at=left,
        updated_at=left,
    )
    closed = left + rng.uniform(3600, 3 * DAY)
    if rng.random() < 0.6 and closed < end:
        row.update(status="closed", closed_at=closed, updated_at=closed)
        if rng.random() < 0.3:
            row["rating"] = max(1, min(5, round(rng.gauss(4.5 - 0.6 * (quality - 1), 0.7))))
    return row


def emergencies(
    world: World,
    plan: Plan,
    rng: random.Random,
    elder_rows: list[dict[str, Any]],
    category_id: int,
    first_id: int,
) -> Iterator[dict[str, Any]]:
    """助急 calls of the last year by the elders (filed by a family member, a resident)."""
    end = plan.end.timestamp()
    count = round(len(elder_rows) * EMERGENCIES_PER_ELDER_YEAR)
    starts = sorted(end - rng.uniform(6 * 3600, 365 * DAY) for _ in range(count))
    for n, created in enumerate(starts):
        elder = rng.choice(elder_rows)
        community = elder["community_id"]
        organization = serving(world.care_by.get(community), created)
        quality = world.quality.get(organization, 1.0) if organization else 1.0
        first_user, residents = world.residents_of[community]
        reporter = first_user + int(rng.random() * residents)
        row: dict[str, Any] = {
            "id": first_id + n,
            "category_id": category_id,
            "community_id": community,
            "region_path": world.community_path[community],
            "organization_id": organization,
            "reporter_id": reporter,
            "filed_by_id": reporter,
            "elder_id": elder["id"],
            "created_at": created,
            "respond_by": created + 300,
            "resolve_by": created + 4 * 3600,
            "status": "submitted" if organization is None else "assigned",
            "updated_at": created,
            "responded_at": None,
            "resolved_at": None,
            "closed_at": None,
            "rating": None,
        }
        if organization is not None:
            if rng.random() < 0.03:  # a false alarm, called off before anyone answered
                row.update(status="cancelled", updated_at=created + rng.uniform(60, 600))
            else:
                answered = created + rng.lognormvariate(math.log(150 * quality), 0.55)
                resolved = answered + rng.uniform(1200, 3 * 3600)
                status, updated = ("resolved", resolved)
                closed = None
                if resolved + DAY < end:
                    status, closed = "closed", resolved + rng.uniform(3600, DAY)
                    updated = closed
                row.update(
                    status=status,
                    responded_at=answered,
                    resolved_at=resolved,
                    closed_at=closed,
                    updated_at=updated,
                )
        yield row
