"""Periodic work, run once per interval across however many instances run.

A job is a function `run(context) -> int` (how much work it did) registered
with `@job(name, every=...)`. The runner (`service.jobs.runner`) claims a
job's turn with a lease row in the database, so that each turn runs on one
instance only; the job itself must still be safe to re-run after a crash
(conditional UPDATEs, unique keys), because a lease can expire mid-work.
Modules that define jobs are listed in `service.jobs.catalog`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from service.config import Settings
from service.db import begin_write

# A turn stops taking new batches after this long, well inside the runner's
# five-minute lease, and leaves the rest to the next turn.
TURN_BUDGET_SECONDS = 60.0


@dataclass(frozen=True)
class JobContext:
    engine: Engine
    settings: Settings
    now: dt.datetime
    started: float = field(default_factory=time.monotonic)

    def more_time(self) -> bool:
        """Whether the turn may start another batch."""
        return time.monotonic() - self.started < TURN_BUDGET_SECONDS

    def session(self) -> Session:
        """A new write session (BEGIN IMMEDIATE on SQLite); the job commits what it
        does, in as many transactions as it needs."""
        session = Session(self.engine, expire_on_commit=False, autoflush=False)
        begin_write(session)
        return session


@dataclass(frozen=True)
class Job:
    name: str
    every: dt.timedelta
    run: Callable[[JobContext], int]


JOBS: dict[str, Job] = {}


def job(name: str, *, every: dt.timedelta) -> Callable[[Callable[[JobContext], int]], Callable]:
    def register(run: Callable[[JobContext], int]) -> Callable[[JobContext], int]:
        if name in JOBS:
            raise ValueError(f"job {name!r} registered twice")
        JOBS[name] = Job(name=name, every=every, run=run)
        return run

    return register
