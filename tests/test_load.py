"""Under load Linli degrades, never wedges.

The deadlock: requests kept a pooled connection after the token lookup while
they waited for a worker thread, and every thread waited for a connection.
These tests make it quick with a pool of two connections and four threads,
and give the requests less time than the pool's timeout: a wedge fails them.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from service import auth
from service.auth import mint_token
from service.config import Settings
from service.db import make_engine, run_in_request_thread
from service.main import create_app
from service.middleware import Admission
from service.tickets.models import Ticket
from tests.conftest import BACKEND, TEST_SECRET, World, build_world

# Shorter than the pool's timeout below: a request that waited for the pool
# to give up was wedged, however it ended.
ANSWER_WITHIN = 8.0
POOL_TIMEOUT = 10.0


@pytest.fixture
def small(live_engine: Engine) -> Iterator[tuple[Settings, Any, World]]:
    """An app on its own database with two pooled connections and no load
    shedding (the order of resources alone must keep it alive)."""
    settings = Settings(
        database_url=live_engine.url.render_as_string(hide_password=False),
        jwt_secret=TEST_SECRET,
        env="dev",
        db_pool_size=2,
        db_max_overflow=0,
        db_pool_timeout_seconds=POOL_TIMEOUT,
        max_requests_in_flight=0,
    )
    engine = make_engine(settings)
    app = create_app(settings, engine)
    with TestClient(app) as http:
        world = build_world(http, settings)
    yield settings, app, world
    engine.dispose()


def fresh_token(settings: Settings, claims: dict[str, Any], sub: str, n: int) -> str:
    """A token the principal cache has not seen, of a user that exists."""
    return mint_token(settings, sub=sub, name=sub, nonce=n, **claims)


def phoned_in(world: World, n: int) -> dict[str, Any]:
    """A report a dispatcher files for a resident who phoned."""
    return {
        "category": "repair.plumbing",
        "community_id": world.community_a,
        "description": f"电话报修 {n}",
        "on_behalf_of": {"name": "阿依古丽", "phone": "13900000001"},
        "channel": "phone",
    }


def run_with_threads(threads: int, main: Callable[[], Awaitable[Any]]) -> Any:
    async def limited() -> Any:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        return await main()

    return asyncio.run(limited())


async def gather_within(seconds: float, *calls: Awaitable[httpx.Response]) -> list[Any]:
    return list(await asyncio.wait_for(asyncio.gather(*calls), seconds))


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://linli")


def test_token_lookups_at_once_do_not_wedge_the_pool(
    small: tuple[Settings, Any, World],
) -> None:
    settings, app, world = small
    actors = [world.dispatcher, world.reporter, world.admin, world.other_dispatcher]

    async def main() -> list[httpx.Response]:
        async with client_for(app) as client:
            calls = []
            for n in range(40):
                actor = actors[n % len(actors)]
                claims = dict(actor.claims)
                role = claims.pop("role")
                claims.pop("phone", None)
                token = fresh_token(settings, {"role": role, **claims}, f"user-{actor.name}", n)
                calls.append(
                    client.get("/v1/tickets", headers={"Authorization": f"Bearer {token}"})
                )
            return await gather_within(ANSWER_WITHIN, *calls)

    answers = run_with_threads(4, main)
    assert [a.status_code for a in answers] == [200] * 40


def test_writes_to_tickets_at_once_do_not_wedge_the_pool(
    small: tuple[Settings, Any, World],
) -> None:
    """Creations and comments with new tokens: the ticket a comment names was
    loaded by a dependency in a thread of its own, and kept its connection while
    the endpoint waited for another thread."""
    settings, app, world = small
    with TestClient(app) as http:
        ticket = http.post(
            "/v1/tickets",
            json={
                "category": "repair.plumbing",
                "community_id": world.community_a,
                "description": "水管爆裂",
            },
            headers=world.reporter.headers,
        ).json()

    def headers(n: int) -> dict[str, str]:
        claims = {
            "role": "provider_staff",
            "organization_id": world.company,
            "org_role": "dispatcher",
        }
        return {"Authorization": f"Bearer {fresh_token(settings, claims, 'user-dispatcher', n)}"}

    async def main() -> list[httpx.Response]:
        async with client_for(app) as client:
            calls = []
            for n in range(30):
                if n % 2:
                    calls.append(
                        client.post(
                            f"/v1/tickets/{ticket['id']}/comments",
                            json={"body": f"在路上 {n}", "internal": True},
                            headers=headers(n),
                        )
                    )
                else:
                    calls.append(
                        client.post("/v1/tickets", json=phoned_in(world, n), headers=headers(n))
                    )
            return await gather_within(ANSWER_WITHIN, *calls)

    answers = run_with_threads(4, main)
    assert [a.status_code for a in answers] == [201] * 30, [a.text for a in answers][:3]


@pytest.mark.skipif(BACKEND != "postgres", reason="filing on the event loop: PostgreSQL only")
def test_creations_on_the_event_loop_do_not_wedge_the_pools(
    small: tuple[Settings, Any, World],
) -> None:
    """Creations with new tokens, filed on the event loop (service.db.on_loop): each
    looks its principal up in a worker thread (two threads, two connections) and
    files on the loop's own pool (two connections), and holds a connection of
    neither while it waits for the other."""
    settings, _app, world = small
    settings = settings.model_copy(update={"db_loop_pool_size": 2})
    engine = make_engine(settings)
    claims = {"role": "provider_staff", "organization_id": world.company, "org_role": "dispatcher"}

    def file(http: TestClient, n: int) -> int:
        token = fresh_token(settings, claims, "user-dispatcher", n)
        response = http.post(
            "/v1/tickets", json=phoned_in(world, n), headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code

    try:
        with TestClient(create_app(settings, engine)) as http, ThreadPoolExecutor(30) as pool:
            assert http.app.state.loop_sessions is not None  # type: ignore[attr-defined]
            started = time.monotonic()
            statuses = list(pool.map(functools.partial(file, http), range(30)))
            assert time.monotonic() - started < ANSWER_WITHIN
    finally:
        engine.dispose()
    assert statuses == [201] * 30


def test_an_expired_principal_is_looked_up_once(
    small: tuple[Settings, Any, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fifty requests with a token not seen yet: one lookup. Once its entry goes
    stale: one lookup again, and nobody waits for it."""
    settings, app, world = small
    lookups = []
    real = auth.authenticate

    def counted(*args: Any, **kwargs: Any) -> Any:
        lookups.append(1)
        time.sleep(0.05)  # long enough for the others to arrive meanwhile
        return real(*args, **kwargs)

    monkeypatch.setattr(auth, "authenticate", counted)
    token = fresh_token(
        settings,
        {"role": "provider_staff", "organization_id": world.company, "org_role": "dispatcher"},
        "user-dispatcher",
        0,
    )
    cache: auth.PrincipalCache = app.state.principals

    async def burst() -> list[httpx.Response]:
        async with client_for(app) as client:
            return await gather_within(
                ANSWER_WITHIN,
                *[
                    client.get("/v1/tickets", headers={"Authorization": f"Bearer {token}"})
                    for _ in range(50)
                ],
            )

    answers = run_with_threads(8, burst)
    assert [a.status_code for a in answers] == [200] * 50
    assert len(lookups) == 1

    fresh_until, exp, principal = cache._entries[token]
    cache._entries[token] = (0.0, exp, principal)  # stale now
    answers = run_with_threads(8, burst)
    assert [a.status_code for a in answers] == [200] * 50
    assert len(lookups) == 2


def _shedding_app(live_engine: Engine, **overrides: Any) -> tuple[Settings, Any, World]:
    settings = Settings(
        database_url=live_engine.url.render_as_string(hide_password=False),
        jwt_secret=TEST_SECRET,
        env="dev",
        **overrides,
    )
    app = create_app(settings, live_engine)
    with TestClient(app) as http:
        world = build_world(http, settings)
    return settings, app, world


async def _hold_every_thread(threads: int, release: threading.Event) -> list[asyncio.Task[Any]]:
    # The threads the requests' database work runs in (service.db).
    holders = [asyncio.create_task(run_in_request_thread(release.wait)) for _ in range(threads)]
    await asyncio.sleep(0.05)
    return holders


def test_over_the_limit_requests_are_answered_503_at_once(live_engine: Engine) -> None:
    _settings, app, world = _shedding_app(
        live_engine, max_requests_in_flight=3, retry_after_seconds=2
    )
    release = threading.Event()

    async def main() -> tuple[list[httpx.Response], httpx.Response, float, httpx.Response]:
        holders = await _hold_every_thread(2, release)
        async with client_for(app) as client:
            waiting = [
                asyncio.create_task(client.get("/v1/tickets", headers=world.reporter.headers))
                for _ in range(3)
            ]
            await asyncio.sleep(0.1)
            started = time.monotonic()
            shed = await client.get("/v1/tickets", headers=world.reporter.headers)
            waited = time.monotonic() - started
            health = await client.get("/healthz")
            # A dispatcher's feed poll is never refused (it is counted, though).
            waiting.append(
                asyncio.create_task(client.get("/v1/feed", headers=world.dispatcher.headers))
            )
            await asyncio.sleep(0.1)
            release.set()
            served = list(await asyncio.wait_for(asyncio.gather(*waiting), ANSWER_WITHIN))
            await asyncio.gather(*holders)
            return served, shed, waited, health

    served, shed, waited, health = run_with_threads(2, main)
    assert shed.status_code == 503
    assert shed.headers["Retry-After"] == "2"
    assert shed.headers["Content-Type"] == "application/problem+json"
    assert shed.json()["type"].endswith("/overloaded")
    assert waited < ANSWER_WITHIN  # at once: it did not queue behind the others
    assert health.status_code == 200  # a load balancer's probe is always answered
    assert [r.status_code for r in served] == [200] * 4
    admission = app.middleware_stack
    while not isinstance(admission, Admission):
        admission = admission.app
    assert admission.in_flight == 0  # every slot given back


def test_a_waiting_long_poll_does_not_count_against_the_limit(live_engine: Engine) -> None:
    _settings, app, world = _shedding_app(live_engine, max_requests_in_flight=1)

    async def main() -> tuple[httpx.Response, httpx.Response]:
        async with client_for(app) as client:
            first = await client.get("/v1/feed", headers=world.dispatcher.headers)
            cursor = first.json()["next_cursor"]
            poll = asyncio.create_task(
                client.get(
                    "/v1/feed",
                    params={"cursor": cursor, "wait": 3},
                    headers=world.dispatcher.headers,
                )
            )
            await asyncio.sleep(0.5)  # the poll is waiting now
            other = await client.get("/v1/tickets", headers=world.reporter.headers)
            assert not poll.done()  # answered while the poll still waits
            return other, await poll

    other, poll = run_with_threads(4, main)
    assert other.status_code == 200
    assert poll.status_code == 200
    assert poll.json()["events"] == []


def test_work_whose_client_left_while_it_queued_is_skipped(live_engine: Engine) -> None:
    _settings, app, world = _shedding_app(live_engine)
    body = (
        b'{"category": "repair.plumbing", "community_id": %d, "description": "nobody waits"}'
        % world.community_a
    )
    sent: list[dict[str, Any]] = []
    release = threading.Event()

    def count_tickets() -> int:
        with live_engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(Ticket)) or 0)

    before = count_tickets()

    async def main() -> None:
        holders = await _hold_every_thread(2, release)
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        gone = asyncio.Event()

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/tickets",
            "raw_path": b"/v1/tickets",
            "query_string": b"",
            "root_path": "",
            "server": ("linli", 80),
            "client": ("127.0.0.1", 5000),
            "headers": [
                (b"host", b"linli"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"authorization", world.reporter.headers["Authorization"].encode()),
            ],
        }
        request = asyncio.create_task(app(scope, receive, send))
        await asyncio.sleep(0.2)  # queued for a thread
        gone.set()  # the client gives up
        await asyncio.sleep(0.1)
        release.set()
        await asyncio.wait_for(request, ANSWER_WITHIN)
        await asyncio.gather(*holders)

    run_with_threads(2, main)
    assert sent[0]["status"] == 499
    assert count_tickets() == before


def test_no_connection_in_time_is_503_with_retry_after(live_engine: Engine) -> None:
    _settings, app, world = _shedding_app(
        live_engine, db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=0.2
    )
    engine = make_engine(
        Settings(
            database_url=live_engine.url.render_as_string(hide_password=False),
            jwt_secret=TEST_SECRET,
            db_pool_size=1,
            db_max_overflow=0,
            db_pool_timeout_seconds=0.2,
        )
    )
    app.state.sessionmaker.configure(bind=engine)
    try:
        with engine.connect(), TestClient(app) as http:  # the only connection, taken
            answer = http.get("/v1/tickets", headers=world.reporter.headers)
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"
        assert answer.headers["Content-Type"] == "application/problem+json"
        with TestClient(app) as http:  # and once it is back, all is well
            assert http.get("/v1/tickets", headers=world.reporter.headers).status_code == 200
    finally:
        engine.dispose()


def test_a_delivered_webhook_is_recorded_when_the_database_comes_back(
    monkeypatch: pytest.MonkeyPatch, live_engine: Engine
) -> None:
    from service.outbox import delivery as outbox
    from service.webhooks import delivery

    calls = []

    def flaky(engine: Any, queue: Any, settings: Any, outcomes: Any) -> None:
        calls.append(len(outcomes))
        if len(calls) < 3:
            raise OperationalError("UPDATE", {}, Exception("connection refused"))

    monkeypatch.setattr(outbox, "record", flaky)
    monkeypatch.setattr(outbox.time, "sleep", lambda _seconds: None)
    settings = Settings(database_url="sqlite://", jwt_secret=TEST_SECRET)
    delivery.record_surely(live_engine, settings, ["an outcome"])  # type: ignore[list-item]
    assert calls == [1, 1, 1]


@pytest.mark.slow
def test_sigterm_stops_the_server_with_long_polls_waiting(tmp_path: Any) -> None:
    """A long-poll answers at once and the process exits well inside its timeout."""
    from tests.reliability.servers import reference_database, servers_registry, settings_for

    with reference_database("linli_stop") as (db, _engine), servers_registry() as start:
        server = start(db.url, "stop", shutdown_timeout_seconds="10")
        with httpx.Client(base_url=server.url, timeout=30) as http:
            world = build_world(http, settings_for(db))
        answers: list[httpx.Response] = []

        def poll() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                first = http.get("/v1/feed", headers=world.dispatcher.headers)
                answers.append(
                    http.get(
                        "/v1/feed",
                        params={"cursor": first.json()["next_cursor"], "wait": 25},
                        headers=world.dispatcher.headers,
                    )
                )

        pollers = [threading.Thread(target=poll) for _ in range(5)]
        for thread in pollers:
            thread.start()
        time.sleep(1.0)  # all waiting
        assert server.process is not None
        started = time.monotonic()
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 15 s after SIGTERM:\n{server.log_tail()}")
        stopped = time.monotonic() - started
        for thread in pollers:
            thread.join(timeout=5)
        assert [a.status_code for a in answers] == [200] * 5
        assert stopped < 10, server.log_tail()
