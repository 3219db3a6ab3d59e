"""Helpers of service/db.py that the hot paths lean on."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, literal, select, text, true
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from service.categories.models import Category
from service.config import Settings
from service.db import (
    binary_results,
    direct_url,
    driver_one,
    driver_query,
    make_engine,
    pipelined,
)
from service.enums import TicketKind
from service.idempotency.models import IdempotencyKey


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
    """SQLite gets two connections (its readers contend for the GIL), PostgreSQL
    twenty and no overflow (overflow connections are closed on return: churn);
    an explicit setting wins on both."""
    secret = "x" * 40
    sqlite_url = f"sqlite:///{tmp_path / 'pool.db'}"
    pg_url = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # never connected
    cases = [
        (Settings(database_url=sqlite_url, jwt_secret=secret), 2, 0),
        (Settings(database_url=pg_url, jwt_secret=secret), 20, 0),
        (Settings(database_url=sqlite_url, jwt_secret=secret, db_pool_size=5), 5, 0),
        (Settings(database_url=pg_url, jwt_secret=secret, db_max_overflow=5), 20, 5),
    ]
    for settings, size, overflow in cases:
        engine = make_engine(settings)
        pool = engine.pool
        assert isinstance(pool, QueuePool)
        assert (pool.size(), pool._max_overflow) == (size, overflow)
        engine.dispose()


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
