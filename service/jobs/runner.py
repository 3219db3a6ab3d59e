"""Run due jobs, each turn on exactly one instance.

Every instance (each `serve` process, each `python -m service worker`) looks
at the schedule (one SELECT of `job_lease`), sleeps until the earliest due
turn (or until woken: `service.jobs.wake`), and for each due job tries to
take its turn with one conditional UPDATE on the job's lease row:

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

A woken job (`on_wake`) is due even before `next_run_at` if its last turn
began before the wake-up (`last_started_at < woken_at`): a turn that began
after the wake-up has seen the work, so instances that hear the same NOTIFY
mostly share one turn (one that heard it later than another began may take a
second, which finds nothing left to do: never fewer turns than needed).

An idle instance does nothing between turns: no tick, no query (it used to
wake every second and claim each job in a write transaction to find that
nothing was due).

Each claimed turn runs in a thread of its own (`run_forever`): a webhook turn
waiting on slow receivers does not hold up the SLA sweep (it used to: the
turns ran one after another, and one tenant's tarpit stopped `sla.breaches`
for over a minute).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from service.config import Settings
from service.db import utcnow
from service.jobs import JOBS, Job, JobContext
from service.jobs.models import JobLease
from service.jobs.wake import SqliteWatermark, Wakeup
from service.telemetry import instruments
from service.telemetry.context import bound, new_id

log = logging.getLogger("linli.jobs")

LEASE = dt.timedelta(minutes=5)
# The longest an instance sleeps without looking at the schedule: a turn that
# another instance moved, or a wake-up that was lost, waits no longer than this.
MAX_SLEEP_SECONDS = 60.0
# A wake-up that found its job's turn held by another instance (a turn that began
# before the wake-up) looks again this soon; so does a pass that failed.
RETRY_SECONDS = 1.0
# Woken passes start at most this often: under a stream of commits the woken
# jobs run in batches, not once per commit.
WAKE_MIN_SECONDS = 0.5
# SQLite without NOTIFY (service.jobs.wake.SqliteWatermark): how often to look.
WATCH_SECONDS = 1.0
# The runner's own connections (service.main): the claims, and a session for each
# job whose turn runs at the same time (six jobs today).
JOBS_POOL = (3, 6)
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


@dataclass(frozen=True)
class _Slot:
    """A job's row of `job_lease`, as read."""

    next_run_at: dt.datetime
    leased_until: dt.datetime | None
    last_started_at: dt.datetime | None

    def free(self, now: dt.datetime) -> bool:
        return self.leased_until is None or self.leased_until < now

    def owes(self, woken_at: dt.datetime | None) -> bool:
        """Whether no turn has begun since the wake-up."""
        return woken_at is not None and (
            self.last_started_at is None or self.last_started_at < woken_at
        )

    def due(self, now: dt.datetime, woken_at: dt.datetime | None) -> bool:
        return self.free(now) and (self.next_run_at <= now or self.owes(woken_at))


def _schedule(engine: Engine, jobs: Iterable[Job]) -> dict[str, _Slot]:
    """One read, no lock: which turns look due. The claim decides."""
    names = [job.name for job in jobs]
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                JobLease.name,
                JobLease.next_run_at,
                JobLease.leased_until,
                JobLease.last_started_at,
            ).where(JobLease.name.in_(names))
        ).all()
        connection.rollback()
    return {row.name: _Slot(row.next_run_at, row.leased_until, row.last_started_at) for row in rows}


def _claim(
    engine: Engine, job: Job, now: dt.datetime, owner: str, woken_at: dt.datetime | None = None
) -> bool:
    due = JobLease.next_run_at <= now
    if woken_at is not None:
        due = due | JobLease.last_started_at.is_(None) | (JobLease.last_started_at < woken_at)
    with _begin(engine) as connection:
        claimed = connection.execute(
            update(JobLease)
            .where(
                JobLease.name == job.name,
                due,
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
    sooner: Iterable[dt.datetime] = (),
) -> None:
    finished = utcnow()
    with _begin(engine) as connection:
        connection.execute(
            update(JobLease)
            .where(JobLease.name == job.name, JobLease.leased_by == owner)
            .values(
                next_run_at=min([started + job.every, *sooner]),
                leased_until=None,
                leased_by=None,
                last_finished_at=finished,
                last_result=result,
                last_error=error,
                runs=JobLease.runs + 1,
            )
        )
        connection.commit()


@dataclass(frozen=True)
class Pass:
    """What one pass over the jobs did, and when the instance should look again."""

    done: dict[str, int]
    next_due: dt.datetime
    # No woken job still owes a turn since the wake-up (one began after it).
    woken_served: bool


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
    return run_pass(engine, settings, now, owner=owner, only=only).done


def run_pass(
    engine: Engine,
    settings: Settings,
    now: dt.datetime | None = None,
    *,
    owner: str = INSTANCE,
    only: Iterable[str] | None = None,
    woken_at: dt.datetime | None = None,
) -> Pass:
    """`run_due`, also taking the turns of woken jobs (`on_wake`) that none has
    taken since `woken_at`; and when the next turn of any job falls due. The
    turns run one after another (tests, `worker --once`); `run_forever` runs
    each in a thread of its own."""
    jobs = _jobs(only)
    now = now or utcnow()
    claimed, schedule = claim_due(engine, jobs, now, owner, woken_at)
    done: dict[str, int] = {}
    for job in claimed:
        result = run_turn(engine, settings, job, now, owner)
        if result is not None:
            done[job.name] = result
    after = _schedule(engine, jobs) if claimed else schedule
    next_due, served = _next_due(jobs, after, utcnow(), woken_at)
    return Pass(done=done, next_due=next_due, woken_served=served)


def _jobs(only: Iterable[str] | None) -> list[Job]:
    """The registered jobs (the composition root imported every feature's)."""
    return [JOBS[name] for name in only] if only is not None else list(JOBS.values())


def claim_due(
    engine: Engine,
    jobs: list[Job],
    now: dt.datetime,
    owner: str,
    woken_at: dt.datetime | None,
    busy: Collection[str] = (),
) -> tuple[list[Job], dict[str, _Slot]]:
    """Take the turns that are due of `jobs` not `busy` here (one SELECT, then one
    conditional UPDATE per due job): the jobs whose turn this instance now
    holds, and the schedule as read before the claims."""
    schedule = _schedule(engine, jobs)
    missing = [job for job in jobs if job.name not in schedule]
    if missing:  # the first pass of a new job (on any instance)
        _ensure_rows(engine, missing, now)
        schedule = _schedule(engine, jobs)
    claimed = []
    for job in jobs:
        woken = woken_at if job.on_wake else None
        slot = schedule.get(job.name)
        if job.name in busy or slot is None or not slot.due(now, woken):
            continue
        if _claim(engine, job, now, owner, woken):
            claimed.append(job)
    return claimed, schedule


def run_turn(
    engine: Engine,
    settings: Settings,
    job: Job,
    now: dt.datetime,
    owner: str,
    stopping: threading.Event | None = None,
) -> int | None:
    """Run one claimed turn and give the lease back; what the job did (None: it failed)."""
    result: int | None = None
    error: str | None = None
    context = JobContext(engine=engine, settings=settings, now=now, stopping=stopping)
    started = time.perf_counter()
    # The turn's log lines (its deliveries' too) name it as a request's name the request.
    with bound(f"job-{job.name}-{new_id()[:12]}"):
        try:
            result = job.run(context)
        except Exception:
            error = traceback.format_exc(limit=20)
            log.exception("job %s failed", job.name)
    instruments.JOB_DURATION.labels(job.name).observe(time.perf_counter() - started)
    instruments.JOB_RUNS.labels(job.name, "failed" if error else "ok").inc()
    # A failed turn waits its interval: no retry storm against a broken job.
    sooner = context.sooner if error is None else []
    _release_surely(engine, job, now, owner, result, error, sooner)
    return result


def _next_due(
    jobs: list[Job],
    schedule: dict[str, _Slot],
    now: dt.datetime,
    woken_at: dt.datetime | None,
    busy: Collection[str] = (),
) -> tuple[dt.datetime, bool]:
    """When to look at the schedule again, and whether every woken job has begun a
    turn since `woken_at`. `busy`: jobs whose turn runs here now; their end is
    looked at when it comes."""
    due: list[dt.datetime] = [now + dt.timedelta(seconds=MAX_SLEEP_SECONDS)]
    served = True
    for job in jobs:
        slot = schedule.get(job.name)
        if job.name in busy:
            if job.on_wake and slot is not None and slot.owes(woken_at):
                served = False
            continue
        if slot is None:
            due.append(now)
            continue
        if slot.free(now):
            at = slot.next_run_at
        else:
            # Another instance's turn: it sets the next one. Look again when its
            # lease runs out (it died), or after an interval (it ran once and left).
            assert slot.leased_until is not None
            at = min(slot.leased_until, now + job.every)
        if job.on_wake and slot.owes(woken_at):
            served = False
            at = min(at, now + dt.timedelta(seconds=RETRY_SECONDS))
        due.append(at)
    return min(due), served


def _release_surely(
    engine: Engine,
    job: Job,
    started: dt.datetime,
    owner: str,
    result: int | None,
    error: str | None,
    sooner: Iterable[dt.datetime] = (),
) -> None:
    for attempt in range(1, RELEASE_TRIES + 1):
        try:
            _release(engine, job, started, owner, result, error, sooner)
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


async def run_forever(
    engine: Engine,
    settings: Settings,
    stop: asyncio.Event,
    wakeup: Wakeup | None = None,
    *,
    watch: SqliteWatermark | None = None,
    only: Iterable[str] | None = None,
) -> None:
    """The loop inside `serve` and `worker`: take the due turns, start each in a
    thread of its own, then sleep until the next turn falls due, `wakeup` is
    woken or a turn ends. A turn of one job never waits for another's (a webhook
    turn held up by slow receivers does not hold up the SLA sweep). The threads
    are the runner's own, not the requests' pool: a full pool of waiting
    requests cannot hold up a turn. A look at the schedule that fails (a
    database blip) is tried again a second later. On `stop`, turns in progress
    take no new batch and are waited for.

    `watch`: also wake when it changes, looking every WATCH_SECONDS (SQLite: a
    `worker` beside `serve`, where no commit hook and no NOTIFY reach).
    `only`: these jobs (tests)."""
    loop = asyncio.get_running_loop()
    wakeup = wakeup or Wakeup()
    wakeup.bind(loop)
    jobs = _jobs(only)
    if not jobs:
        log.warning("no jobs registered: import service.main.FEATURE_JOBS first")
    # One thread per job and one for the claims: no turn waits for a thread.
    threads = ThreadPoolExecutor(len(jobs) + 1, thread_name_prefix="linli-job")
    stopping = threading.Event()
    running: dict[str, asyncio.Future[int | None]] = {}

    def ended(name: str) -> None:
        running.pop(name, None)
        wakeup.poke()  # its next turn is set: look at the schedule again

    def start(job: Job, now: dt.datetime) -> None:
        turn = loop.run_in_executor(
            threads,
            functools.partial(run_turn, engine, settings, job, now, INSTANCE, stopping),
        )
        running[job.name] = turn
        turn.add_done_callback(lambda _turn: ended(job.name))

    last_woken_pass = -WAKE_MIN_SECONDS
    try:
        while not stop.is_set():
            generation, woken_at = wakeup.generation, wakeup.at
            if woken_at is not None:
                # A burst of commits: let it gather (WAKE_MIN_SECONDS between woken passes).
                gap = last_woken_pass + WAKE_MIN_SECONDS - loop.time()
                if gap > 0:
                    await wakeup.sleep(stop, gap, generation)
                    continue
                last_woken_pass = loop.time()
            try:
                plan = await loop.run_in_executor(
                    threads,
                    functools.partial(_plan, engine, jobs, woken_at, frozenset(running)),
                )
            except Exception:  # a database blip must not end the loop
                log.exception("job pass failed")
                delay = RETRY_SECONDS
            else:
                for job in plan.claimed:
                    start(job, plan.now)
                if plan.woken_served:
                    wakeup.served(woken_at)
                delay = (plan.next_due - utcnow()).total_seconds()
            delay = min(max(delay, 0.0), MAX_SLEEP_SECONDS)
            if watch is None:
                await wakeup.sleep(stop, delay, generation)
                continue
            deadline = loop.time() + delay
            while not stop.is_set():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                if await wakeup.sleep(stop, min(remaining, WATCH_SECONDS), generation):
                    break
                if watch.changed():
                    wakeup.wake()
                    break
    finally:
        stopping.set()
        if running:
            await asyncio.wait(list(running.values()))
        threads.shutdown(wait=False)


@dataclass(frozen=True)
class _Plan:
    now: dt.datetime
    claimed: list[Job]
    next_due: dt.datetime
    woken_served: bool


def _plan(
    engine: Engine, jobs: list[Job], woken_at: dt.datetime | None, busy: frozenset[str]
) -> _Plan:
    """Claim the due turns of the jobs not running here; when to look again (a
    claimed turn began after the wake-up: it owes nothing)."""
    now = utcnow()
    claimed, schedule = claim_due(engine, jobs, now, INSTANCE, woken_at, busy)
    if claimed:
        schedule = _schedule(engine, jobs)
    busy = busy | {job.name for job in claimed}
    next_due, served = _next_due(jobs, schedule, utcnow(), woken_at, busy)
    return _Plan(now, claimed, next_due, served)
