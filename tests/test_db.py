"""Helpers of service/db.py that the hot paths lean on."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import asyncpg
import pytest
from sqlalchemy import bindparam, literal, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from service.categories.models import Category
from service.config import Settings
from service.db import (
    begin_with_first_statement,
    binary_results,
    direct_url,
    driver_execute,
    driver_one,
    driver_query,
    loop_engine,
    loop_pool_size,
    make_engine,
    numbered,
    pipelined,
    read_statement_by_statement,
)
from service.enums import TicketKind
from service.errors import database_unavailable
from service.idempotency.models import IdempotencyKey
from service.ratelimit import _UPSERT as _HIT
from tests.conftest import BACKEND


def test_binary_results_only_inside(db: Session) -> None:
    """Inside, PostgreSQL answers in binary, with the same Python values; after,
    in text again. SQLite: nothing changes."""
    query = text("SELECT 41 + 1 AS n, CAST('2026-11-27' AS DATE) AS d, 'x' AS s")
    outside = db.execute(query).one()
    driver = db.connection().connection.driver_connection
    with binary_results(db):
        inside = db.execute(query).one()
        if db.get_bind().dialect.name == "postgresql":
            import psycopg

            assert driver.cursor().format == psycopg.pq.Format.BINARY
    assert tuple(inside) == tuple(outside)
    if db.get_bind().dialect.name == "postgresql":
        import psycopg

        assert driver.cursor().format == psycopg.pq.Format.TEXT


def test_driver_one_reads_as_sqlalchemy_does(db: Session) -> None:
    """A statement compiled once for the driver answers the same values as
    SQLAlchemy would (enums, JSON, aware instants on both databases), with the
    values bound when it was built and those given per execution; inside
    `pipelined` it runs at once and starts no pipeline, so the ORM still reads."""
    now = dt.datetime(2026, 11, 27, 8, 30, 15, 123456, tzinfo=dt.UTC)
    db.add(
        IdempotencyKey(
            owner="user:driver",
            key="k1",
            request_hash="h",
            response_status=201,
            response_body={"id": 7, "说明": "漏水"},
            response_headers={"ETag": '"1"'},
            created_at=now,
            expires_at=now + dt.timedelta(hours=24),
        )
    )
    db.flush()
    statement = (
        select(
            Category.code,
            Category.kind,
            Category.default_priority,
            IdempotencyKey.response_body,
            IdempotencyKey.response_headers,
            IdempotencyKey.expires_at,
            literal(True).label("flag"),
        )
        .select_from(Category)
        .join(IdempotencyKey, true())
        .where(
            Category.code == "repair.plumbing",  # bound when built
            IdempotencyKey.owner == bindparam("owner"),  # given per execution
        )
    )
    dialect = db.get_bind().dialect
    query = driver_query(dialect, statement, ("owner",))
    expected = db.execute(statement, {"owner": "user:driver"}).one()._asdict()
    with pipelined(db):
        row = driver_one(db, query, {"owner": "user:driver"})
        assert db.scalar(select(Category.id).where(Category.code == "repair.plumbing"))
        assert driver_one(db, query, {"owner": "user:nobody"}) is None
    assert row == expected
    assert row["kind"] is TicketKind.property
    assert row["expires_at"] == now + dt.timedelta(hours=24)
    assert row["response_body"] == {"id": 7, "说明": "漏水"}


def test_pool_defaults_by_database(tmp_path: Any) -> None:
    """SQLite gets two connections (its readers contend for the GIL); PostgreSQL
    twenty, no overflow (overflow connections are closed on return: churn): twelve
    for the worker threads and eight for filing on the event loop; an explicit
    setting wins on both."""
    secret = "x" * 40
    sqlite_url = f"sqlite:///{tmp_path / 'pool.db'}"
    pg_url = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # never connected
    cases = [
        (Settings(database_url=sqlite_url, jwt_secret=secret), 2, 0, 0),
        (Settings(database_url=pg_url, jwt_secret=secret), 12, 0, 8),
        (Settings(database_url=sqlite_url, jwt_secret=secret, db_pool_size=5), 5, 0, 0),
        (Settings(database_url=pg_url, jwt_secret=secret, db_max_overflow=5), 12, 5, 8),
        (Settings(database_url=pg_url, jwt_secret=secret, db_loop_pool_size=3), 12, 0, 3),
        (Settings(database_url=pg_url, jwt_secret=secret, db_loop_pool_size=0), 12, 0, 0),
    ]
    for settings, size, overflow, on_loop in cases:
        engine = make_engine(settings)
        pool = engine.pool
        assert isinstance(pool, QueuePool)
        assert (pool.size(), pool._max_overflow) == (size, overflow)
        engine.dispose()
        assert loop_pool_size(settings) == on_loop
        filing = loop_engine(settings, settings.database_url)
        if on_loop == 0:
            assert filing is None
        else:
            assert filing is not None
            assert (filing.pool.size(), filing.pool._max_overflow) == (on_loop, 0)  # type: ignore[attr-defined]
            asyncio.run(filing.dispose())


def test_the_ticket_insert_is_converted_once() -> None:
    """psycopg caches its placeholder conversion of statements of up to 50
    parameters; make_engine lifts that for Linli's fixed statements, so the
    66-parameter ticket INSERT of every creation is parsed once per process.
    A psycopg release that renames or moves the limit fails here."""
    from psycopg import _queries
    from psycopg.adapt import Transformer

    from service.tickets.filing import _INSERT_TICKET

    make_engine(Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    sql = _INSERT_TICKET["postgresql"]
    names = [part.split(")s", 1)[0] for part in sql.split("%(")[1:]]
    assert len(names) > 50
    params = dict.fromkeys(names)

    before = _queries._query2pg.cache_info()
    for _ in range(3):
        _queries.PostgresQuery(Transformer()).convert(sql, params)
    after = _queries._query2pg.cache_info()
    assert after.hits + after.misses - before.hits - before.misses == 3
    assert after.hits - before.hits >= 2


def test_the_listen_connection_goes_where_the_direct_url_says() -> None:
    """Behind a PgBouncer in transaction mode the feed's LISTEN connects to
    LINLI_DATABASE_DIRECT_URL, on the database of the engine's URL when the
    direct one names none; unset, where the requests go."""
    pooled = "postgresql+psycopg://linli@pgbouncer:6432/linli"

    def listen_at(direct: str | None, engine_url: str | None = None) -> str:
        settings = Settings(database_url=pooled, database_direct_url=direct, jwt_secret="x" * 40)
        return direct_url(settings, engine_url).render_as_string()

    assert listen_at(None) == pooled
    assert (
        listen_at("postgresql+psycopg://linli@db:5432")
        == "postgresql+psycopg://linli@db:5432/linli"
    )
    assert listen_at("postgresql+psycopg://linli@db/main") == "postgresql+psycopg://linli@db/main"
    # The engine's database, when it is not the settings' (a worker, a test's own).
    other = "postgresql+psycopg://linli@pgbouncer:6432/other"
    assert listen_at("postgresql+psycopg://linli@db:5432", other).endswith("@db:5432/other")
    assert listen_at(None, other) == other


def test_sync_endpoints_run_in_the_request_threads_as_many_as_the_limiter() -> None:
    """A sync endpoint (CommitInRoute) runs in the requests' own worker threads,
    with the request's context variables, and a loop has as many of them as
    AnyIO's limiter had when it first needed one (the pool's connections:
    service.main), so that a thread never waits for a connection."""
    import asyncio
    import contextvars
    import threading

    import anyio.to_thread
    import httpx
    from fastapi import APIRouter, FastAPI

    from service.db import CommitInRoute, run_in_request_thread

    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="")
    router = APIRouter(route_class=CommitInRoute)

    @router.get("/where")
    def where() -> dict[str, str]:
        return {"thread": threading.current_thread().name, "marker": marker.get()}

    app = FastAPI()
    app.include_router(router)

    async def main() -> tuple[dict[str, str], set[str]]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 3
        marker.set("request")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answer = (await client.get("/where")).json()
        # Six calls that each wait for the others: only three threads exist, so
        # three of them start only once the first three have finished.
        gate = threading.Barrier(3, timeout=5)
        names: set[str] = set()

        def meet() -> None:
            gate.wait()
            names.add(threading.current_thread().name)

        await asyncio.gather(*(run_in_request_thread(meet) for _ in range(6)))
        return answer, names

    answer, names = asyncio.run(main())
    assert answer["thread"].startswith("linli-request-")
    assert answer["marker"] == "request"
    assert len(names) == 3


@contextmanager
def _round_trips(session: Session) -> Iterator[list[int]]:
    """How many round trips the session's connection made: the times it sent
    messages and then read the server's, in libpq's own trace of the protocol."""
    import psycopg

    driver: Any = session.connection().connection.driver_connection
    counted: list[int] = []
    with tempfile.TemporaryFile("w+") as trace:
        driver.pgconn.trace(trace.fileno())
        driver.pgconn.set_trace_flags(
            psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE
        )
        try:
            yield counted
        finally:
            driver.pgconn.untrace()
            trace.seek(0)
            sides = [line[0] for line in trace if line[:1] in ("F", "B")]
            turns = itertools.pairwise(sides)
            counted.append(sum(a == "F" and b == "B" for a, b in turns))


_XACT = {
    "postgresql": "SELECT pg_current_xact_id()::text",
    "sqlite": "SELECT 'one database, one writer'",
}


def test_a_transaction_begins_with_its_first_statement(settings: Settings) -> None:
    """begin_with_first_statement: on PostgreSQL the BEGIN goes in the round trip
    of the first statement in `pipelined` (psycopg's own BEGIN is a round trip of
    its own), and the driver's statements and SQLAlchemy's after them are one
    transaction, which rollback undoes and commit keeps. SQLite: the session is
    left as it was."""
    engine = make_engine(settings, pool=(1, 0))
    key = f"test-first-statement-{uuid.uuid4().hex}"
    try:
        for commit in (False, True):
            with Session(engine) as session:
                begin_with_first_statement(session)
                if settings.is_sqlite:
                    assert session.bind is engine
                _begin_with_the_first_statement(session, key, commit=commit)
            with engine.connect() as other:
                assert other.scalar(_COUNT, {"key": key}) == (1 if commit else None)
    finally:
        with engine.begin() as cleanup:
            cleanup.execute(text("DELETE FROM rate_limit_window WHERE key = :key"), {"key": key})
        engine.dispose()


@pytest.mark.skipif(BACKEND != "postgres", reason="the event loop's engine: PostgreSQL only")
@pytest.mark.parametrize("prepared", [True, False], ids=["asyncpg", "psycopg"])
def test_on_the_event_loop_too(settings: Settings, prepared: bool) -> None:
    """The same through the event loop's engine (db.on_loop, awaited in
    SQLAlchemy's greenlet): the same transaction; on psycopg's AsyncConnection
    (without prepared statements, for a PgBouncer) the same round trips too."""
    key = f"test-first-statement-loop-{uuid.uuid4().hex}"
    loop_settings = settings.model_copy(
        update={"db_loop_pool_size": 1, "db_prepared_statements": prepared}
    )

    async def main() -> None:
        engine = loop_engine(loop_settings, settings.database_url)
        assert engine is not None
        assert engine.dialect.driver == ("asyncpg" if prepared else "psycopg")
        try:
            for commit in (False, True):
                async with AsyncSession(engine) as session:
                    await session.run_sync(begin_with_first_statement)
                    await session.run_sync(_begin_with_the_first_statement, key, commit=commit)
                async with engine.connect() as other:
                    assert await other.scalar(_COUNT, {"key": key}) == (1 if commit else None)
        finally:
            async with engine.begin() as cleanup:
                await cleanup.execute(
                    text("DELETE FROM rate_limit_window WHERE key = :key"), {"key": key}
                )
            await engine.dispose()

    asyncio.run(main())


def test_driver_statements_numbered_for_asyncpg() -> None:
    """psycopg's %(name)s as asyncpg's $n: one number per name, in order of first
    use, a name used twice numbered once; %% is a literal %."""
    assert numbered("SELECT %(a)s, %(b)s, %(a)s WHERE x LIKE 'a%%'") == (
        "SELECT $1, $2, $1 WHERE x LIKE 'a%'",
        ("a", "b"),
    )
    assert numbered("SELECT 1") == ("SELECT 1", ())


def test_the_loop_engine_takes_libpq_parameters_as_asyncpg_names_them(monkeypatch: Any) -> None:
    """The URL of LINLI_DATABASE_URL (libpq's parameters, as psycopg takes them) on
    the event loop's asyncpg: failover hosts and target_session_attrs as they are,
    application_name, sslmode and connect_timeout in asyncpg's words; anything
    else refused at start, naming it, rather than dropped."""

    class Seen(Exception):
        pass

    async def connect(**kwargs: Any) -> Any:
        raise Seen(kwargs)

    monkeypatch.setattr(asyncpg, "connect", connect)

    def made(url: str) -> Any:
        """The arguments the loop engine would connect with."""
        settings = Settings(database_url=url, jwt_secret="x" * 32)
        engine = loop_engine(settings, url)
        assert engine is not None and engine.dialect.driver == "asyncpg"

        async def connecting() -> Any:
            with pytest.raises(Seen) as seen:
                async with engine.connect():
                    pass
            await engine.dispose()
            return seen.value.args[0]

        return asyncio.run(connecting())

    failover = made(
        "postgresql+psycopg://u@/db?host=10.0.0.1:5433&host=10.0.0.2:5434"
        "&target_session_attrs=read-write&application_name=linli-a&sslmode=require"
        "&connect_timeout=3"
    )
    assert failover["host"] == ["10.0.0.1", "10.0.0.2"]
    assert failover["port"] == [5433, 5434]
    assert failover["target_session_attrs"] == "read-write"
    assert failover["server_settings"] == {"application_name": "linli-a"}
    assert (failover["ssl"], failover["timeout"]) == ("require", 3.0)
    with pytest.raises(ValueError, match="keepalives, options"):
        made("postgresql+psycopg://u@h/db?options=-csearch_path%3Dx&keepalives=1")
    # Without prepared statements (a PgBouncer before 1.21): psycopg's, which then never prepares.
    settings = Settings(
        database_url="postgresql+psycopg://u@h/db?options=x",
        jwt_secret="x" * 32,
        db_prepared_statements=False,
    )
    engine = loop_engine(settings, settings.database_url)
    assert engine is not None and engine.dialect.driver == "psycopg"
    asyncio.run(engine.dispose())


@pytest.mark.skipif(BACKEND != "postgres", reason="the event loop's engine: PostgreSQL only")
def test_a_server_lost_under_the_loop_is_unavailable_and_replaced(settings: Settings) -> None:
    """A driver statement on the loop whose server connection died raises
    SQLAlchemy's error with the connection invalidated (answered 503:
    errors.database_unavailable), and the pool opens a new one for the next
    request instead of lending the dead one again; a server that refuses
    connections is unavailable too, not a bug."""
    loop_settings = settings.model_copy(update={"db_loop_pool_size": 1})
    probe = {"postgresql": "SELECT pg_backend_pid()", "sqlite": "SELECT 1"}

    def backend(session: Session) -> int:
        # In a pipeline, as filing's statements are (deferred: the INSERTs).
        with pipelined(session):
            cursor = driver_execute(session, probe, {})
        return int(cursor.fetchone()[0])

    async def main() -> None:
        engine = loop_engine(loop_settings, settings.database_url)
        assert engine is not None
        try:
            async with AsyncSession(engine) as session:
                first = await session.run_sync(backend)
                await session.commit()
            other = make_engine(settings, pool=(1, 0))
            with other.connect() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            other.dispose()
            async with AsyncSession(engine) as session:
                with pytest.raises(Exception) as lost:
                    await session.run_sync(backend)
                assert database_unavailable(lost.value), repr(lost.value)
            async with AsyncSession(engine) as session:
                assert await session.run_sync(backend) != first
        finally:
            await engine.dispose()
        refused = loop_engine(loop_settings, "postgresql+psycopg://root@127.0.0.1:1/test")
        assert refused is not None
        try:
            async with AsyncSession(refused) as session:
                with pytest.raises(Exception) as failed:
                    await session.run_sync(backend)
                assert database_unavailable(failed.value), repr(failed.value)
        finally:
            await refused.dispose()

    asyncio.run(main())


_COUNT = text("SELECT count FROM rate_limit_window WHERE key = :key")


def _begin_with_the_first_statement(session: Session, key: str, *, commit: bool) -> None:
    dialect = session.get_bind().dialect.name
    # libpq's trace: psycopg's round trips (asyncpg speaks the protocol itself).
    traced = dialect == "postgresql" and session.get_bind().dialect.driver == "psycopg"
    # The connection is taken first, so that the trace sees everything.
    session.connection()
    session.commit()
    end = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
    with _round_trips(session) if traced else nullcontext([]) as trips:
        with pipelined(session):
            xact = driver_execute(session, _XACT, {}, defer=False).fetchone()[0]
            driver_execute(session, _HIT, {"key": key, "end": end})
        # SQLAlchemy's statements after it, in the same transaction.
        assert session.scalar(text(_XACT[dialect])) == xact
        assert session.scalar(_COUNT, {"key": key}) == 1
    if traced:
        # BEGIN with the SELECT, the write with the Sync; SQLAlchemy's two.
        assert trips == [1 + 1 + 2]
    (session.commit if commit else session.rollback)()


def test_a_read_statement_by_statement_sends_no_begin_nor_commit(settings: Settings) -> None:
    """read_statement_by_statement: on PostgreSQL a read that one statement answers
    is one round trip (psycopg's BEGIN and COMMIT are two more). SQLite: as it was."""
    engine = make_engine(settings, pool=(1, 0))
    try:
        with Session(engine) as session:
            read_statement_by_statement(session)
            if settings.is_sqlite:
                assert session.bind is engine
                assert driver_execute(session, _XACT, {}, defer=False).fetchone()
                return
            session.connection()
            session.commit()
            with _round_trips(session) as trips:
                assert driver_execute(session, _XACT, {}, defer=False).fetchone()
                session.commit()
            assert trips == [1]
        # The connection goes back to the pool as any other: transactions again.
        with Session(engine) as session, _round_trips(session) as trips:
            driver_execute(session, _XACT, {}, defer=False).fetchone()
            session.commit()
        assert trips == [3]
    finally:
        engine.dispose()
