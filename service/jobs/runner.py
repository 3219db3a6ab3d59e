"""Run due jobs, each turn on exactly one instance.

Every instance (each `serve` process, each `python -m service worker`) ticks
once a second and, for each registered job, tries to take its turn with one
conditional UPDATE on the job's lease row:

    UPDATE job_lease SET leased_until = now + lease, leased_by = me
     WHERE name = :job AND next_run_at <= now
       AND (leased_until IS NULL OR leased_until < now)

On PostgreSQL the row lock makes a second, concurrent UPDATE wait for the
first to commit and then re-check its WHERE against the committed row, which
no longer matches: one winner. On SQLite the UPDATE runs under BEGIN
IMMEDIATE, one writer at a time: one winner. The winner runs the job, then
sets the next turn and clears the lease. If it dies mid-turn, the lease runs
out and another instance takes the turn; jobs are written to be re-runnable
(conditional updates, unique keys), so a repeated turn does no work twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import time
import traceback
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from service.config import Settings
from service.db import utcnow
from service.jobs import JOBS, Job, JobContext, catalog
from service.jobs.models import JobLease

log = logging.getLogger("linli.jobs")

LEASE = dt.timedelta(minutes=5)
TICK_SECONDS = 1.0
# The runner's own connections (service.main): a turn's claim, its job's session
# and, for the webhooks, the recording of what was delivered.
JOBS_POOL = (3, 0)
# Giving a lease back is retried this many times, a second apart: a lease that
# stays taken stops its job for LEASE on every instance.
RELEASE_TRIES = 5

INSTANCE = f"{socket.gethostname()}:{os.getpid()}"


def _begin(engine: Engine) -> Connection:
    connection = engine.connect()
    if engine.dialect.name == "sqlite":
        connection = connection.execution_options(sqlite_immediate=True)
    connection.begin()
    return connection


def _ensure_rows(engine: Engine, jobs: Iterable[Job], now: dt.datetime) -> None:
    rows = [{"name": job.name, "next_run_at": now, "runs": 0} for job in jobs]
    if not rows:
        return
    insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(JobLease)
    with _begin(engine) as connection:
        connection.execute(insert.on_conflict_do_nothing(index_elements=["name"]), rows)
        connection.commit()


def _claim(engine: Engine, job: Job, now: dt.datetime, owner: str) -> bool:
    with _begin(engine) as connection:
        claimed = connection.execute(
            update(JobLease)
            .where(
                JobLease.name == job.name,
                JobLease.next_run_at <= now,
                (JobLease.leased_until.is_(None)) | (JobLease.leased_until < now),
            )
            .values(leased_until=now + LEASE, leased_by=owner, last_started_at=now)
        ).rowcount
        connection.commit()
    return claimed == 1


def _release(
    engine: Engine,
    job: Job,
    started: dt.datetime,
    owner: str,
    result: int | None,
    error: str | None,
) -> None:
    finished = utcnow()
    with _begin(engine) as connection:
        connection.execute(
            update(JobLease)
            .where(JobLease.name == job.name, JobLease.leased_by == owner)
            .values(
                next_run_at=started + job.every,
                leased_until=None,
                leased_by=None,
                last_finished_at=finished,
                last_result=result,
                last_error=error,
                runs=JobLease.runs + 1,
            )
        )
        connection.commit()


def run_due(
    engine: Engine,
    settings: Settings,
    now: dt.datetime | None = None,
    *,
    owner: str = INSTANCE,
    only: Iterable[str] | None = None,
) -> dict[str, int]:
    """Take and run every job whose turn is due; return what each did.

    `now` is the instant the jobs judge by (tests pass a future one)."""
    catalog.load()
    now = now or utcnow()
    jobs = [JOBS[name] for name in only] if only is not None else list(JOBS.values())
    _ensure_rows(engine, jobs, now)
    done: dict[str, int] = {}
    for job in jobs:
        if not _claim(engine, job, now, owner):
            continue
        result: int | None = None
        error: str | None = None
        try:
            result = job.run(JobContext(engine=engine, settings=settings, now=now))
            done[job.name] = result
        except Exception:
            error = traceback.format_exc(limit=20)
            log.exception("job %s failed", job.name)
        _release_surely(engine, job, now, owner, result, error)
    return done


def _release_surely(
    engine: Engine,
    job: Job,
    started: dt.datetime,
    owner: str,
    result: int | None,
    error: str | None,
) -> None:
    for attempt in range(1, RELEASE_TRIES + 1):
        try:
            _release(engine, job, started, owner, result, error)
            return
        except (OperationalError, InterfaceError, PoolTimeout):
            if attempt == RELEASE_TRIES:
                raise
            log.warning("job %s: giving back its lease failed; retrying", job.name)
            time.sleep(1.0)


def job_status(engine: Engine) -> list[JobLease]:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        return list(session.scalars(select(JobLease).order_by(JobLease.name)))


async def run_forever(engine: Engine, settings: Settings, stop: asyncio.Event) -> None:
    """The loop inside `serve` and `worker`. The sync work runs in the event
    loop's default executor, not in the requests' thread pool: a full pool of
    waiting requests cannot hold up a turn. A turn that fails (a database blip)
    is tried again at the next tick."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(run_due, engine, settings)
        except Exception:  # a database blip must not end the loop
            log.exception("job tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=TICK_SECONDS)
