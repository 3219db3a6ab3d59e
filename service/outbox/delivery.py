"""Delivering an outbox: claim due rows under a lease, attempt them outside any
transaction, record the outcome; back off exponentially with jitter; dead-letter
after the queue's maximum of attempts.

Fair between partitions (a queue's choice: organisations for webhooks, channels
for notifications): at most `Policy.concurrency` attempts are in flight at
once, at most `Policy.share` of them one partition's, and a claim takes each
partition's earliest due rows in turn (the first of every partition, then the
second...). Each attempt has `Policy.timeout` seconds in all. A slot that frees
is filled at once, not at the end of a batch: one partition's slow receiver
holds its own share of slots for at most the timeout, and everyone else's
deliveries go by.

Safe with any number of deliverers at once: a claim takes rows whose lease has
lapsed (PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent claims take different
rows; SQLite: one writer at a time) and increments `attempts`, which fences the
outcome: an attempt whose lease expired and whose row was claimed again by
someone else records its log line but does not touch the row. A deliverer that
dies after an attempt but before recording leaves the row to be claimed again
when the lease lapses: deliveries are at least once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import case, func, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from service.config import Settings
from service.db import begin_write, utcnow
from service.jobs import JobContext
from service.outbox.models import DeliveryStatus
from service.telemetry.instruments import OUTBOX_ATTEMPTS

log = logging.getLogger("linli.outbox")
# While slow receivers hold slots and nothing was left to claim, a turn looks
# for new deliveries this often (a read), so that they need not wait for a slot
# to free: new work during a turn does not start a second turn.
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Policy:
    concurrency: int  # attempts in flight at once
    share: int  # of which one partition's
    max_attempts: int
    timeout: float  # seconds for one attempt, in all (every request it makes)
    backoff_base: float
    backoff_max: float

    @property
    def lease(self) -> dt.timedelta:
        """Long enough for an attempt that takes its whole timeout and for the
        recording of its outcome to be retried through a database blip."""
        return dt.timedelta(seconds=self.timeout + 30)


class Claim(Protocol):
    """What the machinery needs of a claimed row; queues add what they send."""

    @property
    def delivery_id(self) -> int: ...
    @property
    def attempt(self) -> int: ...  # the value of `attempts` this claim set: the fence
    @property
    def partition(self) -> Any: ...


C = TypeVar("C", bound=Claim)


@dataclass(frozen=True)
class Outcome(Generic[C]):
    claimed: C
    started_at: dt.datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    delivered: bool
    # Refused for good (the recipient said no, nothing could ever be sent):
    # dead at once, no more attempts.
    final: bool = False


class Queue(Protocol[C]):
    """One outbox: its tables and what is particular to sending it."""

    name: str
    row: Any  # the delivery model (OutboxColumns, `id`, the partition column)
    log: Any  # the attempt model (AttemptColumns, `delivery_id`)

    @property
    def partition(self) -> Any:
        """The row's column that claims are fair between."""
        ...

    def policy(self, settings: Settings) -> Policy: ...

    def load(self, session: Session, ids: list[int], settings: Settings) -> list[C]:
        """What to send for the rows just leased (in the claim's transaction);
        rows with nothing left to send it marks dead itself and leaves out."""
        ...

    def opened(self, engine: Engine, settings: Settings) -> AbstractAsyncContextManager[Any]:
        """What a turn sends with (an HTTP client, and whatever else the queue
        needs), open for the turn."""
        ...

    async def send(self, sender: Any, claimed: C) -> Outcome[C]:
        """One attempt, outside any transaction, within the policy's timeout."""
        ...

    def recorded(self, session: Session, outcomes: Sequence[Outcome[C]]) -> None:
        """Anything more to write with the outcomes (in their transaction)."""
        ...


def _session(engine: Engine) -> Session:
    session = Session(engine, expire_on_commit=False, autoflush=False)
    begin_write(session)
    return session


def claimable(row: Any, now: dt.datetime) -> tuple[Any, ...]:
    """The conditions of a delivery a claim may take at `now`: pending, due, and
    under no live lease."""
    return (
        row.status == DeliveryStatus.pending,
        row.next_attempt_at <= now,
        or_(row.lease_until.is_(None), row.lease_until < now),
    )


def claim(
    engine: Engine,
    queue: Queue[C],
    settings: Settings,
    now: dt.datetime,
    limit: int | None = None,
    in_flight: Mapping[Any, int] | None = None,
) -> list[C]:
    """Take up to `limit` due deliveries for one attempt each and commit the
    lease: each partition's earliest first, round by round, none beyond its
    share with what it has `in_flight` (partition -> attempts)."""
    policy = queue.policy(settings)
    row = queue.row
    limit = policy.concurrency if limit is None else limit
    with _session(engine) as session:
        rank = (
            func.row_number()
            .over(partition_by=queue.partition, order_by=(row.next_attempt_at, row.id))
            .label("rank")
        )
        conditions = claimable(row, now)
        ranked = (
            select(row.id, queue.partition.label("partition"), rank).where(*conditions).subquery()
        )
        room: Any = policy.share
        if in_flight:
            room = case(
                {key: policy.share - n for key, n in in_flight.items()},
                value=ranked.c.partition,
                else_=policy.share,
            )
        # The conditions again on the locked rows: PostgreSQL re-checks them on a
        # row another claim leased and committed meanwhile (the ranked subquery
        # is not re-read), so it is skipped rather than attempted twice.
        due = select(row.id).where(
            row.id.in_(
                select(ranked.c.id)
                .where(ranked.c.rank <= room)
                .order_by(ranked.c.rank, ranked.c.id)
                .limit(limit)
            ),
            *conditions,
        )
        if session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(session.scalars(due))
        if not ids:
            session.commit()
            return []
        session.execute(
            update(row)
            .where(row.id.in_(ids))
            .values(attempts=row.attempts + 1, lease_until=now + policy.lease)
        )
        claimed = queue.load(session, ids, settings)
        session.commit()
    return claimed


def backoff(policy: Policy, attempts: int) -> dt.timedelta:
    """base * 2^(n-1), capped, times a random factor in [0.5, 1): retries of many
    deliveries that failed together (a receiver's outage) spread out."""
    ceiling = min(policy.backoff_max, policy.backoff_base * 2 ** min(attempts - 1, 30))
    return dt.timedelta(seconds=ceiling * random.uniform(0.5, 1.0))


def record(
    engine: Engine, queue: Queue[C], settings: Settings, outcomes: Sequence[Outcome[C]]
) -> None:
    if not outcomes:
        return
    policy = queue.policy(settings)
    row = queue.row
    now = utcnow()
    outcome_names: list[str] = []
    with _session(engine) as session:
        for outcome in outcomes:
            claimed = outcome.claimed
            values: dict[str, Any] = {
                "lease_until": None,
                "last_status_code": outcome.status_code,
                "last_error": outcome.error,
            }
            if outcome.delivered:
                values |= {"status": DeliveryStatus.delivered, "delivered_at": now}
                outcome_names.append("delivered")
            elif outcome.final or claimed.attempt >= policy.max_attempts:
                values |= {"status": DeliveryStatus.dead}
                outcome_names.append("dead")
            else:
                values |= {"next_attempt_at": now + backoff(policy, claimed.attempt)}
                outcome_names.append("retry")
            session.execute(
                update(row)
                .where(
                    row.id == claimed.delivery_id,
                    row.attempts == claimed.attempt,
                    row.status == DeliveryStatus.pending,
                )
                .values(**values)
            )
        session.execute(
            insert(queue.log),
            [
                {
                    "delivery_id": o.claimed.delivery_id,
                    "attempt": o.claimed.attempt,
                    "started_at": o.started_at,
                    "duration_ms": o.duration_ms,
                    "status_code": o.status_code,
                    "error": o.error and o.error[:500],
                    "delivered": o.delivered,
                }
                for o in outcomes
            ],
        )
        queue.recorded(session, outcomes)
        session.commit()
    for name in outcome_names:
        OUTBOX_ATTEMPTS.labels(queue.name, name).inc()
    log.info(
        "%s: %d attempts recorded (%s)",
        queue.name,
        len(outcomes),
        ", ".join(f"{n} {outcome_names.count(n)}" for n in sorted(set(outcome_names))),
    )


def record_surely(
    engine: Engine, queue: Queue[C], settings: Settings, outcomes: Sequence[Outcome[C]]
) -> None:
    """`record`, retried while the database is out of reach, for as long as the
    claim's lease lasts: an attempt that was made is written down, so a receiver
    is not sent it again for want of a connection."""
    deadline = time.monotonic() + queue.policy(settings).lease.total_seconds()
    pause = 0.2
    while True:
        try:
            record(engine, queue, settings, outcomes)
            return
        except (OperationalError, InterfaceError, PoolTimeout):
            if time.monotonic() + pause > deadline:
                raise
            log.warning("recording %d %s attempts failed; retrying", len(outcomes), queue.name)
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def deliver_due(
    engine: Engine,
    queue: Queue[C],
    settings: Settings,
    now: dt.datetime | None = None,
    *,
    more_time: Callable[[], bool] = lambda: True,
) -> int:
    """Attempt what is due until nothing is or `more_time()` says stop (the
    attempts in flight then finish); how many attempts were made."""
    # Most turns (every commit wakes the runner) find nothing due: a read says
    # so without the claim's write transaction (SQLite's one write lock).
    if not _waiting(engine, queue, _now(now), []):
        return 0
    first = claim(engine, queue, settings, _now(now))
    if not first:
        return 0  # no HTTP client, no event loop
    return asyncio.run(_deliver(engine, queue, settings, now, more_time, first))


def _now(now: dt.datetime | None) -> dt.datetime:
    """The instant deliveries are judged due by: the turn's (tests pass a later
    one), or the clock's once it has passed it."""
    return max(now, utcnow()) if now is not None else utcnow()


async def _deliver(
    engine: Engine,
    queue: Queue[C],
    settings: Settings,
    now: dt.datetime | None,
    more_time: Callable[[], bool],
    claimed: list[C],
) -> int:
    policy = queue.policy(settings)
    flying: dict[asyncio.Task[Outcome[C]], C] = {}
    # Nothing more to claim for now, unless a partition at its share frees a
    # slot or new deliveries come in (looked at every POLL_SECONDS meanwhile).
    drained = len(claimed) < policy.concurrency
    attempts = 0
    async with queue.opened(engine, settings) as sender:
        while True:
            for one in claimed:
                flying[asyncio.create_task(queue.send(sender, one))] = one
            if not flying:
                return attempts
            done, _ = await asyncio.wait(
                flying, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            if done:
                counts = Counter(one.partition for one in flying.values())
                outcomes = [task.result() for task in done]
                for task in done:
                    one = flying.pop(task)
                    drained = drained and counts[one.partition] < policy.share
                await asyncio.to_thread(record_surely, engine, queue, settings, outcomes)
                attempts += len(outcomes)
            claimed = []
            room = policy.concurrency - len(flying)
            if room <= 0 or not more_time():
                continue
            in_flight = Counter(one.partition for one in flying.values())
            if drained and not done:  # slow receivers hold slots: has new work come?
                full = [key for key, n in in_flight.items() if n >= policy.share]
                drained = not await asyncio.to_thread(_waiting, engine, queue, _now(now), full)
            if not drained:
                claimed = await asyncio.to_thread(
                    claim, engine, queue, settings, _now(now), room, in_flight
                )
                drained = len(claimed) < room


def _waiting(engine: Engine, queue: Queue[Any], now: dt.datetime, full: list[Any]) -> bool:
    """Whether a delivery is due that a claim would take now (one read, no lock)."""
    query = select(queue.row.id).where(*claimable(queue.row, now))
    if full:
        query = query.where(queue.partition.not_in(full))
    with engine.connect() as connection:
        found = connection.scalar(query.limit(1))
        connection.rollback()
    return found is not None


def next_attempt_at(engine: Engine, queue: Queue[Any], now: dt.datetime) -> dt.datetime | None:
    """When the earliest pending delivery not under a lease falls due (in the past:
    a backlog). Deliveries leased by another deliverer are its business; if it
    dies, they wait for the job's next regular turn."""
    row = queue.row
    with engine.connect() as connection:
        at = connection.scalar(
            select(row.next_attempt_at)
            .where(
                row.status == DeliveryStatus.pending,
                or_(row.lease_until.is_(None), row.lease_until < now),
            )
            .order_by(row.next_attempt_at)
            .limit(1)
        )
        connection.rollback()
    return at


def turn(context: JobContext, queue: Queue[Any]) -> int:
    """A job's turn of `queue`: what is due, then the next turn set by the
    earliest retry. How many attempts were made."""
    attempts = deliver_due(
        context.engine, queue, context.settings, context.now, more_time=context.more_time
    )
    following = next_attempt_at(context.engine, queue, context.now)
    if following is not None:
        context.run_again_by(following)
    return attempts


def timed(started: float) -> int:
    """Milliseconds since `started` (time.monotonic())."""
    return int((time.monotonic() - started) * 1000)
