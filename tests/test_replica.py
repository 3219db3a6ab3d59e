"""The read replica (service/replica.py): which reads may go to it, the routing
decision, its lag on /metrics, and (PostgreSQL, on a standby of a throwaway
primary: tests/standby.py) that a replica-routed route answers from the standby
while its lag is within the limit and from the primary beyond it or when it
does not answer, and that read-your-writes routes never go to it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from psycopg.conninfo import conninfo_to_dict
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import sessionmaker

from service.config import Settings
from service.db import libpq_conninfo, make_engine
from service.main import create_app
from service.replica import (
    Reading,
    ReadReplica,
    ReadSession,
    get_read_session,
    read_session,
    served_by_replica,
)
from tests.conftest import BACKEND, TEST_SECRET, Actor, World, build_world, file_ticket
from tests.standby import Pair, prepare, running_pair, unavailable_reason

# Every route that may read from the replica. Another one needs a reason here:
# it must read nothing its caller (or anyone) wrote a moment ago.
REPLICA_ROUTES = {
    ("GET", "/v1/metrics/summary"),
    ("GET", "/v1/metrics/rankings"),
    ("GET", "/v1/metrics/trend"),
    ("GET", "/dashboard"),
    ("GET", "/open311/v2/services.{format}"),
    ("GET", "/open311/v2/services/{service_code}.{format}"),
    ("GET", "/open311/v2/requests.{format}"),
}


def _uses_read_session(route: APIRoute) -> bool:
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        if dependant.call is get_read_session:
            return True
        stack.extend(dependant.dependencies)
    return False


def _api_routes(routes: Any) -> Iterator[APIRoute]:
    # Included routers keep their routes (paths already prefixed) on the original.
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def test_only_the_listed_reads_may_go_to_the_replica(settings: Settings) -> None:
    app = create_app(settings, make_engine(settings))
    every = list(_api_routes(app.router.routes))
    assert len(every) > 100
    routed = {
        (method, route.path)
        for route in every
        if _uses_read_session(route)
        for method in route.methods or ()
    }
    assert routed == REPLICA_ROUTES
    # What must read its own writes: the feed, a ticket, anything written.
    assert not any(path.startswith(("/v1/feed", "/v1/tickets")) for _, path in routed)
    assert {method for method, _ in routed} == {"GET"}


# --- the routing decision (both databases) ----------------------------------


@pytest.fixture
def two_engines(settings: Settings) -> Iterator[tuple[Engine, Engine]]:
    """The test database twice: as the primary, and as the "replica"."""
    primary, replica = make_engine(settings), make_engine(settings)
    yield primary, replica
    primary.dispose()
    replica.dispose()


def _read_bind(primary: Engine, replica: ReadReplica) -> Engine:
    session = read_session(sessionmaker(primary, class_=ReadSession), replica)
    try:
        session.execute(text("SELECT 1"))
        bind = session.get_bind()
        assert served_by_replica(session) is (bind is replica.engine)
        return bind  # type: ignore[return-value]
    finally:
        session.close()


def test_reads_go_to_the_replica_only_while_its_lag_is_within_the_limit(
    two_engines: tuple[Engine, Engine],
) -> None:
    primary, engine = two_engines
    replica = ReadReplica(engine, max_lag_seconds=5.0, check_seconds=3600)
    # No reading yet: the primary.
    replica.note(Reading(False, None, time.monotonic()))
    assert _read_bind(primary, replica) is primary
    for lag, expected in ((0.0, engine), (5.0, engine), (5.01, primary), (None, primary)):
        replica.note(Reading(True, lag, time.monotonic()))
        assert _read_bind(primary, replica) is expected, lag
    # Down: the primary, whatever the lag was.
    replica.note(Reading(False, 0.0, time.monotonic()))
    assert _read_bind(primary, replica) is primary


def test_the_lag_is_read_once_per_interval_in_a_thread_no_request_waits_for(
    two_engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, engine = two_engines
    replica = ReadReplica(engine, max_lag_seconds=5.0, check_seconds=3600)
    readings: list[str] = []
    release = threading.Event()

    def refresh() -> Reading:
        readings.append(threading.current_thread().name)
        release.wait(60)  # a replica slow to answer
        replica.note(Reading(True, 0.0, time.monotonic()))
        return replica.reading

    monkeypatch.setattr(replica, "refresh", refresh)
    # Out of date: the request goes on with the last reading (none: the
    # primary) while the reading runs in its own thread.
    assert _read_bind(primary, replica) is primary
    assert _read_bind(primary, replica) is primary  # in progress: not again
    assert not release.is_set()
    release.set()
    replica.settle()
    assert readings == ["linli-replica-lag"]
    for _ in range(5):
        assert _read_bind(primary, replica) is engine
    assert len(readings) == 1  # within check_seconds: no reading at all
    replica.check_seconds = 0  # out of date at once
    replica.current()
    replica.settle()
    assert len(readings) == 2
    # An older reading that ends after a newer one does not replace it.
    newer = replica.reading
    replica.note(Reading(False, None, newer.at - 1))
    assert replica.reading is newer


def test_a_replica_that_does_not_answer_is_down(
    settings: Settings, two_engines: tuple[Engine, Engine]
) -> None:
    primary, _ = two_engines
    if BACKEND == "postgres":
        # Nothing listens there (a port of this machine taken and let go).
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        url = f"postgresql+psycopg://nobody@127.0.0.1:{port}/none"
        engine = make_engine(settings, url=url, connect_args={"connect_timeout": 2})
    else:
        # No lag functions on SQLite: what a server that cannot answer looks like.
        engine = make_engine(settings)
    replica = ReadReplica(engine, max_lag_seconds=5.0)
    try:
        assert replica.refresh().up is False
        assert _read_bind(primary, replica) is primary
    finally:
        engine.dispose()


def test_without_a_replica_reads_use_the_requests_session(client: TestClient, world: World) -> None:
    # One session, one connection per request: no second session without a replica.
    assert not hasattr(client.app.state, "read_replica")  # type: ignore[attr-defined]
    admin = world.province_admin
    answer = client.get("/v1/metrics/summary", headers=admin.headers)
    assert answer.status_code == 200, answer.text


def test_a_multi_host_url_reaches_libpq_whole() -> None:
    # What the feed's LISTEN connects with (psycopg directly, not an engine).
    url = "postgresql+psycopg://u@/db?host=10.0.0.1:5433&host=10.0.0.2:5434&target_session_attrs=read-write"
    assert conninfo_to_dict(libpq_conninfo(url)) == {
        "user": "u",
        "dbname": "db",
        "host": "10.0.0.1,10.0.0.2",
        "port": "5433,5434",
        "target_session_attrs": "read-write",
    }


def test_a_replica_on_sqlite_is_refused() -> None:
    with pytest.raises(ValidationError, match="SQLite has no replicas"):
        Settings(database_url="sqlite:///x.db", read_database_url="postgresql://h/db")
    with pytest.raises(ValidationError, match="SQLite has no replicas"):
        Settings(database_url="postgresql://h/db", read_database_url="sqlite:///x.db")


# --- the database going away answers 503, not 500 (both databases) ------------


def test_a_database_that_went_away_answers_503_with_retry_after(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import service.metrics.router as metrics_router

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    def broken_driver(*_args: Any, **_kwargs: Any) -> Any:
        # What the hot paths' statements on the driver raise (service/db.py).
        raise psycopg.OperationalError("consuming input failed: server closed the connection")

    for failure in (broken, broken_driver):
        monkeypatch.setattr(metrics_router, "summarise", failure)
        answer = client.get("/v1/metrics/summary", headers=world.province_admin.headers)
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "1"
        assert answer.json()["code"] == "overload.database_unavailable"

    def bug(*_args: Any, **_kwargs: Any) -> Any:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr(metrics_router, "summarise", bug)
    assert (
        client.get("/v1/metrics/summary", headers=world.province_admin.headers).status_code == 500
    )


# --- on a real standby (PostgreSQL) -------------------------------------------

standby_only = pytest.mark.skipif(
    BACKEND != "postgres" or unavailable_reason() is not None,
    reason="a streaming standby needs PostgreSQL and its server binaries: "
    + (unavailable_reason() or "LINLI_TEST_DB is not postgres"),
)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with running_pair(prepare=prepare) as pair:
        yield pair


def _lsn(conninfo: str, sql: str) -> int:
    with psycopg.connect(conninfo, autocommit=True) as connection:
        row = connection.execute(sql).fetchone()
    assert row is not None
    text_lsn = str(row[0])
    high, low = text_lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def wait_until(condition: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not {what} after {seconds} s")
        time.sleep(0.05)


def _standby_has(pair: Pair, field: str) -> bool:
    """Whether the standby's WAL `field` (receive or replay) reached the primary's."""
    current = _lsn(pair.primary.conninfo(), "SELECT pg_current_wal_lsn()")
    return _lsn(pair.standby.conninfo(), f"SELECT pg_last_wal_{field}_lsn()") >= current


def _standby(pair: Pair, sql: str) -> None:
    with psycopg.connect(pair.standby.conninfo(), autocommit=True) as connection:
        connection.execute(sql)


def _listed(client: TestClient) -> set[int]:
    answer = client.get("/open311/v2/requests.json")
    assert answer.status_code == 200, answer.text
    return {request["service_request_id"] for request in answer.json()}


@pytest.fixture(scope="module")
def replicated(pair: Pair) -> Iterator[tuple[TestClient, World, ReadReplica]]:
    settings = Settings(
        database_url=pair.primary.url(),
        read_database_url=pair.standby.url(),
        read_max_lag_seconds=3600,
        jwt_secret=TEST_SECRET,
        env="dev",
        tickets_per_hour=0,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        world = build_world(client, settings, tag="-replica")
        replica: ReadReplica = client.app.state.read_replica  # type: ignore[attr-defined]
        yield client, world, replica


@standby_only
def test_a_routed_read_answers_from_the_standby_until_its_lag_is_over_the_limit(
    pair: Pair, replicated: tuple[TestClient, World, ReadReplica]
) -> None:
    client, world, replica = replicated
    seen = file_ticket(client, world.reporter, world.community_a)["id"]
    wait_until(lambda: _standby_has(pair, "replay"), "replayed on the standby")
    _standby(pair, "SELECT pg_wal_replay_pause()")
    try:
        stale = file_ticket(client, world.reporter, world.community_a)["id"]
        # The standby has the new ticket's WAL but does not replay it: stale.
        wait_until(lambda: _standby_has(pair, "receive"), "received by the standby")
        replica.max_lag_seconds = 3600
        reading = replica.refresh()
        assert reading.up and reading.lag_seconds is not None and reading.lag_seconds > 0
        # Within the limit: from the standby, which has the first ticket only.
        listed = _listed(client)
        assert seen in listed and stale not in listed
        metrics = client.get("/metrics").text
        assert "linli_read_replica_up 1.0" in metrics
        assert "linli_read_replica_in_use 1.0" in metrics
        lag_line = next(
            line for line in metrics.splitlines() if line.startswith("linli_read_replica_lag_")
        )
        assert float(lag_line.split()[-1]) > 0
        # A read-your-writes route under the same stale standby: the primary.
        ticket = client.get(f"/v1/tickets/{stale}", headers=world.reporter.headers)
        assert ticket.status_code == 200, ticket.text
        # Over the limit: from the primary, which has both.
        replica.max_lag_seconds = reading.lag_seconds / 2
        replica.refresh()
        assert {seen, stale} <= _listed(client)
        assert "linli_read_replica_in_use 0.0" in client.get("/metrics").text
    finally:
        _standby(pair, "SELECT pg_wal_replay_resume()")
        replica.max_lag_seconds = 3600
    # Caught up: lag 0, from the standby again, which has both now.
    wait_until(lambda: _standby_has(pair, "replay"), "replayed on the standby")
    replica.max_lag_seconds = 0
    # (The primary may write a little WAL of its own meanwhile: autovacuum.)
    wait_until(lambda: replica.refresh().lag_seconds == 0, "at lag 0")
    assert replica.usable_by(replica.reading)
    assert {seen, stale} <= _listed(client)


@standby_only
def test_writes_and_their_reads_never_go_to_the_standby(
    pair: Pair, replicated: tuple[TestClient, World, ReadReplica]
) -> None:
    client, world, replica = replicated
    _standby(pair, "SELECT pg_wal_replay_pause()")
    try:
        replica.max_lag_seconds = 3600
        replica.refresh()
        assert replica.usable()
        reporter: Actor = world.reporter
        headers = {**reporter.headers, "Idempotency-Key": "replica-read-your-writes"}
        body = {
            "category": "repair.plumbing",
            "community_id": world.community_a,
            "description": "楼道灯不亮（replica）",
            "location": {"building": "3", "unit": "2", "room": "501", "area": "private"},
            "contact_phone": "13900000001",
        }
        created = client.post("/v1/tickets", json=body, headers=headers)
        assert created.status_code == 201, created.text
        ticket_id = created.json()["id"]
        # The retry replays it (idempotency reads the primary), the ticket and the
        # action after it are there at once.
        again = client.post("/v1/tickets", json=body, headers=headers)
        assert again.status_code == 201 and again.json()["id"] == ticket_id
        assert client.get(f"/v1/tickets/{ticket_id}", headers=reporter.headers).status_code == 200
        comments = f"/v1/tickets/{ticket_id}/comments"
        added = client.post(comments, json={"body": "进展如何"}, headers=reporter.headers)
        assert added.status_code == 201, added.text
        listed = client.get(comments, headers=reporter.headers).json()["items"]
        assert [c["body"] for c in listed] == ["进展如何"]
        # While the standby (the routed reads) has not seen it yet.
        assert ticket_id not in _listed(client)
    finally:
        _standby(pair, "SELECT pg_wal_replay_resume()")


@standby_only
def test_an_unreachable_replica_is_bypassed(
    pair: Pair, replicated: tuple[TestClient, World, ReadReplica]
) -> None:
    import socket

    _, world, _ = replicated
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(
        database_url=pair.primary.url(),
        read_database_url=f"postgresql+psycopg://linli@127.0.0.1:{port}/linli",
        jwt_secret=TEST_SECRET,
        env="dev",
        tickets_per_hour=0,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        ticket = file_ticket(client, world.reporter, world.community_a)["id"]
        assert ticket in _listed(client)
        replica: ReadReplica = client.app.state.read_replica  # type: ignore[attr-defined]
        assert replica.reading.up is False
        metrics = client.get("/metrics").text
        assert "linli_read_replica_up 0.0" in metrics
        assert "linli_read_replica_in_use 0.0" in metrics
