"""Linli through a PgBouncer in transaction mode (issue 20): each transaction may
run on another server connection, so nothing may outlive one; the feed's LISTEN
goes to PostgreSQL directly; and however many instances, the server sees no more
connections than PgBouncer's pool (plus one LISTEN per instance).

Each test starts a PgBouncer of its own (tests/pgbouncer.py), sized for what it
shows. PostgreSQL only; skipped where Debian's pgbouncer is not installed
(`make test-pgbouncer` installs it).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import TYPE_CHECKING

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import sessionmaker

from service.categories.service import load_reference_tree
from service.config import Settings
from service.db import direct_url, make_engine
from service.feed.notify import APPLICATION_NAME, CHANNEL, FeedHub, PgListener
from service.main import create_app
from service.migrate import upgrade
from tests.conftest import BACKEND, TEST_SECRET, build_world, empty_database
from tests.feed.helpers import file
from tests.feed.live import serve
from tests.pgbouncer import PgBouncer, find_pgbouncer, running_pgbouncer

if TYPE_CHECKING:
    from tests.conftest import TestDatabase

pytestmark = [
    pytest.mark.skipif(BACKEND != "postgres", reason="PgBouncer pools PostgreSQL connections"),
    pytest.mark.skipif(
        find_pgbouncer() is None,
        reason="pgbouncer not found: apt-get install pgbouncer (make test-pgbouncer does)",
    ),
]


@pytest.fixture
def own_database() -> Iterator[TestDatabase]:
    """A database of its own, migrated directly: these tests commit, and count its
    server connections (none may come from the run's own PgBouncer, if any)."""
    db = empty_database("linli_pgb")
    upgrade(db.direct_url)
    yield db
    db.cleanup()


def _settings(bouncer: PgBouncer, db: TestDatabase, **overrides: object) -> Settings:
    """An instance's settings behind `bouncer`, as the README tells a deployment."""
    name = make_url(db.direct_url).database
    values: dict[str, object] = {
        "database_url": bouncer.url(name).render_as_string(hide_password=False),
        "database_direct_url": db.direct_url,
        "db_prepared_statements": False,
        "jwt_secret": TEST_SECRET,
        "env": "dev",
        "tickets_per_hour": 0,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def test_prepared_statements_are_off_when_the_setting_says_so(own_database: TestDatabase) -> None:
    """psycopg prepares a statement by name on its fifth run; with one server
    connection shared by two clients the second finds that name taken. With
    LINLI_DB_PREPARED_STATEMENTS=false the same runs go through."""
    with running_pgbouncer(own_database.direct_url, pool_size=1) as bouncer:
        for prepared in (True, False):
            settings = _settings(bouncer, own_database, db_prepared_statements=prepared)
            engines = [make_engine(settings, pool=(1, 0)) for _ in range(2)]
            try:
                runs = []
                for engine in engines:  # one client after the other, one server connection
                    with engine.connect() as connection:
                        for n in range(7):
                            runs.append(connection.execute(text("SELECT :n + 1"), {"n": n}))
                            connection.commit()
                assert not prepared, "two clients prepared one name on one server connection"
                assert len(runs) == 14
            except ProgrammingError as exc:
                assert prepared, exc
                assert isinstance(exc.orig, psycopg.errors.DuplicatePreparedStatement)
            finally:
                for engine in engines:
                    engine.dispose()


def test_the_listen_connection_is_direct_and_hears_commits_made_through_pgbouncer(
    own_database: TestDatabase,
) -> None:
    """What wakes another instance's long-polls: a NOTIFY committed through
    PgBouncer reaches the LISTEN on LINLI_DATABASE_DIRECT_URL at once."""
    with running_pgbouncer(own_database.direct_url, pool_size=2) as bouncer:
        settings = _settings(bouncer, own_database)
        # The direct URL may leave the database out: the pooled URL's is taken.
        bare = make_url(own_database.direct_url).set(database="")
        assert direct_url(
            settings.model_copy(update={"database_direct_url": bare.render_as_string()})
        ) == make_url(own_database.direct_url)
        listen_at = direct_url(settings)
        assert listen_at.port != bouncer.port

        async def scenario() -> list[float]:
            hub = FeedHub()
            hub.bind(asyncio.get_running_loop())
            listener = PgListener(listen_at, hub)
            listener.start()
            try:
                await asyncio.wait_for(listener.connected.wait(), 10)
                latencies = []
                for organization_id in (7, 8, 7):
                    seen = hub.version(organization_id)
                    started = time.monotonic()
                    # Committed by another client, as a writer's trigger sends it.
                    await asyncio.to_thread(_notify_through, bouncer, own_database, organization_id)
                    assert await hub.wait(organization_id, seen, 10), "no wake-up"
                    latencies.append(time.monotonic() - started)
                return latencies
            finally:
                await listener.stop()

        latencies = asyncio.run(scenario())
    assert max(latencies) < 2.0, latencies


def _notify_through(bouncer: PgBouncer, db: TestDatabase, organization_id: int) -> None:
    name = make_url(db.direct_url).database
    conninfo = f"host=127.0.0.1 port={bouncer.port} dbname={name} user={bouncer.server.username}"
    with psycopg.connect(conninfo, prepare_threshold=None) as connection:
        connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(organization_id)))
        connection.commit()


INSTANCES = 4
BOUND = 5  # PgBouncer's server connections for the database


def test_instances_times_pools_stay_within_pgbouncers_bound(own_database: TestDatabase) -> None:
    """Four instances, each with its pools of 20 (12 for the worker threads, 8 for
    filing on the event loop), file tickets at once through a PgBouncer that
    keeps at most five server connections to the database: the server never sees
    more than those five, and one LISTEN per instance."""
    name = make_url(own_database.direct_url).database
    with ExitStack() as stack:
        bouncer = stack.enter_context(
            running_pgbouncer(own_database.direct_url, pool_size=BOUND, max_db_connections=BOUND)
        )
        settings = _settings(bouncer, own_database)
        engines: list[Engine] = []
        urls = []
        for _ in range(INSTANCES):
            engine = make_engine(settings)  # the default pool: 12, no overflow
            stack.callback(engine.dispose)
            engines.append(engine)
        with sessionmaker(engines[0]).begin() as session:
            load_reference_tree(session)
        apps = [create_app(settings, engine) for engine in engines]
        for engine, app in zip(engines, apps, strict=True):
            urls.append(stack.enter_context(serve(settings, engine, app=app)))
        # The pools filing on the event loop (8 each), opened by the apps' lifespans.
        pools = [e.pool for e in engines] + [a.state.loop_sessions.engine.pool for a in apps]
        clients = [stack.enter_context(httpx.Client(base_url=u, timeout=120)) for u in urls]
        world = build_world(clients[0], settings)

        peaks = {"pooled": 0, "listen": 0, "checked_out": 0}
        sampling = threading.Event()
        sampling.set()

        def sample() -> None:
            with psycopg.connect(
                make_url(own_database.direct_url).set(drivername="postgresql").render_as_string(),
                autocommit=True,
            ) as watcher:
                while sampling.is_set():
                    rows = watcher.execute(
                        "SELECT application_name = %s, count(*) FROM pg_stat_activity"
                        " WHERE datname = %s AND pid <> pg_backend_pid() GROUP BY 1",
                        (APPLICATION_NAME, name),
                    ).fetchall()
                    counts = dict(rows)
                    peaks["pooled"] = max(peaks["pooled"], counts.get(False, 0))
                    peaks["listen"] = max(peaks["listen"], counts.get(True, 0))
                    out = sum(pool.checkedout() for pool in pools)
                    peaks["checked_out"] = max(peaks["checked_out"], out)
                    time.sleep(0.005)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        def file_some(client_index: int) -> int:
            http = clients[client_index % INSTANCES]
            return len([file(http, world.reporter, world.community_a) for _ in range(2)])

        try:
            with ThreadPoolExecutor(INSTANCES * 20) as pool:
                filed = sum(pool.map(file_some, range(INSTANCES * 20)))
        finally:
            sampling.clear()
            sampler.join(10)

    assert filed == INSTANCES * 20 * 2
    # The instances held many more connections at once than the server had.
    assert peaks["checked_out"] > BOUND, peaks
    assert 0 < peaks["pooled"] <= BOUND, peaks
    assert peaks["listen"] == INSTANCES, peaks
