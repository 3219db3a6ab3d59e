"""The three-year action's settings, the rankings and the trend against targets."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.metrics.action import composite, score_parts
from service.metrics.schemas import RankingWeights
from tests.conftest import World
from tests.metrics.helpers import category_ids, insert_tickets
from tests.metrics.test_summary import materialise

H = dt.timedelta(hours=1)


def _ticket(community: str, created: dt.datetime, *, late: bool, rating: int | None) -> dict:
    respond = created + (3 * H if late else 0.5 * H)
    return {
        "community": community,
        "category": "repair.plumbing",
        "reassigned": False,
        "unassigned": False,
        "created_at": created,
        "updated_at": respond + 5 * H,
        "status": "closed",
        "respond_by": created + 2 * H,
        "resolve_by": created + 4 * H,
        "responded_at": respond,
        "resolved_at": respond + 2 * H,
        "paused_seconds": 0,
        "rating": rating,
        "reopen_count": 0,
        "followed_up": not late,
    }


def _load(db: Session, world: World) -> None:
    """company (community_a) is prompt and liked; other_company (community_k) is not."""
    ids = category_ids(db)
    specs = []
    for i in range(6):
        created = dt.datetime(2026, 1, 5, 2, tzinfo=dt.UTC) + dt.timedelta(days=15 * i)
        specs.append(_ticket("community_a", created, late=False, rating=5))
        specs.append(_ticket("community_k", created, late=True, rating=2))
    insert_tickets(db, [materialise(world, ids, s) for s in specs], set(), world.reporter.user_id)
    db.commit()


def test_null_fields_keep_their_value(client: TestClient, world: World) -> None:
    # Found by the fuzzer: an explicit null used to reach the settings (a 500).
    body = {"start_on": None, "weights": None, "targets": None, "years": None, "min_tickets": 40}
    put = client.put("/v1/metrics/action", json=body, headers=world.province_admin.headers)
    assert put.status_code == 200, put.text
    got = put.json()
    assert got["min_tickets"] == 40 and got["start_on"] == "2024-01-01" and got["years"] == 3
    assert got["weights"]["satisfaction_rate"] == 0.25


def test_action_defaults_and_who_may_change_them(client: TestClient, world: World) -> None:
    got = client.get("/v1/metrics/action", headers=world.dispatcher.headers)
    assert got.status_code == 200
    assert got.json()["years"] == 3 and got.json()["targets"]["satisfaction_rate"] == [
        0.8,
        0.85,
        0.9,
    ]
    body = {
        "start_on": "2026-01-01",
        "min_tickets": 3,
        "targets": {"satisfaction_rate": [0.7, 0.8, 0.9]},
    }
    for actor, status in ((world.admin, 403), (world.dispatcher, 403), (world.reporter, 403)):
        response = client.put("/v1/metrics/action", json=body, headers=actor.headers)
        assert response.status_code == status, response.text
    response = client.put("/v1/metrics/action", json=body, headers=world.province_admin.headers)
    assert response.status_code == 200, response.text
    after = client.get("/v1/metrics/action", headers=world.admin.headers).json()
    assert after["start_on"] == "2026-01-01" and after["min_tickets"] == 3
    assert after["targets"]["satisfaction_rate"] == [0.7, 0.8, 0.9]
    assert after["targets"]["response_on_time_rate"] == [0.85, 0.9, 0.95]  # kept
    for bad in (
        {"targets": {"satisfaction_rate": [1.5]}},
        {"targets": {"happiness": [0.5]}},
        {"targets": {"reopen_rate": [0.1, 0.1, 0.1, 0.1]}},
        {"red_list_min_score": 50, "black_list_max_score": 70},
        {"years": 0},
        {"weights": {"luck": 1}},
    ):
        response = client.put("/v1/metrics/action", json=bad, headers=world.province_admin.headers)
        assert response.status_code == 422, (bad, response.text)


def test_rankings_order_and_lists(client: TestClient, db: Session, world: World) -> None:
    _load(db, world)
    client.put("/v1/metrics/action", json={"min_tickets": 3}, headers=world.province_admin.headers)
    response = client.get(
        "/v1/metrics/rankings",
        params={"from": "2026-01-01", "to": "2026-07-01"},
        headers=world.province_admin.headers,
    )
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert [r["organization"]["id"] for r in rows] == [world.company, world.other_company]
    first, last = rows
    assert (first["rank"], first["list"], last["rank"], last["list"]) == (1, "red", 2, "black")
    # The score is the weighted mean of the parts, as documented.
    weights = RankingWeights()
    parts = score_parts(first["indicators"], _Action())
    assert first["score"] == composite(parts, weights)
    assert first["indicators"]["satisfaction_rate"] == 1.0
    assert last["indicators"]["response_on_time_rate"] == 0.0
    # A county admin ranks only what their county holds.
    county = client.get(
        "/v1/metrics/rankings",
        params={"from": "2026-01-01", "to": "2026-07-01"},
        headers=world.other_admin.headers,
    ).json()["rows"]
    assert [r["organization"]["id"] for r in county] == [world.other_company]
    # Below min_tickets: listed without rank or score.
    client.put(
        "/v1/metrics/action", json={"min_tickets": 100}, headers=world.province_admin.headers
    )
    rows = client.get(
        "/v1/metrics/rankings",
        params={"from": "2026-01-01", "to": "2026-07-01"},
        headers=world.province_admin.headers,
    ).json()["rows"]
    assert all(r["rank"] is None and r["score"] is None and r["list"] is None for r in rows)


class _Action:
    complaints_ceiling = 50.0


def test_trend_against_targets(client: TestClient, db: Session, world: World) -> None:
    _load(db, world)
    client.put(
        "/v1/metrics/action",
        json={"start_on": "2026-01-01", "targets": {"satisfaction_rate": [0.75, 0.8, 0.9]}},
        headers=world.province_admin.headers,
    )
    response = client.get(
        "/v1/metrics/trend",
        params={"region_id": world.tianshan},
        headers=world.province_admin.headers,
    )
    assert response.status_code == 200, response.text
    series = {s["indicator"]: s for s in response.json()["series"]}
    points = series["satisfaction_rate"]["points"]
    assert points[0]["quarter"] == "2026Q1" and points[0]["year_of_action"] == 1
    assert points[0]["value"] == 1.0 and points[0]["target"] == 0.75 and points[0]["met"] is True
    # The trend's values are the summary's, quarter by quarter.
    summary = client.get(
        "/v1/metrics/summary",
        params={
            "from": "2026-01-01",
            "to": "2026-07-01",
            "group_by": "quarter",
            "region_id": world.kashi_city,
        },
        headers=world.province_admin.headers,
    ).json()["rows"]
    kashi = client.get(
        "/v1/metrics/trend",
        params={"region_id": world.kashi_city},
        headers=world.province_admin.headers,
    ).json()
    kashi_points = {
        p["quarter"]: p
        for s in kashi["series"]
        if s["indicator"] == "satisfaction_rate"
        for p in s["points"]
    }
    for row in summary:
        assert kashi_points[row["group"]["quarter"]]["value"] == row["satisfaction_rate"]
        assert kashi_points[row["group"]["quarter"]]["met"] is False
    # A community's trend; another county's community is 404.
    assert (
        client.get(
            "/v1/metrics/trend",
            params={"community_id": world.community_a},
            headers=world.admin.headers,
        ).status_code
        == 200
    )
    assert (
        client.get(
            "/v1/metrics/trend",
            params={"community_id": world.community_k},
            headers=world.admin.headers,
        ).status_code
        == 404
    )
    xlsx = client.get(
        "/v1/metrics/trend",
        params={"format": "csv", "lang": "zh"},
        headers=world.province_admin.headers,
    )
    assert xlsx.status_code == 200 and "是否达标" in xlsx.content.decode("utf-8-sig")
