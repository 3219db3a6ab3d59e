"""A read replica (LINLI_READ_DATABASE_URL): a PostgreSQL streaming standby that
answers the reads which may be a moment old, so that they do not take the
primary's connections and CPU from the writes.

What may go there (`ReadSessionDep`): the metrics' summaries, rankings and
trends and their exports, the dashboard's page, Open311's lists of services and
requests. What stays on the primary: anything that must see its own writes or
writes of a moment ago (the feed and its horizon, idempotency, a ticket after
an action, everything under a write, authentication).

Routing. A read session chooses its server at its first statement, in the
worker thread that runs it (a connection is only ever taken in one, service/db.py),
and keeps it for the request: the replica when the last reading of its lag is at
most LINLI_READ_MAX_LAG_SECONDS, else the primary. The lag is read at most once
per CHECK_SECONDS per process, in a thread of its own started by the first
request that finds the reading out of date (single flight; no request waits for
it, a silent replica's connect timeout included), on a connection of its own.
So a routed read is at most LINLI_READ_MAX_LAG_SECONDS + CHECK_SECONDS behind.
A replica that does not answer, or fails a request's statement, is taken as down
until the next reading says otherwise; until the first reading, reads go to the
primary.

Lag, read on the standby: 0 when everything it received is replayed and its WAL
receiver is streaming (an idle primary sends nothing to replay, so the time of
the last replayed commit says nothing then), else now() minus the time of the
last commit replayed (NULL, never replayed anything yet: unknown, bypassed).
Not in recovery (promoted, or the URL names a primary): 0.

Connections: the replica's engine has the same pool as the requests' (service/db.py
pool_shape, LINLI_DB_POOL_TIMEOUT_SECONDS): a process has as many worker threads
as that, each holding at most one connection of each engine, so none waits for
one; plus one for the lag. So workers x (pool + 1) must fit the standby's
max_connections, as workers x pool (+ jobs, + LISTEN) the primary's.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from service.db import SessionDep, make_engine, serving

log = logging.getLogger("linli.replica")

CHECK_SECONDS = 1.0
# A standby that does not answer must not hold the reading thread long (libpq's
# connect_timeout, in seconds; 2 is its least).
CONNECT_TIMEOUT_SECONDS = 2

LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() IS NOT NULL
         AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
         AND EXISTS (SELECT FROM pg_stat_wal_receiver WHERE status = 'streaming')
        THEN 0
    ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
END
"""


@dataclass(frozen=True)
class Reading:
    up: bool
    lag_seconds: float | None  # None: unknown (down, or nothing replayed yet)
    at: float  # time.monotonic() when it was taken (a reading: when it began)


class ReadReplica:
    """The replica's engine, its last reading, and the routing decision."""

    def __init__(
        self,
        engine: Engine,
        max_lag_seconds: float,
        *,
        check_seconds: float = CHECK_SECONDS,
        checks: Engine | None = None,
    ) -> None:
        self.engine = engine
        # Where the lag is read: a pool of one of its own, so that the reading
        # never waits for (nor takes) a connection of the requests'.
        self.checks = checks or engine
        self.max_lag_seconds = max_lag_seconds
        self.check_seconds = check_seconds
        self._reading = Reading(False, None, -math.inf)
        self._reading_lock = threading.Lock()  # held while a reading is in progress
        self._set_lock = threading.Lock()
        event.listen(engine, "handle_error", self._on_error)

    @property
    def reading(self) -> Reading:
        """The last reading, without reading again."""
        return self._reading

    def current(self) -> Reading:
        """The last reading; when it is out of date and no reading is in
        progress, one starts in a thread of its own (single flight). Never
        waits: a request goes on with the last reading, even while a silent
        replica holds the reading for its connect timeout."""
        if time.monotonic() - self._reading.at >= self.check_seconds and (
            self._reading_lock.acquire(blocking=False)
        ):
            try:
                threading.Thread(
                    target=self._refresh_and_release, name="linli-replica-lag", daemon=True
                ).start()
            except BaseException:
                self._reading_lock.release()
                raise
        return self._reading

    def settle(self) -> None:
        """Until a reading in progress, if any, is done."""
        with self._reading_lock:
            pass

    def _refresh_and_release(self) -> None:
        try:
            self.refresh()
        finally:
            self._reading_lock.release()

    def refresh(self) -> Reading:
        """Read the lag now, in this thread."""
        started = time.monotonic()
        try:
            with self.checks.connect() as connection:
                lag = connection.exec_driver_sql(LAG_SQL).scalar()
                connection.rollback()
            reading = Reading(True, None if lag is None else max(float(lag), 0.0), started)
        except Exception:  # noqa: BLE001 - a replica that does not answer is bypassed
            if self._reading.up:
                log.warning("read replica: not answering; reads go to the primary", exc_info=True)
            reading = Reading(False, None, started)
        self.note(reading)
        return self._reading

    def note(self, reading: Reading) -> None:
        """Take `reading` as the current one, unless a later one is held."""
        with self._set_lock:
            # A reading slower than a later one (or than a failure seen since) is old news.
            if reading.at < self._reading.at:
                return
            before = self.usable_by(self._reading)
            self._reading = reading
        after = self.usable_by(reading)
        if before != after:
            log.info(
                "read replica: reads now go to the %s (lag %s s)",
                "replica" if after else "primary",
                "unknown" if reading.lag_seconds is None else f"{reading.lag_seconds:.3f}",
            )

    def usable_by(self, reading: Reading) -> bool:
        return (
            reading.up
            and reading.lag_seconds is not None
            and reading.lag_seconds <= self.max_lag_seconds
        )

    def usable(self) -> bool:
        """Whether a read session starting now goes to the replica."""
        return self.usable_by(self.current())

    def _on_error(self, context: Any) -> None:
        # A statement or connection that failed on the replica (the request
        # answers 503, see service/errors.py): bypassed until the next reading.
        if context.is_disconnect or context.connection is None:
            self.note(Reading(False, None, time.monotonic()))

    def dispose(self) -> None:
        self.engine.dispose()
        if self.checks is not self.engine:
            self.checks.dispose()


# Session.info keys of a read session.
_REPLICA = "linli_read_replica"
_CHOSEN = "linli_read_bind"


class ReadSession(Session):
    """A session whose bind (the primary, its sessionmaker's) is replaced by the
    replica's engine at the first statement when the replica is usable then;
    the choice holds for the session's life (one request on one server)."""

    def get_bind(
        self, mapper: Any = None, *, clause: Any = None, bind: Any = None, **kw: Any
    ) -> Any:
        if bind is not None:
            return bind
        chosen = self.info.get(_CHOSEN)
        if chosen is None:
            replica: ReadReplica | None = self.info.get(_REPLICA)
            if replica is not None and replica.usable():
                chosen = replica.engine
            else:
                chosen = super().get_bind(mapper, clause=clause, **kw)
            self.info[_CHOSEN] = chosen
        return chosen


def read_session(factory: Any, replica: ReadReplica) -> Session:
    """A new read session of `factory` (a sessionmaker of ReadSession on the primary)."""
    session: Session = factory()
    session.info[_REPLICA] = replica
    return session


def served_by_replica(session: Session) -> bool | None:
    """Whether the session's reads went to the replica (None: it read nothing yet)."""
    chosen = session.info.get(_CHOSEN)
    if chosen is None:
        return None
    replica: ReadReplica | None = session.info.get(_REPLICA)
    return replica is not None and chosen is replica.engine


def install_read_replica(app: Any, settings: Any, primary: Engine) -> ReadReplica | None:
    """With LINLI_READ_DATABASE_URL, the replica on `app.state.read_replica` and a
    sessionmaker of read sessions on the primary `engine`; else nothing."""
    if not settings.read_database_url:
        return None
    from sqlalchemy.orm import sessionmaker

    timeout = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    url = settings.read_database_url
    engine = make_engine(settings, url=url, connect_args=timeout)
    checks = make_engine(settings, url=url, connect_args=timeout, pool=(1, 0))
    replica = ReadReplica(engine, settings.read_max_lag_seconds, checks=checks)
    app.state.read_replica = replica
    app.state.read_sessionmaker = sessionmaker(
        primary, class_=ReadSession, expire_on_commit=False, autoflush=False
    )
    return replica


class ReplicaGauges(Collector):
    """/metrics: the replica's last reading (read again when out of date)."""

    def __init__(self, replica: ReadReplica) -> None:
        self.replica = replica

    def collect(self) -> Iterator[Metric]:
        reading = self.replica.current()
        up = GaugeMetricFamily(
            "linli_read_replica_up", "1 if the read replica answered its last lag reading, else 0"
        )
        up.add_metric([], 1 if reading.up else 0)
        lag = GaugeMetricFamily(
            "linli_read_replica_lag_seconds",
            "The read replica's replay lag at its last reading (NaN: unknown)",
        )
        lag.add_metric([], math.nan if reading.lag_seconds is None else reading.lag_seconds)
        used = GaugeMetricFamily(
            "linli_read_replica_in_use",
            "1 if reads go to the replica (up, lag within LINLI_READ_MAX_LAG_SECONDS), "
            "0 if to the primary",
        )
        used.add_metric([], 1 if self.replica.usable_by(reading) else 0)
        yield from (up, lag, used)


async def get_read_session(request: Request, session: SessionDep) -> AsyncIterator[Session]:
    """For the reads that may be a moment old (above): without a read
    replica, the request's session itself; with one, a session of its own that
    goes to the replica when that is up to date enough, else to the primary.
    Whichever it is, the route uses it alone (its other session holds no
    connection by then: see the order above), committed as the request's is."""
    state = request.app.state
    replica = getattr(state, "read_replica", None)
    if replica is None:
        yield session
        return
    with serving(request, read_session(state.read_sessionmaker, replica)) as reads:
        yield reads


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
