"""Engine, declarative base, portable column types and the request session."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import enum
import functools
import inspect
import queue
import re
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import anyio.to_thread
import psycopg
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, create_engine, event
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.engine import URL, Connection, Dialect, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_only, greenlet_spawn

from service.config import Settings
from service.errors import ClientGone

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC instants on both databases (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


_clock_override: Callable[[], dt.datetime] | None = None


def utcnow() -> dt.datetime:
    """The current instant. Every timestamp Linli writes comes from here."""
    if _clock_override is not None:
        return _clock_override()
    return dt.datetime.now(dt.UTC)


@contextmanager
def clock_override(clock: Callable[[], dt.datetime]) -> Iterator[None]:
    """Make `utcnow()` answer `clock()` (process-wide): for replaying a timeline
    in `seed-demo` and for tests, never while serving."""
    global _clock_override
    previous, _clock_override = _clock_override, clock
    try:
        yield
    finally:
        _clock_override = previous


# SQLite: few connections. Its reads run in the thread pool, and sqlite3 hands the
# GIL back and forth on every row, so threads reading at once mostly wait for each
# other: a page of 50 under 32 clients was served at 330 req/s with 20 connections,
# 600 with 2 and 690 with 1 (wrk, one worker). Two leave room for a slow request.
# PostgreSQL: no overflow. QueuePool closes an overflow connection as it comes
# back, so 32 clients on 10 + 10 opened ~30 connections a second, each a server
# process forked and torn down: 240 in 8 s of creations, against 13 with 20 + 0,
# and the machine's CPU per request fell from ~6.5 to ~4.9 ms (bench, wrk -c32).
# PostgreSQL's 20 are shared: 12 for the worker threads, 8 for filing on the
# event loop (`loop_engine`).
SQLITE_POOL = (2, 0)
POSTGRES_POOL = (12, 0)
POSTGRES_LOOP_POOL = 8


def pool_shape(settings: Settings) -> tuple[int, int]:
    """(pool size, overflow) of the requests' engine."""
    size, overflow = SQLITE_POOL if settings.is_sqlite else POSTGRES_POOL
    if settings.db_pool_size is not None:
        size = settings.db_pool_size
    if settings.db_max_overflow is not None:
        overflow = settings.db_max_overflow
    return size, overflow


def loop_pool_size(settings: Settings) -> int:
    """Connections of the event loop's engine (`loop_engine`): 0 on SQLite."""
    if settings.is_sqlite:
        return 0
    size = settings.db_loop_pool_size
    return POSTGRES_LOOP_POOL if size is None else size


def _cache_long_statements() -> None:
    """psycopg converts a statement's %(name)s placeholders to $n once per text and
    keeps the result, but only for statements of at most 50 parameters
    (psycopg._queries.MAX_CACHED_STATEMENT_PARAMS, against ORMs' many-row INSERTs
    of ever new shapes). The ticket INSERT of a creation has 66: it was parsed
    again on every creation (~60-110 µs). Linli's driver statements are a fixed
    set of texts, so the cache (128 of them, least recently used first) holds
    them as it holds the shorter ones. tests/test_db.py fails if a psycopg
    release moves the limit elsewhere."""
    from psycopg import _queries

    if hasattr(_queries, "MAX_CACHED_STATEMENT_PARAMS"):
        _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, 100)


def make_engine(
    settings: Settings,
    *,
    pool: tuple[int, int] | None = None,
    url: str | None = None,
    connect_args: dict[str, Any] | None = None,
) -> Engine:
    """The engine of the requests (its pool sized by the settings), or one with a
    `pool` of its own (the job runner's, so that requests cannot starve it), or
    on another `url` (the read replica's, service/replica.py).
    Waiting for a pooled connection gives up after LINLI_DB_POOL_TIMEOUT_SECONDS
    (sqlalchemy.exc.TimeoutError: 503 with Retry-After)."""
    url = url or settings.database_url
    size, overflow = pool or pool_shape(settings)
    timeout = settings.db_pool_timeout_seconds
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=size,
            max_overflow=overflow,
            pool_timeout=timeout,
        )
        _configure_sqlite(engine)
        return engine
    _cache_long_statements()
    return create_engine(
        url,
        connect_args={**postgres_connect_args(settings), **(connect_args or {})},
        pool_size=size,
        max_overflow=overflow,
        pool_timeout=timeout,
        pool_pre_ping=False,
    )


def loop_engine(settings: Settings, url: URL | str) -> AsyncEngine | None:
    """PostgreSQL: an engine on the database at `url` whose statements run on the
    event loop, for `on_loop`; a pool of its own of `loop_pool_size` connections,
    no overflow, the same timeout as the requests' engine. None on SQLite or
    with LINLI_DB_LOOP_POOL_SIZE=0: everything then runs in the worker threads.
    Its connections belong to the event loop that opened them: made and
    disposed of by the app's lifespan (service.main).

    On asyncpg, whose statements cost less Python than psycopg's AsyncConnection
    (a creation's CPU 2.53 -> 2.20 ms, bench/README.md); but asyncpg prepares
    every statement under a name, which a PgBouncer in transaction mode before
    1.21 cannot keep (and names never reused would pile up on its servers), so
    with LINLI_DB_PREPARED_STATEMENTS=false the loop's connections are psycopg's,
    which then never prepares. Those begin their transactions with their first
    statement (`begin_with_first_statement`, what filing does) from the start:
    they stay in autocommit rather than being switched to it and back by each
    request (two more awaits each way)."""
    size = loop_pool_size(settings)
    url = make_url(url)
    if size == 0 or url.get_backend_name() != "postgresql":
        return None
    shape: dict[str, Any] = {
        "pool_size": size,
        "max_overflow": 0,
        "pool_timeout": settings.db_pool_timeout_seconds,
        "pool_pre_ping": False,
    }
    if settings.db_prepared_statements:
        asyncpg_url, connect_args = _asyncpg_url(url)
        engine = create_async_engine(asyncpg_url, connect_args=connect_args, **shape)
        event.listen(engine.sync_engine, "do_connect", _asyncpg_connect)
        return engine
    _cache_long_statements()
    engine = create_async_engine(
        url.set(drivername="postgresql+psycopg"),
        connect_args=postgres_connect_args(settings),
        isolation_level="AUTOCOMMIT",
        execution_options={_BEGINS_ITSELF: True},
        **shape,
    )
    event.listen(engine.sync_engine, "before_cursor_execute", _begin_before)
    return engine


def _asyncpg_url(url: URL) -> tuple[URL, dict[str, Any]]:
    """`url` (libpq's terms, as psycopg takes it) for SQLAlchemy's asyncpg dialect,
    and the connect arguments that stand for the libpq parameters asyncpg names
    otherwise. The hosts of a failover URL (`?host=h1:p1&host=h2:p2`) and
    `target_session_attrs` mean the same to both. A parameter asyncpg has no
    word for refuses to start rather than be dropped."""
    query = dict(url.query)
    args: dict[str, Any] = {}
    if "application_name" in query:
        args["server_settings"] = {"application_name": query.pop("application_name")}
    if "sslmode" in query:
        args["ssl"] = query.pop("sslmode")
    if "connect_timeout" in query:
        args["timeout"] = float(query.pop("connect_timeout"))  # type: ignore[arg-type]
    unknown = sorted(set(query) - {"host", "target_session_attrs"})
    if unknown:
        raise ValueError(
            f"the database URL's {', '.join(unknown)}: not understood by the event loop's "
            "driver (asyncpg); set LINLI_DB_LOOP_POOL_SIZE=0 to file in the worker threads"
        )
    return url.set(drivername="postgresql+asyncpg", query=query), args


def _asyncpg_connect(dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
    """Connect as the asyncpg dialect does, turning a failure into a DBAPI error:
    asyncpg raises the socket's errors (a primary gone: connection refused), the
    server's (starting up, too many clients) and its own (a standby when a
    read-write server was asked for) as they come, and SQLAlchemy would pass
    them on as they are; as OperationalError they answer 503
    (errors.database_unavailable), as psycopg's do."""
    import asyncpg

    try:
        return dialect.loaded_dbapi.connect(*cargs, **cparams)
    except (
        OSError,  # TimeoutError too
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.InternalClientError,
    ) as error:
        raise dialect.loaded_dbapi.OperationalError(str(error), error) from error


class LoopSessions:
    """The app's sessions on the event loop (`on_loop`), next to `threads`, its
    sessionmaker of the worker threads. A request takes one of `slots` before a
    session, in order of arrival, as many as the engine has connections: its
    pool (asyncio.Queue) lets a request that has just arrived take a connection
    given back before the requests already waiting for one, which wait again at
    the end of the queue; 32 clients on 8 connections waited up to 1.3 s."""

    def __init__(self, threads: sessionmaker[Session], engine: AsyncEngine) -> None:
        self.threads = threads
        self.engine = engine
        # Sync sessions on the engine's sync face, each run in a greenlet of its own.
        self.factory = sessionmaker(engine.sync_engine, expire_on_commit=False, autoflush=False)
        self.slots = asyncio.Semaphore(engine.pool.size())  # type: ignore[attr-defined]


def loop_sessions(request: Request) -> LoopSessions | None:
    """The app's sessions on the event loop, if it has some and its sessions are
    still its own engine's (a test that binds them to its transaction gets None,
    and the worker threads)."""
    sessions: LoopSessions | None = getattr(request.app.state, "loop_sessions", None)
    if sessions is None or sessions.threads is not request.app.state.sessionmaker:
        return None
    return sessions


# Through a PgBouncer in transaction mode each transaction may run on another
# server connection, so nothing may outlive a transaction on one. What Linli does
# on PostgreSQL, checked for that (issue 20):
# - psycopg's prepared statements (after five runs of a statement) live on the
#   server connection: off with LINLI_DB_PREPARED_STATEMENTS=false, below.
# - The feed's LISTEN lives on its session: on LINLI_DATABASE_DIRECT_URL
#   (`direct_url`, service/feed/notify.py). pg_notify is sent at commit: fine.
# - The idempotency lock is pg_try_advisory_xact_lock (transaction-scoped); the
#   metrics' settings are SET LOCAL; job leases are rows: all fine.
# - Pipeline mode (`pipelined`) runs inside the request's transaction, which
#   keeps its server connection until it ends: fine. So does a transaction whose
#   BEGIN Linli sends itself (`begin_with_first_statement`); a statement read in
#   autocommit (`read_statement_by_statement`) is a transaction of its own.
# - No temporary tables, no WITH HOLD cursors, no session-level SET or advisory
#   lock anywhere. Keep it so, or put the statement on `direct_url`.
def postgres_connect_args(settings: Settings) -> dict[str, Any]:
    """psycopg's connect arguments: prepare_threshold=None (never prepare) when
    LINLI_DB_PREPARED_STATEMENTS is false; nothing otherwise (psycopg's default,
    five runs). Measured on a direct connection: bench/README.md, PgBouncer."""
    return {} if settings.db_prepared_statements else {"prepare_threshold": None}


def direct_url(settings: Settings, url: URL | str | None = None) -> URL:
    """Where to open a connection that keeps a session (a LISTEN): the direct URL
    if set, on the database of `url` (the engine's; default LINLI_DATABASE_URL)
    when it names none; else `url` itself."""
    pooled = make_url(url if url is not None else settings.database_url)
    if not settings.database_direct_url:
        return pooled
    direct = make_url(settings.database_direct_url)
    return direct if direct.database else direct.set(database=pooled.database)


def libpq_conninfo(url: URL | str) -> str:
    """A libpq connection string for a PostgreSQL URL, as SQLAlchemy's psycopg
    dialect would connect: a multi-host URL (`?host=h1:p1&host=h2:p2`, for
    failover) becomes host=h1,h2 port=p1,p2, which the URL rendered back as text
    is not (libpq then keeps the last host= only)."""
    from psycopg.conninfo import make_conninfo
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

    args, kwargs = PGDialect_psycopg().create_connect_args(
        make_url(url).set(drivername="postgresql+psycopg")
    )
    return make_conninfo(*args, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and transactions we begin ourselves.

    pysqlite's own implicit BEGIN is switched off so that write requests can
    take the write lock up front (BEGIN IMMEDIATE) instead of failing with
    SQLITE_BUSY when a read transaction tries to upgrade after another commit.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


_variants: dict[tuple[Engine, str], Engine] = {}


def _variant(
    bind: Engine, name: str, on_create: Callable[[Engine], None] | None = None, **options: Any
) -> Engine:
    """`bind` with these execution `options` (sharing its pool), made once per
    engine and `name`, and kept: the per-request variants below."""
    engine = _variants.get((bind, name))
    if engine is None:
        engine = bind.execution_options(**options)
        if on_create is not None:
            on_create(engine)
        _variants[(bind, name)] = engine
    return engine


def begin_write(session: Session) -> None:
    """Make the session's transaction a write transaction.

    On SQLite, what it read so far is committed (a read snapshot cannot be
    upgraded to a writer once another commit happened) and the next transaction
    starts with BEGIN IMMEDIATE, so writers queue on the busy timeout instead of
    failing. PostgreSQL just carries on in the same transaction. A request keeps
    one session and one connection: two per request deadlock the pool under load.
    """
    bind = session.bind
    if isinstance(bind, Engine) and bind.dialect.name == "sqlite":
        if session.in_transaction():
            session.commit()
        session.bind = _variant(bind, "immediate", sqlite_immediate=True)


def read_statement_by_statement(session: Session) -> None:
    """Let the session's next statements run on PostgreSQL without BEGIN and
    COMMIT (autocommit), for a read that one statement answers: psycopg sends
    each of the two as a round trip of its own (~5% of a page of 50's CPU), and
    under READ COMMITTED every statement has a snapshot of its own inside a
    transaction too, so what a read sees does not change. Never for writes; only
    while the session holds no transaction (as after the principal's look-up).
    SQLite: no-op."""
    bind = session.bind
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        assert not session.in_transaction()
        session.bind = _variant(bind, "autocommit", isolation_level="AUTOCOMMIT")


def _sqlite_param(value: Any) -> Any:
    # What UTCDateTime and SQLAlchemy's SQLite DateTime store: naive UTC text.
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


_PIPELINE = "linli_pipeline"


class _UndecodedText(Loader):
    """PostgreSQL text as the UTF-8 bytes it arrives in. For JSON the database
    wrote that goes out as it is (the page of tickets): decoding it to str and
    encoding the joined page back was ~60 us of a page of 50 (measured with
    psycopg on 51 rows of ~1.2 KB, mostly Chinese: 145-260 us against 73-86 us)."""

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


def driver_execute(
    session: Session,
    sql: dict[str, str],
    params: dict[str, Any],
    *,
    defer: bool = True,
    text_as_bytes: bool = False,
) -> Any:
    """Run a statement written for the driver (`sql` by dialect name: "postgresql"
    with %(name)s, "sqlite" with :name) on the session's connection, in its
    transaction, and return the DBAPI cursor. For the hot paths: no compiling, no
    cache key, no result processing. Values go as the driver takes them: str for
    enums, JSON as text; aware datetimes (stored as naive UTC text on SQLite).
    Inside `pipelined`, PostgreSQL runs it when the block ends; unless `defer` is
    False and no statement was deferred yet (for a query read at once), or the
    session begins its transactions itself (`begin_with_first_statement`): then
    its first statement goes in the pipeline with the BEGIN, and is read at once
    all the same. With
    `text_as_bytes`, PostgreSQL's text columns come undecoded (SQLite's as str)."""
    connection = session.connection()
    driver = _driver(connection)
    if connection.dialect.name == "sqlite":
        params = {k: _sqlite_param(v) for k, v in params.items()}
        cursor = driver.cursor()  # type: ignore[union-attr]
        cursor.execute(sql["sqlite"], params)
        return cursor
    pipeline: _Pipeline | None = session.info.get(_PIPELINE)
    # (Inside a pipeline libpq learns that a transaction began only at its end.)
    begin = (
        connection.get_execution_options().get(_BEGINS_ITSELF, False)
        and driver.pgconn.transaction_status == _IDLE  # type: ignore[union-attr]
        and not (pipeline is not None and pipeline.begun)
    )
    if pipeline is not None and (defer or begin):
        pipeline.enter(connection)
    cursor = driver.cursor()  # type: ignore[union-attr]
    if begin:
        # In a pipeline, in the same round trip as the statement.
        cursor.execute("BEGIN", prepare=False)
        if pipeline is not None:
            pipeline.begun = True
    if text_as_bytes:
        cursor.adapters.register_loader("text", _UndecodedText)
    cursor.execute(sql["postgresql"], params)
    return cursor


def _driver(connection: Connection) -> Any:
    """The driver's connection under `connection`: sqlite3's or psycopg's; for a
    session of `on_loop`, asyncpg's through SQLAlchemy's DBAPI adapter
    (`_Numbered`), or psycopg's AsyncConnection as the sync one it stands for
    (`_Awaited`)."""
    driver = connection.connection.driver_connection
    if isinstance(driver, psycopg.AsyncConnection):
        return _Awaited(driver)
    if connection.dialect.driver == "asyncpg":
        return _Numbered(connection)
    return driver


_NAMED = re.compile(r"%\((\w+)\)s")


@functools.lru_cache(maxsize=256)
def numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """A statement written for psycopg (%(name)s, %% for %) in asyncpg's terms:
    $1, $2 ... (one number per name), and the name each number stands for."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return _NAMED.sub(number, sql).replace("%%", "%"), tuple(names)


class _Numbered:
    """The connection SQLAlchemy's asyncpg dialect adapts (a DBAPI connection whose
    statements await asyncpg inside `on_loop`'s greenlet), taking the driver
    statements as psycopg does: `driver_execute`'s on the event loop. It begins
    the transaction before the first statement and prepares each statement once
    per connection; there is no pipeline (asyncpg has none across statements)
    and no loaders (`text_as_bytes` is for the worker threads' page). Its errors
    are SQLAlchemy's, as if the statement had gone through `connection`: one
    that lost the server invalidates it, which the pool then replaces."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def cursor(self) -> _NumberedCursor:
        return _NumberedCursor(self._connection)

    def pipeline(self) -> Any:
        return nullcontext()


class _NumberedCursor:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def execute(self, query: str, params: Any = None, **_kwargs: Any) -> _NumberedCursor:
        sql, names = numbered(query)
        args = [params[name] for name in names] if names else None
        dialect = self._connection.dialect
        try:
            self._cursor.execute(sql, args)
        except dialect.loaded_dbapi.Error as error:
            gone = dialect.is_disconnect(
                error, self._connection.connection.dbapi_connection, self._cursor
            )
            if gone:
                self._connection.invalidate(error)
            raise DBAPIError.instance(
                sql,
                args,
                error,
                dialect.loaded_dbapi.Error,
                connection_invalidated=gone,
                dialect=dialect,
            ) from error
        return self

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)


class _Awaited:
    """psycopg's AsyncConnection with the sync Connection's calls Linli makes on
    it, each awaited where it is made: inside `on_loop`'s greenlet, as
    SQLAlchemy's own asyncio adapter awaits its statements (await_only)."""

    def __init__(self, driver: psycopg.AsyncConnection[Any]) -> None:
        self._driver = driver
        self.pgconn = driver.pgconn

    def cursor(self) -> _AwaitedCursor:
        return _AwaitedCursor(self._driver.cursor())

    def execute(self, query: str, params: Any = None, **kwargs: Any) -> _AwaitedCursor:
        return _AwaitedCursor(self._driver.cursor()).execute(query, params, **kwargs)

    def pipeline(self) -> _AwaitedContext:
        return _AwaitedContext(self._driver.pipeline())


class _AwaitedContext:
    def __init__(self, manager: Any) -> None:
        self._manager = manager

    def __enter__(self) -> Any:
        return await_only(self._manager.__aenter__())

    def __exit__(self, *exc_info: Any) -> Any:
        return await_only(self._manager.__aexit__(*exc_info))


class _AwaitedCursor:
    def __init__(self, cursor: psycopg.AsyncCursor[Any]) -> None:
        self._cursor = cursor
        self.adapters = cursor.adapters

    def execute(self, query: str, params: Any = None, **kwargs: Any) -> _AwaitedCursor:
        await_only(self._cursor.execute(query, params, **kwargs))
        return self

    def fetchone(self) -> Any:
        return await_only(self._cursor.fetchone())

    def fetchall(self) -> list[Any]:
        return await_only(self._cursor.fetchall())

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount


# driver_execute's SQLite statements name their parameters (:name); the dialect's
# own paramstyle is qmark. PostgreSQL's are psycopg's (%(name)s), whichever
# driver runs them (asyncpg's: `numbered`).
_SQLITE_NAMED = sqlite.dialect(paramstyle="named")
_PSYCOPG = psycopg_dialect()


@dataclass(frozen=True)
class DriverQuery:
    """A Core SELECT compiled once for `driver_execute`: its text by dialect name,
    the values bound in it when it was built, its column names, and each column's
    result processor, so that a row reads as SQLAlchemy would have returned it
    (enums, JSON and instants on SQLite)."""

    sql: dict[str, str]
    values: dict[str, Any]
    names: tuple[str, ...]
    # (column index, processor) for the columns that have one.
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]


def driver_query(
    dialect: Dialect, statement: Select[*tuple[Any, ...]], params: Collection[str]
) -> DriverQuery:
    """Compile `statement` for `driver_one`; `params` names the bind parameters each
    execution fills. Keep the result: compiling is what this saves."""
    compiled = statement.compile(dialect=_SQLITE_NAMED if dialect.name == "sqlite" else _PSYCOPG)
    if "POSTCOMPILE" in compiled.string:
        raise ValueError("expanding parameters are rendered per execution: not for the driver")
    bound = compiled.construct_params(dict.fromkeys(params))
    values = {
        name: value.value if isinstance(value, enum.Enum) else value
        for name, value in bound.items()
        if name not in params
    }
    columns = list(statement.selected_columns)
    processors = [
        (i, column.type.dialect_impl(dialect).result_processor(dialect, None))
        for i, column in enumerate(columns)
    ]
    return DriverQuery(
        sql={dialect.name: compiled.string},
        values=values,
        names=tuple(str(column.key) for column in columns),
        processors=tuple((i, process) for i, process in processors if process is not None),
    )


def _processed(query: DriverQuery, row: Any) -> tuple[Any, ...]:
    if not query.processors:
        return tuple(row)
    values = list(row)
    for i, process in query.processors:
        if values[i] is not None:
            values[i] = process(values[i])
    return tuple(values)


def driver_all(
    session: Session, query: DriverQuery, params: dict[str, Any], *, text_as_bytes: bool = False
) -> list[tuple[Any, ...]]:
    """Every row of `query` with `params`, as tuples (see `driver_one`); with
    `text_as_bytes`, each text column as UTF-8 bytes, on both databases."""
    cursor = driver_execute(
        session, query.sql, {**query.values, **params}, defer=False, text_as_bytes=text_as_bytes
    )
    rows = [_processed(query, row) for row in cursor.fetchall()]
    if text_as_bytes and session.get_bind().dialect.name == "sqlite":
        rows = [tuple(v.encode() if isinstance(v, str) else v for v in row) for row in rows]
    return rows


def driver_one(
    session: Session, query: DriverQuery, params: dict[str, Any]
) -> dict[str, Any] | None:
    """The one row (or None) of `query` with `params`, by column name. Through the
    driver: SQLAlchemy's statement execution and result set-up were ~40% of the
    filing context's CPU (tickets/filing.py)."""
    cursor = driver_execute(session, query.sql, {**query.values, **params}, defer=False)
    row = cursor.fetchone()
    return None if row is None else dict(zip(query.names, _processed(query, row), strict=True))


@contextmanager
def binary_results(session: Session) -> Iterator[None]:
    """Statements run inside get their results from PostgreSQL in binary: for
    wide results of numbers (the metrics rollup's thousands of rows of 131 sums),
    parsing text costs more than the query (measured 115 ms -> 91 ms for 4,784
    such rows). The Python types are the same. SQLite: no-op."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        yield
        return
    import psycopg

    driver: Any = connection.connection.driver_connection
    previous = driver.cursor_factory

    def binary_cursor(conn: Any, *, row_factory: Any = None) -> Any:
        cursor = previous(conn, row_factory=row_factory)
        cursor.format = psycopg.pq.Format.BINARY
        return cursor

    driver.cursor_factory = binary_cursor
    try:
        yield
    finally:
        driver.cursor_factory = previous


@contextmanager
def pipelined(session: Session) -> Iterator[None]:
    """From the first `driver_execute` inside on, statements go to PostgreSQL in
    one round trip when the block ends (psycopg pipeline mode), and their errors
    are raised there. Queries before that first write run as usual; after it,
    writes whose results are read after the block, and `driver_one`/`driver_all`
    queries (read at once). A statement SQLAlchemy runs (the ORM, Core) ends the
    pipeline first on a session that begins its transactions itself; on others
    it must not come after the first write. SQLite: no-op."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    pipeline = session.info[_PIPELINE] = _Pipeline()
    try:
        yield
    except BaseException as error:
        del session.info[_PIPELINE]
        pipeline.leave(error)
        raise
    del session.info[_PIPELINE]
    pipeline.leave()


class _Pipeline:
    """The psycopg pipeline of a `pipelined` block, once entered."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        # The info of the connection it was entered on (a connection invalidated
        # by a lost server since refuses to be asked for it).
        self._info: dict[Any, Any] | None = None
        # Whether driver_execute sent a BEGIN in it.
        self.begun = False

    def enter(self, connection: Connection) -> None:
        if self._info is None:
            self._stack.enter_context(_driver(connection).pipeline())
            self._info = connection.info
            # Where `_begin_before` finds it, to leave it before SQLAlchemy's statements.
            self._info[_PIPELINE] = self

    def leave(self, error: BaseException | None = None) -> None:
        """Sends what is queued and reads every result, raising the first error;
        only logging it (psycopg) when leaving because of `error`."""
        if self._info is not None:
            self._info.pop(_PIPELINE, None)
            self._info = None
            self.begun = False
            self._stack.__exit__(type(error) if error else None, error, None)


# Sessions whose transactions begin with their first statement (below).
_BEGINS_ITSELF = "linli_begins_itself"
_IDLE = psycopg.pq.TransactionStatus.IDLE


def begin_with_first_statement(session: Session) -> None:
    """On PostgreSQL, let the session's next transaction begin in the same round
    trip as its first statement, when that is a `driver_execute` inside
    `pipelined` (the filing context of a creation). psycopg sends the BEGIN of a
    transaction as a round trip of its own, before the first statement, even in
    a pipeline (it syncs there); each round trip costs a worker thread a wait
    and a wake-up (~0.1 ms of CPU here). So the session's connection runs in
    autocommit and Linli sends BEGIN itself, before the first statement of each
    transaction, SQLAlchemy's too (`_begin_before`): the transactions are the
    same, and psycopg's COMMIT and ROLLBACK (sent whenever a transaction is open,
    autocommit or not) end them. Only while the session holds no transaction.
    SQLite: no-op."""
    bind = session.bind
    if not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
        return
    if bind.dialect.driver == "asyncpg":
        return
    if bind.get_execution_options().get(_BEGINS_ITSELF):
        return
    assert not session.in_transaction()
    session.bind = _variant(
        bind,
        _BEGINS_ITSELF,
        lambda engine: event.listen(engine, "before_cursor_execute", _begin_before),
        isolation_level="AUTOCOMMIT",
        **{_BEGINS_ITSELF: True},
    )


def _begin_before(connection: Connection, *_args: Any) -> None:
    # SQLAlchemy reads a statement's description as soon as it is sent, which a
    # pipeline does not give: leave it first (a round trip, as without one).
    pipeline: _Pipeline | None = connection.info.get(_PIPELINE)
    if pipeline is not None:
        pipeline.leave()
    driver = _driver(connection)
    if driver.pgconn.transaction_status == _IDLE:
        driver.execute("BEGIN", prepare=False)


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The order that cannot deadlock. A request runs its database work in worker
# threads and takes connections from a pool. A request that kept a connection
# while it waited for a thread, with every thread busy waiting for a connection,
# wedged the worker for good (the principal cache's expiry sent hundreds of
# lookups at once; AnyIO then lent 40 threads to a pool of 20). So a connection
# is taken only inside a thread and given back before that thread is: every
# trip to the thread pool with the request's session ends its transaction there
# (`in_thread`, `CommitInRoute`), and nothing awaits while it holds one. And a
# process runs as many worker threads as the pool has connections (service.main),
# so a thread does not wait for a connection at all; should one ever, the pool's
# timeout (LINLI_DB_POOL_TIMEOUT_SECONDS) answers 503 instead of queueing.

CLIENT_GONE = "linli_client_gone"
# session.info: the Settings of the app or job runner the session works for
# (what a feature that acts on written rows needs to know of the deployment).
SETTINGS_INFO = "linli_settings"


@event.listens_for(Session, "after_begin")
def _refuse_abandoned(session: Session, _transaction: Any, _connection: Any) -> None:
    # Work whose client gave up while it queued is skipped: nobody would read
    # the answer, and a creation committed after its client timed out is filed
    # twice when the client retries without an Idempotency-Key.
    gone = session.info.get(CLIENT_GONE)
    if gone is not None and gone():
        raise ClientGone


def release(session: Session, *, commit: bool = True) -> None:
    """End the session's transaction (commit, or roll back) so that its
    connection goes back to the pool. Objects stay readable (no expiry)."""
    if not session.in_transaction():
        return
    if commit:
        session.commit()
    else:
        session.rollback()


def _run_and_release(session: Session, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        result = fn(*args, **kwargs)
    except BaseException:
        release(session, commit=False)
        raise
    release(session)
    return result


# The requests' worker threads: one set per event loop, of as many threads as
# AnyIO's default limiter allows when the loop first needs one (service.main
# sets it to the pool's connections, before any request: the order above).
# Not AnyIO's threads, nor an Executor's: their hand-off to a thread (AnyIO's
# CapacityLimiter and queue.Queue, ThreadPoolExecutor's idle semaphore) takes
# and notifies Python-level Conditions on the event loop. It was 13% of the
# loop's time in a page of 50 (py-spy --gil), 10% through a ThreadPoolExecutor;
# a SimpleQueue wakes a waiting thread from C.
class _RequestThreads:
    def __init__(self, size: int) -> None:
        self._work: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._size = size
        for n in range(size):
            threading.Thread(target=self._serve, name=f"linli-request-{n}", daemon=True).start()

    def _serve(self) -> None:
        while (item := self._work.get()) is not None:
            loop, future, call = item
            try:
                result = call()
            except BaseException as error:  # handed to the request, as raised
                loop.call_soon_threadsafe(_settle, future, None, error)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)

    def run(self, loop: asyncio.AbstractEventLoop, call: Callable[[], Any]) -> asyncio.Future[Any]:
        future = loop.create_future()
        self._work.put((loop, future, call))
        return future

    def stop(self) -> None:
        for _ in range(self._size):
            self._work.put(None)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


_REQUEST_THREADS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _RequestThreads] = (
    weakref.WeakKeyDictionary()
)


def _request_threads(loop: asyncio.AbstractEventLoop) -> _RequestThreads:
    threads = _REQUEST_THREADS.get(loop)
    if threads is None:
        size = int(anyio.to_thread.current_default_thread_limiter().total_tokens)
        threads = _REQUEST_THREADS[loop] = _RequestThreads(size)
        # The threads end with their loop (tests run many).
        weakref.finalize(loop, threads.stop)
    return threads


async def run_in_request_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)` in one of the requests' worker threads, with the
    caller's context variables (the request id of the log lines)."""
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    future = _request_threads(loop).run(loop, call)
    # As AnyIO's run_sync: a cancelled request still waits for its thread, which
    # holds its session (and perhaps a connection) until it has released them.
    with anyio.CancelScope(shield=True):
        return await future


async def in_thread(session: Session, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)` in a worker thread; the request's `session` (which
    `fn` may use) is committed, or rolled back if `fn` raised, in that same
    thread, so no connection is held once it returns (see the order above)."""
    return await run_in_request_thread(_run_and_release, session, fn, *args, **kwargs)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request, committed before the response is sent (by
    `CommitInRoute` or `in_thread`, in the thread that did the work).

    On SQLite, requests that may write queue here, on an asyncio lock, before
    any of their sync code takes a worker thread: the database has one writer
    anyway, and a writer holding the write lock while it waits for a thread
    behind others blocked on that lock stalls the process until the busy timeout.
    """
    state = request.app.state
    factory: sessionmaker[Session] = state.sessionmaker
    lock: asyncio.Lock | None = getattr(state, "sqlite_write_lock", None)
    if lock is not None and request.method in _SAFE_METHODS:
        lock = None
    if lock is not None:
        await lock.acquire()
    try:
        with serving(request, factory()) as session:
            yield session
    finally:
        if lock is not None:
            lock.release()


@contextmanager
def serving(request: Request, session: Session) -> Iterator[Session]:
    """`session` working for `request` (the app's settings, whether its client is
    gone), then committed, or rolled back if the request raised, and closed.
    Normally committed or rolled back already, in the thread that did the work;
    anything left is finished here, without waiting for a thread: a connection
    must never wait for one."""
    session.info[SETTINGS_INFO] = request.app.state.settings
    gone = request.scope.get(CLIENT_GONE)
    if gone is not None:
        session.info[CLIENT_GONE] = gone
    try:
        yield session
    except BaseException:
        _finish(session, commit=False)
        raise
    _finish(session, commit=True)


# `get_session` as an `async with`: the hot routes' session (service/hotroute.py).
request_session = asynccontextmanager(get_session)


def _finish(session: Session, *, commit: bool) -> None:
    try:
        release(session, commit=commit)
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


class CommitInRoute(APIRoute):
    """A route whose sync endpoint commits the request's session itself, in the
    worker thread it already runs in, as soon as it returns (or rolls it back if
    it raised): the connection is back in the pool before the thread is, and no
    second trip to the thread pool is needed (each is a context switch under
    load: measured ~7% of a request's CPU). Still the request machinery's commit,
    before the response is sent. Every router uses it. The endpoint runs in the
    requests' worker threads (`run_in_request_thread`), not FastAPI's."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = committing_in_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)


def committing_in_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A sync endpoint as `CommitInRoute` runs it: an async callable that runs it in
    the requests' worker threads and commits (or rolls back) the sessions among
    its keyword arguments there. For the hot routes (service/hotroute.py), which
    call the endpoints of their declared routes directly."""
    return _in_request_thread(_committing(endpoint))


def _in_request_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    # functools.wraps: FastAPI reads the parameters of the endpoint it wraps.
    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await run_in_request_thread(endpoint, *args, **kwargs)

    return run


def _committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def call(*args: Any, **kwargs: Any) -> Any:
        sessions = [value for value in kwargs.values() if isinstance(value, Session)]
        try:
            result = endpoint(*args, **kwargs)
        except BaseException:
            for session in sessions:
                release(session, commit=False)
            raise
        for session in sessions:
            release(session)
        return result

    return call


async def on_loop(
    sessions: LoopSessions,
    request: Request,
    endpoint: Callable[..., Any],
    **kwargs: Any,
) -> Any:
    """`endpoint(session=..., **kwargs)`, a sync endpoint, run on the event loop
    with a session of `sessions` (the app's `LoopSessions`), committed (or rolled back)
    as `committing_in_thread` does, for `request` as `serving` does.

    Filing a ticket in a worker thread cost as much CPU again as its work: each
    of psycopg's calls releases the GIL, and the thread and the event loop handed
    it back and forth (136 futex calls and 78 context switches per creation,
    `perf stat`; the same creations run on the loop's thread took 1.3 ms of CPU
    against 1.8). Here the endpoint runs in a greenlet (SQLAlchemy's
    greenlet_spawn, what AsyncSession.run_sync does) with a sync session on the
    loop engine's sync face, and each statement's wait is an await on asyncpg
    (or psycopg's AsyncConnection): the same code, in order, with no thread.
    The deadlock rules above hold: the connection is taken in the endpoint and
    given back before it returns, and a request waits for it without holding
    another. As for a worker thread, a cancelled request still finishes its
    transaction."""
    with anyio.CancelScope(shield=True):
        async with sessions.slots:
            return await greenlet_spawn(
                _serve_on_loop, sessions.factory(), request, endpoint, kwargs
            )


def _serve_on_loop(
    session: Session, request: Request, endpoint: Callable[..., Any], kwargs: dict[str, Any]
) -> Any:
    # `serving` closes the session; an AsyncSession's close would take another greenlet.
    with serving(request, session):
        return _committing(endpoint)(session=session, **kwargs)


async def get_write_session(session: SessionDep) -> Session:
    # async: no trip to the thread pool; on SQLite this may commit a read-only
    # transaction, which touches no disk.
    begin_write(session)
    return session


WriteSessionDep = Annotated[Session, Depends(get_write_session)]
