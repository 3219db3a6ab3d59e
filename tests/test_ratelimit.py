"""The shared per-principal rate limiter (service/ratelimit, issue 17): ticket
creation per hour, the reusable `limit`, the purge job, and the race between
instances (real connections, real commits)."""

from __future__ import annotations

import datetime as dt
import itertools
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.errors import TooManyRequests
from service.ratelimit import jobs as ratelimit_jobs
from service.ratelimit import limit, window_end
from service.ratelimit.models import RateLimitWindow
from service.tickets.models import Ticket
from tests.conftest import BACKEND
from tests.feed.live import live_linli

PROBLEM_JSON = "application/problem+json"
_n = itertools.count(1)


def _body(world, actor):
    body = {
        "category": "repair.plumbing",
        "community_id": world.community_a,
        "description": f"水管漏水 第{next(_n)}处",
    }
    if actor.claims["role"] != "resident":
        body["on_behalf_of"] = {"name": "阿依古丽", "phone": "13900000001"}
    return body


@pytest.fixture
def quota(client):
    """Set the app's ticket quotas for one test."""
    settings = client.app.state.settings
    saved = settings.tickets_per_hour, settings.tickets_per_hour_api_key

    def set_(people: int, api_keys: int = 600) -> None:
        settings.tickets_per_hour, settings.tickets_per_hour_api_key = people, api_keys

    yield set_
    settings.tickets_per_hour, settings.tickets_per_hour_api_key = saved


def test_windows_are_aligned_on_the_epoch():
    hour = dt.timedelta(hours=1)
    at = dt.datetime(2026, 12, 1, 8, 59, 59, 999000, tzinfo=dt.UTC)
    assert window_end(at, hour) == dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
    assert window_end(at.replace(minute=0, second=0, microsecond=0), hour) == dt.datetime(
        2026, 12, 1, 9, tzinfo=dt.UTC
    )
    assert window_end(at, dt.timedelta(minutes=10)) == dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)


def test_creation_beyond_the_hourly_quota_is_429_and_files_nothing(client, world, db, quota):
    quota(2)
    for _ in range(2):
        made = client.post(
            "/v1/tickets", json=_body(world, world.reporter), headers=world.reporter.headers
        )
        assert made.status_code == 201, made.text
    before = db.scalar(select(func.count()).select_from(Ticket))

    refused = client.post(
        "/v1/tickets", json=_body(world, world.reporter), headers=world.reporter.headers
    )

    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert refused.json()["status"] == 429
    assert db.scalar(select(func.count()).select_from(Ticket)) == before
    # The refusal rolled back its own hit: the window still counts two.
    assert db.scalar(select(RateLimitWindow.count)) == 2
    # Someone else still files.
    other = client.post(
        "/v1/tickets", json=_body(world, world.neighbour), headers=world.neighbour.headers
    )
    assert other.status_code == 201, other.text


def test_an_api_key_has_a_quota_of_its_own(client, world, quota):
    quota(1, api_keys=3)
    created = client.post(
        f"/v1/organizations/{world.company}/api-keys",
        json={"name": "呼叫中心"},
        headers=world.dispatcher.headers,
    )
    assert created.status_code == 201, created.text
    key = SimpleNamespace(
        headers={"Authorization": f"Bearer {created.json()['key']}"},
        claims={"role": "provider_staff"},
    )
    statuses = [
        client.post("/v1/tickets", json=_body(world, key), headers=key.headers).status_code
        for _ in range(4)
    ]
    assert statuses == [201, 201, 201, 429]


def test_a_quota_of_zero_is_no_limit(client, world, db, quota):
    quota(0)
    for _ in range(3):
        made = client.post(
            "/v1/tickets", json=_body(world, world.reporter), headers=world.reporter.headers
        )
        assert made.status_code == 201
    assert db.scalar(select(func.count()).select_from(RateLimitWindow)) == 0


def test_limit_is_reusable_for_other_writes(db):
    window = dt.timedelta(minutes=5)
    limit(db, "uploads:user:1", 2, window)
    limit(db, "uploads:user:1", 2, window)
    limit(db, "uploads:user:2", 2, window)
    with pytest.raises(TooManyRequests) as refused:
        limit(db, "uploads:user:1", 2, window)
    assert 1 <= refused.value.retry_after <= 300
    assert refused.value.code == "ratelimit.requests"
    assert "At most 2 requests in 5 minutes" in str(refused.value)


def test_the_purge_job_deletes_ended_windows(connection, db):
    now = dt.datetime.now(dt.UTC)
    db.add_all(
        [
            RateLimitWindow(key="tickets:user:1", window_end=now - dt.timedelta(hours=1), count=3),
            RateLimitWindow(
                key="tickets:user:1", window_end=now + dt.timedelta(minutes=5), count=1
            ),
        ]
    )
    db.flush()
    context = SimpleNamespace(
        now=now, session=lambda: Session(bind=connection, join_transaction_mode="create_savepoint")
    )

    assert ratelimit_jobs.purge(context) == 1
    assert db.scalars(select(RateLimitWindow.count)).all() == [1]


def test_parallel_creations_never_pass_the_quota():
    """Real connections committing for real: on PostgreSQL the UPSERT's row lock
    orders them; on SQLite the write lock does."""
    with live_linli("linli_quota", tickets_per_hour=3) as live:
        http, world = live.http, live.world
        bodies = [_body_live(world, i) for i in range(12)]
        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = list(
                pool.map(
                    lambda body: (
                        http.post(
                            "/v1/tickets", json=body, headers=world.reporter.headers
                        ).status_code
                    ),
                    bodies,
                )
            )
        mine = http.get("/v1/tickets", params={"limit": 50}, headers=world.reporter.headers)
    assert sorted(statuses) == [201] * 3 + [429] * 9, (BACKEND, statuses)
    assert len(mine.json()["items"]) == 3


def _body_live(world, i):
    return {
        "category": "repair.plumbing",
        "community_id": world.community_a,
        "description": f"并发报修 {i}",
    }
