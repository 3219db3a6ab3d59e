"""Periodic work, run once per interval across however many instances run.

A job is a function `run(context) -> int` (how much work it did) registered
with `@job(name, every=...)`. The runner (`service.jobs.runner`) claims a
job's turn with a lease row in the database, so that each turn runs on one
instance only; the job itself must still be safe to re-run after a crash
(conditional UPDATEs, unique keys), because a lease can expire mid-work.
Features declare their jobs; the runner knows none of them: the composition
root (`service.main.FEATURE_JOBS`) imports every feature's job module, which
registers its jobs here.

Each job's turns run in a thread of their own: a long turn of one job (the
webhooks', waiting for slow receivers) never holds up another's (the SLA
sweep). Two turns of the same job never overlap: its lease.

A job's next turn is `every` after this one began, or sooner if the turn
says so (`context.run_again_by(at)`: a retry that falls due earlier). A job
registered with `on_wake=True` also runs as soon as the runner is woken
(`service.jobs.wake`; the composition root wakes it when events commit), so its
`every` is only a safety net.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from service.config import Settings
from service.db import SETTINGS_INFO, begin_write

# A turn stops taking new batches after this long, well inside the runner's
# five-minute lease, and leaves the rest to the next turn.
TURN_BUDGET_SECONDS = 60.0


@dataclass(frozen=True)
class JobContext:
    engine: Engine
    settings: Settings
    now: dt.datetime
    started: float = field(default_factory=time.monotonic)
    # Set when the instance is stopping: a turn takes no new batch.
    stopping: threading.Event | None = None
    # Instants by which the job wants its next turn (run_again_by).
    sooner: list[dt.datetime] = field(default_factory=list, init=False, repr=False)

    def run_again_by(self, at: dt.datetime) -> None:
        """Have the next turn no later than `at` (it may be sooner than `every`;
        in the past: at once)."""
        self.sooner.append(at)

    def more_time(self) -> bool:
        """Whether the turn may start another batch."""
        if self.stopping is not None and self.stopping.is_set():
            return False
        return time.monotonic() - self.started < TURN_BUDGET_SECONDS

    def session(self) -> Session:
        """A new write session (BEGIN IMMEDIATE on SQLite); the job commits what it
        does, in as many transactions as it needs."""
        session = Session(self.engine, expire_on_commit=False, autoflush=False)
        session.info[SETTINGS_INFO] = self.settings
        begin_write(session)
        return session


@dataclass(frozen=True)
class Job:
    name: str
    every: dt.timedelta
    run: Callable[[JobContext], int]
    # Run at once when the runner is woken (work was just committed).
    on_wake: bool = False


JOBS: dict[str, Job] = {}


def job(
    name: str, *, every: dt.timedelta, on_wake: bool = False
) -> Callable[[Callable[[JobContext], int]], Callable]:
    def register(run: Callable[[JobContext], int]) -> Callable[[JobContext], int]:
        if name in JOBS:
            raise ValueError(f"job {name!r} registered twice")
        JOBS[name] = Job(name=name, every=every, run=run, on_wake=on_wake)
        return run

    return register
