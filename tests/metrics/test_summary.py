"""The SQL indicators against a plain Python computation over the same rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from service.directory.models import Community, ProviderAssignment
from service.metrics.engine import summarise
from service.metrics.indicators import INDICATORS
from service.metrics.tickets import GROUPS, SummaryScope
from tests.conftest import World
from tests.metrics.helpers import (
    admin,
    category_ids,
    households_function,
    insert_tickets,
    region_groups,
)
from tests.metrics.reference import reference

TZ = "Asia/Shanghai"
# 2026-01-01 00:00 in Shanghai; tickets over five months, looked at on 30 June.
START = dt.datetime(2025, 12, 31, 16, tzinfo=dt.UTC)
END = dt.datetime(2026, 6, 30, 16, tzinfo=dt.UTC)
AS_OF = dt.datetime(2026, 6, 20, 4, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
COMMUNITIES = ("community_a", "community_b", "community_c", "community_k")


@st.composite
def ticket_spec(draw: Any) -> dict[str, Any]:
    """One ticket's history, consistent with the lifecycle."""
    created = START - dt.timedelta(days=3) + draw(st.integers(0, 165 * 24 * 60)) * MINUTE
    status = draw(
        st.sampled_from(
            [
                "submitted",
                "assigned",
                "accepted",
                "in_progress",
                "on_hold",
                "resolved",
                "closed",
                "closed",
                "cancelled",
                "rejected",
            ]
        )
    )
    respond_in = draw(st.integers(1, 3 * 24 * 60)) * MINUTE
    resolve_in = respond_in + draw(st.integers(0, 12 * 24 * 60)) * MINUTE
    responded = status not in ("submitted", "assigned", "rejected") and not (
        status == "cancelled" and draw(st.booleans())
    )
    resolved = status in ("resolved", "closed")
    paused = draw(st.sampled_from([0, 0, 600, 3600, 86400, 3 * 86400]))
    if not (resolved or status in ("in_progress", "on_hold")):
        paused = 0
    reopen_count = (
        draw(st.sampled_from([0, 0, 0, 1, 2]))
        if status in ("in_progress", "on_hold", "resolved", "closed")
        else 0
    )
    ended = created + resolve_in + dt.timedelta(seconds=paused)
    respond_by = draw(st.sampled_from([None, 30, 120, 24 * 60]))
    resolve_by = draw(st.sampled_from([None, 4 * 60, 24 * 60, 3 * 24 * 60]))
    cancelled_at = created + draw(st.integers(1, 5 * 24 * 60)) * MINUTE
    category = draw(
        st.sampled_from(
            [
                "repair.plumbing",
                "repair.heating",
                "elderly.meal",
                "elderly.visit",
                "elderly.emergency",
                "complaint.fees",
            ]
        )
    )
    care: dict[str, Any] = {}
    if category.startswith("elderly."):
        care["elder"] = draw(st.sampled_from([None, 0, 1, 2]))
    if category in ("elderly.meal", "elderly.visit") and draw(st.booleans()):
        # A care plan's visit: made up to two days ahead of when it is due,
        # checked in (early, on time, late, never), perhaps marked missed.
        scheduled = created + draw(st.integers(0, 2 * 24 * 60)) * MINUTE
        began = status in ("in_progress", "on_hold", "resolved", "closed")
        arrived = scheduled + draw(st.sampled_from([-20, 0, 29, 30, 31, 90, 24 * 60])) * MINUTE
        missed = scheduled + 30 * MINUTE
        care.update(
            scheduled_for=scheduled,
            checked_in_at=arrived if began else None,
            visit_missed_at=missed if (not began or arrived > missed) and missed <= AS_OF else None,
            government_share_percent=draw(st.sampled_from([None, 0, 0, 30, 100])),
        )
    return {
        **care,
        "community": draw(st.sampled_from(COMMUNITIES)),
        "category": category,
        "reassigned": draw(st.booleans()),
        "unassigned": status == "submitted" or draw(st.integers(0, 9)) == 0,
        "created_at": created,
        "status": status,
        "respond_by": None if respond_by is None else created + respond_by * MINUTE,
        "resolve_by": None if resolve_by is None else created + resolve_by * MINUTE,
        "responded_at": created + respond_in if responded else None,
        "resolved_at": ended if resolved else None,
        "paused_seconds": paused,
        "rating": draw(st.one_of(st.none(), st.integers(1, 5))) if status == "closed" else None,
        "reopen_count": reopen_count,
        "followed_up": resolved and draw(st.booleans()),
        "updated_at": cancelled_at if status in ("cancelled", "rejected") else ended,
    }


def materialise(world: World, ids: dict[str, tuple[int, str]], spec: dict[str, Any]) -> dict:
    category_id, kind = ids[spec["category"]]
    community_id = world.ids[spec["community"]]
    if kind == "elderly_care":
        organization, other = world.care, None
    elif spec["community"] == "community_k":
        organization, other = world.other_company, world.company
    else:
        organization, other = world.company, world.other_company
    if spec["reassigned"] and other is not None:
        organization = other  # an admin re-assigned it: it counts for the new one
    if spec["unassigned"]:
        organization = None
    return {
        **spec,
        "community_id": community_id,
        "category_id": category_id,
        "kind": kind,
        "organization_id": organization,
    }


def _history(db: Session, world: World) -> None:
    """Past service: other_company served community_k, and company community_a,
    in the first quarter only; both are history rows now."""
    db.execute(
        insert(ProviderAssignment.__table__),
        [
            {
                "community_id": world.community_k,
                "kind": "property",
                "organization_id": world.company,
                "since_on": dt.date(2025, 6, 1),
                "until_on": dt.date(2026, 3, 1),
                "current": None,
            },
            {
                "community_id": world.community_a,
                "kind": "property",
                "organization_id": world.other_company,
                "since_on": dt.date(2026, 1, 1),
                "until_on": dt.date(2026, 2, 1),
                "current": None,
            },
        ],
    )


def _compare(
    db: Session,
    world: World,
    tickets: list[dict[str, Any]],
    followed: set[int],
    group_by: tuple[str, ...],
    start: dt.datetime = START,
    end: dt.datetime = END,
) -> None:
    scope = SummaryScope(
        principal=admin(),
        start=start,
        end=end,
        timezone=TZ,
        group_by=group_by,
        as_of=AS_OF,
    )
    got_rows = summarise(db, scope)
    level = "prefecture"
    communities = set(db.scalars(select(Community.id)))
    expected = reference(
        tickets,
        followed,
        start=start,
        end=end,
        as_of=AS_OF,
        group_by=group_by,
        region_of=region_groups(db, level),
        households_of=households_function(db, start, end, communities),
        timezone=TZ,
        emergency_category=category_ids(db)["elderly.emergency"][0],
    )
    got = {}
    for row in got_rows:
        key = []
        for name in group_by:
            value = row["group"][name]
            if isinstance(value, dict):
                value = value.get("id") if "id" in value else None
            key.append(value)
        got[tuple(key)] = row
    if not group_by and not expected:
        assert [r["created"] for r in got_rows] == [0]
        return
    if "category" in group_by:
        got = {}
        for row in got_rows:
            key = []
            for name in group_by:
                value = row["group"][name]
                if name == "category":
                    value = category_ids(db)[value["code"]][0]
                elif isinstance(value, dict):
                    value = value["id"]
                key.append(value)
            got[tuple(key)] = row
    assert set(got) == set(expected), (sorted(map(str, got)), sorted(map(str, expected)))
    for key, want in expected.items():
        row = got[key]
        for indicator in INDICATORS:
            a, b = row[indicator.name], want[indicator.name]
            if b is None or a is None:
                assert a is None and b is None, (key, indicator.name, a, b)
            else:
                assert a == pytest.approx(b, rel=1e-5, abs=1e-4), (key, indicator.name, a, b)


FAST = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FAST
@given(
    specs=st.lists(ticket_spec(), max_size=40),
    group_by=st.lists(st.sampled_from(GROUPS), max_size=3, unique=True),
)
def test_indicators_match_python(
    db: Session, world: World, specs: list[dict[str, Any]], group_by: list[str]
) -> None:
    savepoint = db.begin_nested()
    try:
        _history(db, world)
        ids = category_ids(db)
        tickets = [materialise(world, ids, s) for s in specs]
        followed: set[int] = set()
        insert_tickets(db, tickets, followed, world.reporter.user_id)
        _compare(db, world, tickets, followed, tuple(group_by))
    finally:
        savepoint.rollback()


def _tickets(world: World, db: Session, n: int, **changes: Any) -> list[dict[str, Any]]:
    ids = category_ids(db)
    base = {
        "community": "community_a",
        "category": "repair.plumbing",
        "reassigned": False,
        "unassigned": False,
        "status": "closed",
        "respond_by": None,
        "resolve_by": None,
        "responded_at": None,
        "resolved_at": None,
        "paused_seconds": 0,
        "rating": None,
        "reopen_count": 0,
        "followed_up": False,
    }
    out = []
    for i in range(n):
        created = START + dt.timedelta(days=10 + i)
        spec = {**base, "created_at": created, "updated_at": created + dt.timedelta(hours=5)}
        spec.update({k: (v(created) if callable(v) else v) for k, v in changes.items()})
        out.append(materialise(world, ids, spec))
    return out


@pytest.mark.parametrize("group_by", [(), ("organization", "quarter"), ("kind", "month")])
def test_edge_cases(db: Session, world: World, group_by: tuple[str, ...]) -> None:
    followed: set[int] = set()
    hour = dt.timedelta(hours=1)
    tickets = (
        # closed without any rating: satisfaction has nothing to divide by
        _tickets(
            world,
            db,
            3,
            responded_at=lambda c: c + hour,
            resolved_at=lambda c: c + 5 * hour,
            respond_by=lambda c: c + 2 * hour,
            resolve_by=lambda c: c + 4 * hour,
            paused_seconds=3600,  # on time only because the hour on hold is excluded
        )
        # all cancelled in another community
        + _tickets(world, db, 4, community="community_c", status="cancelled")
        # reopened and resolved again, reassigned to the other company
        + _tickets(
            world,
            db,
            2,
            community="community_b",
            status="resolved",
            reassigned=True,
            reopen_count=1,
            responded_at=lambda c: c + hour,
            resolved_at=lambda c: c + 30 * hour,
        )
    )
    insert_tickets(db, tickets, followed, world.reporter.user_id)
    _compare(db, world, tickets, followed, group_by)
    rows = summarise(db, SummaryScope(admin(), START, END, TZ, ("community",), as_of=AS_OF))
    by_community = {r["group"]["community"]["id"]: r for r in rows}
    a, b, c = (by_community[world.ids[k]] for k in ("community_a", "community_b", "community_c"))
    assert a["satisfaction_rate"] is None and a["rating_coverage"] == 0.0
    assert a["resolution_on_time_rate"] == 1.0
    assert c["completion_rate"] is None and c["created"] == 4
    assert b["reopen_rate"] == 1.0


def test_reassigned_tickets_count_for_the_new_organisation(db: Session, world: World) -> None:
    tickets = _tickets(world, db, 3, reassigned=True, status="assigned")
    insert_tickets(db, tickets, set(), world.reporter.user_id)
    rows = summarise(db, SummaryScope(admin(), START, END, TZ, ("organization",), as_of=AS_OF))
    assert {r["group"]["organization"]["id"]: r["created"] for r in rows} == {
        world.other_company: 3
    }


def test_no_tickets_gives_one_empty_row(db: Session, world: World) -> None:
    rows = summarise(db, SummaryScope(admin(), START, END, TZ, (), as_of=AS_OF))
    assert len(rows) == 1 and rows[0]["created"] == 0
    assert rows[0]["completion_rate"] is None and rows[0]["response_minutes_p50"] is None
