"""The rollup gives the live query's figures: counts exactly, percentiles within
the histogram's stated bound (25% of the value plus one minute)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.db import utcnow
from service.directory.models import Region
from service.jobs import JOBS
from service.metrics import rollup, rollup_summary
from service.metrics.engine import live_summary, run_summary
from service.metrics.histogram import EDGES, bucket_index, bucket_range, bucket_sql, percentile
from service.metrics.indicators import ALL_PERCENTILES, COUNTS
from service.metrics.models import ROLLUP_COUNTS, MetricsPending, MetricsRollup, MetricsSpan
from service.metrics.periods import local_midnight
from service.metrics.tickets import GROUPS, SummaryScope
from tests.conftest import World, file_ticket
from tests.metrics.helpers import admin, category_ids, insert_tickets
from tests.metrics.test_summary import (
    AS_OF,
    END,
    FAST,
    START,
    TZ,
    _history,
    materialise,
    ticket_spec,
)

ROLLED_GROUPS = [g for g in GROUPS if g != "community"]
# Month-aligned periods in Shanghai (the rollup's), and one ending after its last run.
PERIODS = [
    (START, END),
    (dt.datetime(2026, 1, 31, 16, tzinfo=dt.UTC), dt.datetime(2026, 4, 30, 16, tzinfo=dt.UTC)),
    (dt.datetime(2026, 2, 28, 16, tzinfo=dt.UTC), AS_OF + dt.timedelta(minutes=1)),
]
# A minute in each percentile's unit.
MINUTE_IN = {"response_minutes": 1.0, "resolution_hours": 1 / 60, "emergency_response_seconds": 60}
UNITS = {p[0]: MINUTE_IN[p[1]] for p in ALL_PERCENTILES}


def close_enough(indicator: str, approx: float, exact: float) -> bool:
    """The bound the README states: within 25% of the exact value plus a minute."""
    return abs(approx - exact) <= 0.25 * abs(exact) + UNITS[indicator] + 1e-9


def assert_same(rolled: list[Any], live: list[Any]) -> None:
    got = {row.key: row for row in rolled}
    want = {row.key: row for row in live}
    assert set(got) == set(want), (sorted(map(str, got)), sorted(map(str, want)))
    for key, exact in want.items():
        row = got[key]
        assert row.counts == exact.counts, (key, row.counts, exact.counts)
        for indicator, *_ in ALL_PERCENTILES:
            a, b = row.percentiles[indicator], exact.percentiles[indicator]
            assert (a is None) == (b is None), (key, indicator, a, b)
            if b is not None:
                assert close_enough(indicator, a, b), (key, indicator, a, b)


@FAST
@given(
    specs=st.lists(ticket_spec(), max_size=40),
    group_by=st.lists(st.sampled_from(ROLLED_GROUPS), max_size=3, unique=True),
    period=st.sampled_from(PERIODS),
    county=st.booleans(),
)
def test_rollup_matches_the_live_query(
    db: Session,
    world: World,
    specs: list[dict[str, Any]],
    group_by: list[str],
    period: tuple[dt.datetime, dt.datetime],
    county: bool,
) -> None:
    savepoint = db.begin_nested()
    try:
        _history(db, world)
        ids = category_ids(db)
        tickets = [materialise(world, ids, s) for s in specs]
        insert_tickets(db, tickets, set(), world.reporter.user_id)
        rollup.rebuild(db, AS_OF, TZ)
        principal = admin()
        if county:  # an admin of Urumqi: the rows outside it are not theirs
            principal = admin(db.get(Region, world.urumqi).path, world.urumqi)
        scope = SummaryScope(principal, *period, TZ, tuple(group_by), as_of=AS_OF)
        assert rollup_summary.usable(db, scope) is not None
        assert_same(run_summary(db, scope), live_summary(db, scope))
    finally:
        savepoint.rollback()


def test_what_is_rolled_up_and_what_is_read_live(db: Session, world: World) -> None:
    hour = dt.timedelta(hours=1)
    ids = category_ids(db)
    base = {
        "community": "community_a",
        "category": "repair.plumbing",
        "reassigned": False,
        "unassigned": False,
        "respond_by": None,
        "resolve_by": None,
        "paused_seconds": 0,
        "rating": None,
        "reopen_count": 0,
        "followed_up": False,
    }
    jan = dt.datetime(2026, 1, 10, 2, tzinfo=dt.UTC)
    end_of_jan = dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC)
    specs = [
        # settled within its month
        {"created_at": jan, "status": "closed", "responded_at": jan + hour},
        # settled, but open at the end of January: a span
        {"created_at": end_of_jan, "status": "closed", "responded_at": end_of_jan + hour},
        # still open: pending
        {"created_at": jan, "status": "accepted", "responded_at": jan + hour},
    ]
    tickets = []
    for spec in specs:
        resolved = spec["created_at"] + 2 * 24 * hour if spec["status"] == "closed" else None
        updated = resolved or spec["created_at"] + hour
        full = {**base, **spec, "resolved_at": resolved, "updated_at": updated}
        tickets.append(materialise(world, ids, full))
    insert_tickets(db, tickets, set(), world.reporter.user_id)
    rollup.rebuild(db, AS_OF, TZ)
    # Every ticket is counted; the open one and the one open at January's end are
    # kept for backlog and overdue at a period's end; the open one is pending.
    assert db.scalar(select(func.sum(MetricsRollup.__table__.c.created))) == 3
    spans = dict(db.execute(select(MetricsSpan.ticket_id, MetricsSpan.ended)).all())
    assert set(spans) == {tickets[1]["id"], tickets[2]["id"]}
    assert spans[tickets[2]["id"]] is None
    assert list(db.scalars(select(MetricsPending.ticket_id))) == [tickets[2]["id"]]

    scope = SummaryScope(admin(), START, END, TZ, ("month",), as_of=AS_OF)
    rows = {row.key: row.counts for row in run_summary(db, scope)}
    assert rows[(0,)]["created"] == 3 and rows[(0,)]["backlog"] == 2  # at January's end
    assert_same(run_summary(db, scope), live_summary(db, scope))


def test_open_tickets_passing_a_deadline_are_rolled_up_again(db: Session, world: World) -> None:
    """An open ticket's response- and resolution-due counts move with the clock:
    the job re-rolls its slice once it passes a deadline, with no event."""
    ids = category_ids(db)
    created = AS_OF - dt.timedelta(hours=2)
    spec = {
        "community": "community_a",
        "category": "repair.plumbing",
        "reassigned": False,
        "unassigned": False,
        "created_at": created,
        "updated_at": created,
        "status": "assigned",
        "responded_at": None,
        "resolved_at": None,
        "respond_by": AS_OF + dt.timedelta(minutes=30),
        "resolve_by": AS_OF + dt.timedelta(hours=3),
        "paused_seconds": 0,
        "rating": None,
        "reopen_count": 0,
        "followed_up": False,
    }
    insert_tickets(db, [materialise(world, ids, spec)], set(), world.reporter.user_id)
    rollup.rebuild(db, AS_OF, TZ)
    june = dt.datetime(2026, 5, 31, 16, tzinfo=dt.UTC)  # in Shanghai
    second_quarter = dt.datetime(2026, 3, 31, 16, tzinfo=dt.UTC)  # read by quarter
    for hours, response_due, resolution_due in ((1, 1, 0), (4, 1, 1)):
        later = AS_OF + dt.timedelta(hours=hours)
        rollup.refresh(db, later, TZ)
        for start in (june, second_quarter):
            scope = SummaryScope(admin(), start, later, TZ, (), as_of=later)
            (row,) = run_summary(db, scope)
            assert row.counts["response_due_or_done"] == response_due
            assert row.counts["resolution_due_or_done"] == resolution_due
            assert row.counts["overdue_open"] == 1 and row.counts["backlog"] == 1
            assert_same(run_summary(db, scope), live_summary(db, scope))


def test_backlog_at_a_quarters_end_once_it_has_ended(db: Session, world: World) -> None:
    """By quarter, an ended quarter's backlog and overdue come from the quarterly
    rows, rolled up before the quarter ended or after: equal to live."""
    ids = category_ids(db)
    hour = dt.timedelta(hours=1)
    january = dt.datetime(2026, 1, 20, 2, tzinfo=dt.UTC)
    march = dt.datetime(2026, 3, 20, 2, tzinfo=dt.UTC)
    april = dt.datetime(2026, 4, 3, 2, tzinfo=dt.UTC)
    base = {
        "community": "community_a",
        "category": "repair.plumbing",
        "reassigned": False,
        "unassigned": False,
        "created_at": january,
        "paused_seconds": 0,
        "rating": None,
        "reopen_count": 0,
        "followed_up": False,
        "respond_by": january + hour,
        "resolve_by": january + 48 * hour,
        "responded_at": january + 2 * hour,  # late
    }
    february = dt.datetime(2026, 2, 3, 2, tzinfo=dt.UTC)
    specs = [
        # open since January; and one more filed in March, answered in time
        {"status": "in_progress", "resolved_at": None, "updated_at": january + 2 * hour},
        {
            "status": "accepted",
            "created_at": march,
            "respond_by": march + hour,
            "responded_at": march + hour / 2,
            "resolve_by": march + 24 * 30 * hour,
            "resolved_at": None,
            "updated_at": march + hour / 2,
        },
        # ended after January's end, before the quarter's: a span, not in its backlog
        {"status": "resolved", "resolved_at": february, "updated_at": february},
        {"status": "resolved", "resolved_at": january + 3 * hour, "updated_at": january},
    ]
    tickets = [materialise(world, ids, {**base, **spec}) for spec in specs]
    insert_tickets(db, tickets, set(), world.reporter.user_id)
    first_half = (START, END)  # January to June in Shanghai: Q1 and Q2
    rollup.rebuild(db, march + 2 * hour, TZ)  # before the quarter's end
    for now in (april, april + hour):  # runs after it, with no change to the tickets
        rollup.refresh(db, now, TZ)
        for group_by in (("quarter",), ("organization", "quarter"), ()):
            scope = SummaryScope(admin(), *first_half, TZ, group_by, as_of=now)
            assert_same(run_summary(db, scope), live_summary(db, scope))
        scope = SummaryScope(admin(), *first_half, TZ, ("quarter",), as_of=now)
        rows = {row.key: row.counts for row in run_summary(db, scope)}
        assert rows[(0,)]["backlog"] == 2 and rows[(0,)]["overdue_open"] == 1
    rollup.rebuild(db, april, TZ)  # a rebuild after the quarter's end, too
    assert_same(run_summary(db, scope), live_summary(db, scope))


def test_when_the_live_query_answers(db: Session, world: World) -> None:
    scope = SummaryScope(admin(), START, END, TZ, ("organization",), as_of=AS_OF)
    assert rollup_summary.usable(db, scope) is None  # never rolled up
    rollup.rebuild(db, AS_OF, TZ)
    assert rollup_summary.usable(db, scope) is not None
    mid_month = START + dt.timedelta(days=3)
    for changed in (
        SummaryScope(admin(), START, END, TZ, ("community",), as_of=AS_OF),
        SummaryScope(admin(), START, END, TZ, (), community_id=world.community_a, as_of=AS_OF),
        SummaryScope(admin(), mid_month, END, TZ, (), as_of=AS_OF),
        SummaryScope(admin(), START, AS_OF - dt.timedelta(days=2), TZ, (), as_of=AS_OF),
        SummaryScope(admin(), START, END, "Asia/Urumqi", (), as_of=AS_OF),
        SummaryScope(admin(), START, END, TZ, (), as_of=AS_OF - dt.timedelta(hours=1)),
    ):
        assert rollup_summary.usable(db, changed) is None, changed


def test_the_job_keeps_up_with_changes(client: TestClient, db: Session, world: World) -> None:
    """Tickets filed and worked through the API: after each run of the job the
    rollup's figures are the live ones (the job re-rolls the changed slices)."""
    assert "metrics.rollup" in JOBS  # registered by its module (imported above)
    w = world

    def act(ticket: dict[str, Any], action: str, actor: Any, body: Any = None) -> None:
        response = client.post(
            f"/v1/tickets/{ticket['id']}/{action}", json=body, headers=actor.headers
        )
        assert response.status_code == 200, response.text

    def check() -> None:
        now = utcnow()
        rollup.refresh(db, now, TZ)
        local = now.astimezone(ZoneInfo(TZ)).date().replace(day=1)
        start = local_midnight(local, TZ)
        later = utcnow() + dt.timedelta(seconds=1)
        for group_by in ((), ("organization", "month"), ("category",)):
            scope = SummaryScope(admin(), start, later, TZ, group_by, as_of=later)
            assert rollup_summary.usable(db, scope) is not None
            assert_same(run_summary(db, scope), live_summary(db, scope))

    tickets = [file_ticket(client, w.reporter, w.community_a) for _ in range(4)]
    check()  # the first run rolls everything up
    for ticket in tickets[:3]:
        act(ticket, "accept", w.dispatcher)
        act(ticket, "start", w.technician)
        act(ticket, "resolve", w.technician, {"note": "done"})
    act(tickets[3], "cancel", w.reporter)
    check()
    act(tickets[0], "confirm", w.reporter, {"rating": 2})
    act(tickets[1], "reopen", w.reporter, {"reason": "又漏了"})
    new = file_ticket(client, w.reporter, w.community_a)
    # Before the job runs again, new tickets are read live; settled ones not yet.
    check()
    act(new, "accept", w.dispatcher)
    check()
    rows = live_summary(
        db, SummaryScope(admin(), START, utcnow() + dt.timedelta(seconds=1), TZ, ())
    )
    assert rows[0].counts["created"] >= 5 and rows[0].counts["rated"] >= 1


@pytest.mark.parametrize("seed", range(20))
def test_histogram_percentiles_within_the_bound(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.choice([1, 2, 3, 10, 100, 1000])
    scale = rng.choice([30.0, 600.0, 7200.0, 86400.0, 10 * 86400.0])
    values = sorted(rng.expovariate(1 / scale) for _ in range(n))
    histogram = [0] * len(EDGES + (0,))
    for value in values:
        histogram[bucket_index(value)] += 1
    for fraction in (0.0, 0.1, 0.5, 0.9, 1.0):
        rank = fraction * (n - 1)
        low = int(rank)
        exact = values[low] + (rank - low) * (values[min(low + 1, n - 1)] - values[low])
        approx = percentile(histogram, fraction)
        assert approx is not None
        assert abs(approx - exact) <= 0.25 * exact + 60 + 1e-9, (fraction, approx, exact)
    assert percentile([0] * len(histogram), 0.5) is None


def test_sql_buckets_agree_with_python(db: Session) -> None:
    from sqlalchemy import literal

    probes = [0.0, 59.9, 60.0, 74.9, 75.0, 3600.0, 86400.0 * 3, 1e9, -5.0]
    for value in probes:
        got = db.scalar(select(bucket_sql(literal(value))))
        assert got == bucket_index(value), value
    lows = [bucket_range(i)[0] for i in range(len(EDGES) + 1)]
    assert lows == sorted(lows) and bucket_range(1) == (60.0, 75.0)
    assert set(COUNTS) >= set(ROLLUP_COUNTS)
