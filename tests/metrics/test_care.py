"""The elderly-care indicators on a history whose answers are known, live and
from the rollup; and the rollup taking in visits as they come due."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.metrics import rollup, rollup_summary
from service.metrics.engine import summarise
from service.metrics.models import CARE
from service.metrics.tickets import SummaryScope
from tests.conftest import World
from tests.metrics.helpers import admin, category_ids, insert_tickets
from tests.metrics.test_summary import AS_OF, END, START, TZ, materialise

HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


def _ticket(world: World, db: Session, category: str, created: dt.datetime, **fields: Any) -> dict:
    spec = {
        "community": "community_a",
        "category": category,
        "reassigned": False,
        "unassigned": False,
        "status": "resolved",
        "respond_by": None,
        "resolve_by": None,
        "responded_at": None,
        "resolved_at": None,
        "paused_seconds": 0,
        "rating": None,
        "reopen_count": 0,
        "followed_up": False,
        "created_at": created,
        "updated_at": created,
        **fields,
    }
    return materialise(world, category_ids(db), spec)


def _visit(world: World, db: Session, scheduled: dt.datetime, **fields: Any) -> dict:
    """A meal visit made by its plan two days ahead."""
    return _ticket(
        world, db, "elderly.meal", scheduled - 48 * HOUR, scheduled_for=scheduled, **fields
    )


def _history(world: World, db: Session) -> list[dict[str, Any]]:
    day = dt.datetime(2026, 1, 11, 0, tzinfo=dt.UTC)  # 08:00 in Shanghai
    emergency = dt.datetime(2026, 1, 20, 3, tzinfo=dt.UTC)
    return [
        # done, checked in 10 minutes after it was due: on time; fully subsidised
        _visit(
            world,
            db,
            day,
            checked_in_at=day + 10 * MINUTE,
            resolved_at=day + HOUR,
            government_share_percent=100,
            elder=0,
        ),
        # marked missed, then checked in late and done all the same
        _visit(
            world,
            db,
            day + 24 * HOUR,
            checked_in_at=day + 24 * HOUR + 45 * MINUTE,
            visit_missed_at=day + 24 * HOUR + 30 * MINUTE,
            resolved_at=day + 26 * HOUR,
            government_share_percent=0,
            elder=1,
        ),
        # never came: missed, due and not done
        _visit(
            world,
            db,
            day + 48 * HOUR,
            status="assigned",
            visit_missed_at=day + 48 * HOUR + 30 * MINUTE,
            elder=2,
        ),
        # the plan changed: cancelled, it counts for nothing
        _visit(world, db, day + 72 * HOUR, status="cancelled", elder=2),
        # done in February for the first elder again, 30% subsidised
        _visit(
            world,
            db,
            day + 31 * 24 * HOUR,
            checked_in_at=day + 31 * 24 * HOUR - 5 * MINUTE,
            resolved_at=day + 31 * 24 * HOUR + HOUR,
            government_share_percent=30,
            elder=0,
        ),
        # due on 25 June, after the report's 20 June: scheduled, not yet due
        _visit(world, db, dt.datetime(2026, 6, 25, 0, tzinfo=dt.UTC), status="assigned", elder=1),
        # 助急: answered in 1, 2 and 10 minutes, and one not answered yet
        *(
            _ticket(
                world,
                db,
                "elderly.emergency",
                emergency + i * HOUR,
                status="in_progress",
                responded_at=emergency + i * HOUR + seconds * dt.timedelta(seconds=1),
            )
            for i, seconds in enumerate((60, 120, 600))
        ),
        _ticket(world, db, "elderly.emergency", emergency, status="submitted", unassigned=True),
    ]


def _rows(db: Session, group_by: tuple[str, ...], as_of: dt.datetime = AS_OF) -> list[dict]:
    return summarise(db, SummaryScope(admin(), START, END, TZ, group_by, as_of=as_of))


@pytest.mark.parametrize("rolled_up", [False, True])
def test_care_indicators_of_a_known_history(db: Session, world: World, rolled_up: bool) -> None:
    insert_tickets(db, _history(world, db), set(), world.reporter.user_id)
    if rolled_up:
        rollup.rebuild(db, AS_OF, TZ)
    scope = SummaryScope(admin(), START, END, TZ, (), as_of=AS_OF)
    assert (rollup_summary.usable(db, scope) is not None) == rolled_up
    (row,) = _rows(db, ())
    assert row["visits_scheduled"] == 5
    assert row["counts"]["visits_due"] == 4
    assert row["plan_fulfilment_rate"] == 0.75
    assert row["visit_on_time_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert row["missed_visits"] == 2
    assert row["government_subsidy_visits"] == 2
    assert row["government_subsidy_share"] == pytest.approx(130 / 300, abs=1e-6)
    assert row["elders_served"] == 2
    # percentile_cont of 60, 120 and 600 s; the rollup's histogram within its bound
    p90 = row["emergency_response_seconds_p90"]
    assert p90 == pytest.approx(504.0, abs=0.25 * 504 + 60 if rolled_up else 1e-6)
    by_month = {r["group"]["month"]: r for r in _rows(db, ("month",))}
    assert by_month["2026-01"]["visits_scheduled"] == 3  # the cancelled one is not
    assert by_month["2026-02"]["elders_served"] == 1
    assert by_month["2026-06"]["visits_scheduled"] == 1
    assert by_month["2026-06"]["plan_fulfilment_rate"] is None  # nothing due yet
    assert by_month["2026-01"]["emergency_response_seconds_p90"] is not None
    assert by_month["2026-02"]["emergency_response_seconds_p90"] is None


def test_the_rollup_takes_in_visits_as_they_come_due(db: Session, world: World) -> None:
    insert_tickets(db, _history(world, db), set(), world.reporter.user_id)
    rollup.rebuild(db, AS_OF, TZ)
    rolled = db.scalar(select(func.sum(CARE.c.visits_scheduled)))
    assert rolled == 4  # the one due on 25 June is read live until then
    later = dt.datetime(2026, 6, 26, tzinfo=dt.UTC)
    scope = SummaryScope(admin(), START, END, TZ, (), as_of=later)
    assert rollup_summary.usable(db, scope) is not None
    (before,) = summarise(db, scope)
    assert before["counts"]["visits_due"] == 5 and before["plan_fulfilment_rate"] == 0.6
    # no event: the job re-rolls the visit's slice once it is due
    assert rollup.refresh(db, later, TZ) > 0
    assert db.scalar(select(func.sum(CARE.c.visits_scheduled))) == 5
    (after,) = summarise(db, scope)
    assert {k: after[k] for k in before if k != "counts"} == {
        k: before[k] for k in before if k != "counts"
    }
    exact = summarise(db, scope, exact=True)[0]
    assert exact["counts"] == after["counts"]


def test_another_grace_is_answered_live_until_rebuilt(db: Session, world: World) -> None:
    insert_tickets(db, _history(world, db), set(), world.reporter.user_id)
    rollup.rebuild(db, AS_OF, TZ)
    scope = SummaryScope(admin(), START, END, TZ, (), as_of=AS_OF)
    strict = replace(scope, visit_grace_minutes=5)
    assert rollup_summary.usable(db, strict) is None
    (row,) = summarise(db, strict)
    assert row["visit_on_time_rate"] == pytest.approx(1 / 3, abs=1e-6)
    rollup.refresh(db, AS_OF, TZ, grace=5)
    assert rollup_summary.usable(db, strict) is not None
    assert summarise(db, strict)[0]["visit_on_time_rate"] == row["visit_on_time_rate"]
