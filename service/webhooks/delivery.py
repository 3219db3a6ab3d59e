"""Delivering the outbox: claim due rows under a lease, POST outside any
transaction, record the outcome; back off exponentially with jitter; dead-letter
after LINLI_WEBHOOK_MAX_ATTEMPTS.

Fair between organisations: at most LINLI_WEBHOOK_CONCURRENCY attempts are in
flight at once, at most LINLI_WEBHOOK_CONCURRENCY_PER_ORGANIZATION of them one
organisation's, and a claim takes each organisation's earliest due deliveries
in turn (the first of every organisation, then the second...). Each attempt
has LINLI_WEBHOOK_TIMEOUT_SECONDS in all (lookup, connect, send, answer: a
receiver that answers a byte at a time is cut off too). A slot that frees is
filled at once, not at the end of a batch: one tenant's tarpit holds its own
share of slots for at most the timeout, and everyone else's deliveries go by.

Safe with any number of deliverers at once: a claim takes rows whose lease has
lapsed (PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent claims take different
rows; SQLite: one writer at a time) and increments `attempts`, which fences the
outcome: an attempt whose lease expired and whose row was claimed again by
someone else records its log line but does not touch the row. A deliverer that
dies after the POST but before recording leaves the row to be claimed again
when the lease lapses, so a receiver may see an event twice: deliveries are at
least once, and receivers deduplicate on `Linli-Event-Id`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pydantic_core
from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from service.categories.models import Category
from service.config import Settings
from service.db import begin_write, utcnow
from service.feed.service import EVENT_COLUMNS, TICKET_COLUMNS, event_dict
from service.jobs import JobContext, job
from service.tickets.actors import with_actor
from service.tickets.models import Ticket, TicketEvent
from service.webhooks import signing
from service.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from service.webhooks.targets import AllowList, TargetRefused, check_delivery, pin

log = logging.getLogger("linli.webhooks")
# While slow receivers hold slots and nothing was left to claim, a turn looks
# for new deliveries this often (a read), so that they need not wait for a slot
# to free: new work during a turn does not start a second turn.
POLL_SECONDS = 0.25
USER_AGENT = "Linli-Webhooks/1"


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    attempt: int  # the value of `attempts` this claim set: the fencing token
    organization_id: int
    url: str
    secret: str
    event_id: int
    event_type: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    claimed: Claimed
    started_at: dt.datetime
    duration_ms: int
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _session(engine: Engine) -> Session:
    session = Session(engine, expire_on_commit=False, autoflush=False)
    begin_write(session)
    return session


def lease_for(settings: Settings) -> dt.timedelta:
    """Long enough for an attempt that takes its whole timeout and for the
    recording of its outcome to be retried through a database blip."""
    return dt.timedelta(seconds=settings.webhook_timeout_seconds + 30)


def _claimable(now: dt.datetime) -> tuple[Any, ...]:
    """The conditions of a delivery a claim may take at `now`: pending, due, and
    under no live lease."""
    return (
        WebhookDelivery.status == DeliveryStatus.pending,
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
    )


def claim(
    engine: Engine,
    settings: Settings,
    now: dt.datetime,
    limit: int | None = None,
    in_flight: Mapping[int, int] | None = None,
) -> list[Claimed]:
    """Take up to `limit` due deliveries for one attempt each and commit the
    lease: each organisation's earliest first, round by round, none beyond its
    share with what it has `in_flight` (organisation id -> attempts)."""
    share = settings.webhook_concurrency_per_organization
    limit = settings.webhook_concurrency if limit is None else limit
    with _session(engine) as session:
        rank = (
            func.row_number()
            .over(
                partition_by=WebhookDelivery.organization_id,
                order_by=(WebhookDelivery.next_attempt_at, WebhookDelivery.id),
            )
            .label("rank")
        )
        claimable = _claimable(now)
        queue = (
            select(WebhookDelivery.id, WebhookDelivery.organization_id, rank)
            .where(*claimable)
            .subquery()
        )
        room: Any = share
        if in_flight:
            room = case(
                {org: share - n for org, n in in_flight.items()},
                value=queue.c.organization_id,
                else_=share,
            )
        # The conditions again on the locked rows: PostgreSQL re-checks them on a
        # row another claim leased and committed meanwhile (the ranked subquery
        # is not re-read), so it is skipped rather than attempted twice.
        due = select(WebhookDelivery.id).where(
            WebhookDelivery.id.in_(
                select(queue.c.id)
                .where(queue.c.rank <= room)
                .order_by(queue.c.rank, queue.c.id)
                .limit(limit)
            ),
            *claimable,
        )
        if session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(session.scalars(due))
        if not ids:
            session.commit()
            return []
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids))
            .values(
                attempts=WebhookDelivery.attempts + 1,
                lease_until=now + lease_for(settings),
            )
        )
        rows = session.execute(
            with_actor(
                select(
                    WebhookDelivery.id.label("delivery_id"),
                    WebhookDelivery.attempts.label("attempt"),
                    WebhookDelivery.organization_id.label("delivery_organization_id"),
                    WebhookSubscription.url,
                    WebhookSubscription.secret,
                    WebhookSubscription.active,
                    *EVENT_COLUMNS,
                    *TICKET_COLUMNS,
                    Category.code.label("category_code"),
                )
                .select_from(WebhookDelivery)
                .join(
                    WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id
                )
                .join(TicketEvent, TicketEvent.id == WebhookDelivery.event_id)
                .outerjoin(
                    Ticket,
                    and_(
                        Ticket.id == TicketEvent.ticket_id,
                        Ticket.organization_id == WebhookDelivery.organization_id,
                    ),
                )
                .outerjoin(Category, Category.id == Ticket.category_id)
            ).where(WebhookDelivery.id.in_(ids))
        ).all()
        gone = [row.delivery_id for row in rows if not row.active]
        if gone:  # the subscription was deleted after the event: nothing to deliver to
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(gone))
                .values(status=DeliveryStatus.dead, lease_until=None, last_error="webhook deleted")
            )
        session.commit()
    return [
        Claimed(
            delivery_id=row.delivery_id,
            attempt=row.attempt,
            organization_id=row.delivery_organization_id,
            url=row.url,
            secret=row.secret,
            event_id=row.id,
            event_type=row.type,
            # The delivery's organisation is the event's (the outbox trigger's).
            body=pydantic_core.to_json(event_dict(row, row.organization_id)),
        )
        for row in rows
        if row.active
    ]


async def attempt(
    client: httpx.AsyncClient,
    claimed: Claimed,
    allow: AllowList,
    timeout: float,
    now: float | None = None,
) -> Outcome:
    """One POST, outside any transaction, `timeout` seconds in all."""
    started_at = utcnow()
    started = time.monotonic()
    timestamp = int(now if now is not None else time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.EVENT_ID_HEADER: str(claimed.event_id),
        signing.EVENT_TYPE_HEADER: claimed.event_type,
        signing.DELIVERY_ID_HEADER: str(claimed.delivery_id),
        signing.ATTEMPT_HEADER: str(claimed.attempt),
        signing.TIMESTAMP_HEADER: str(timestamp),
        signing.SIGNATURE_HEADER: signing.signature(claimed.secret, timestamp, claimed.body),
    }
    status_code: int | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(timeout):
            # The lookup blocks: in a thread, under the same deadline.
            address = await asyncio.to_thread(check_delivery, claimed.url, allow)
            # Connect to the address just checked, not to what a second lookup says.
            target = pin(claimed.url, address)
            response = await client.post(
                target.url,
                content=claimed.body,
                headers={**headers, **target.headers},
                extensions=target.extensions,
            )
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except TargetRefused as exc:
        error = f"refused: {exc}"
    except (TimeoutError, httpx.TimeoutException):
        error = "timed out"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    duration_ms = int((time.monotonic() - started) * 1000)
    return Outcome(claimed, started_at, duration_ms, status_code, error and error[:500])


def backoff(settings: Settings, attempts: int) -> dt.timedelta:
    """base * 2^(n-1), capped, times a random factor in [0.5, 1): retries of many
    deliveries that failed together (a receiver's outage) spread out."""
    ceiling = min(
        settings.webhook_backoff_max_seconds,
        settings.webhook_backoff_base_seconds * 2 ** min(attempts - 1, 30),
    )
    return dt.timedelta(seconds=ceiling * random.uniform(0.5, 1.0))


def record(engine: Engine, settings: Settings, outcomes: Sequence[Outcome]) -> None:
    if not outcomes:
        return
    now = utcnow()
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
            elif claimed.attempt >= settings.webhook_max_attempts:
                values |= {"status": DeliveryStatus.dead}
            else:
                values |= {"next_attempt_at": now + backoff(settings, claimed.attempt)}
            session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == claimed.delivery_id,
                    WebhookDelivery.attempts == claimed.attempt,
                    WebhookDelivery.status == DeliveryStatus.pending,
                )
                .values(**values)
            )
        session.execute(
            insert(WebhookAttempt),
            [
                {
                    "delivery_id": o.claimed.delivery_id,
                    "attempt": o.claimed.attempt,
                    "started_at": o.started_at,
                    "duration_ms": o.duration_ms,
                    "status_code": o.status_code,
                    "error": o.error,
                    "delivered": o.delivered,
                }
                for o in outcomes
            ],
        )
        session.commit()


def record_surely(engine: Engine, settings: Settings, outcomes: Sequence[Outcome]) -> None:
    """`record`, retried while the database is out of reach, for as long as the
    claim's lease lasts: a POST that was made is written down, so a receiver is
    not sent it again for want of a connection."""
    deadline = time.monotonic() + lease_for(settings).total_seconds()
    pause = 0.2
    while True:
        try:
            record(engine, settings, outcomes)
            return
        except (OperationalError, InterfaceError, PoolTimeout):
            if time.monotonic() + pause > deadline:
                raise
            log.warning("recording %d webhook attempts failed; retrying", len(outcomes))
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def http_client(settings: Settings) -> httpx.AsyncClient:
    timeout = settings.webhook_timeout_seconds
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
        follow_redirects=False,
        limits=httpx.Limits(
            max_connections=settings.webhook_concurrency,
            max_keepalive_connections=settings.webhook_concurrency,
        ),
    )


def deliver_due(
    engine: Engine,
    settings: Settings,
    now: dt.datetime | None = None,
    *,
    more_time: Callable[[], bool] = lambda: True,
) -> int:
    """Attempt what is due until nothing is or `more_time()` says stop (the
    attempts in flight then finish); how many attempts were made."""
    first = claim(engine, settings, _now(now))
    if not first:
        return 0  # no HTTP client, no event loop: most turns end here
    return asyncio.run(_deliver(engine, settings, now, more_time, first))


def _now(now: dt.datetime | None) -> dt.datetime:
    """The instant deliveries are judged due by: the turn's (tests pass a later
    one), or the clock's once it has passed it."""
    return max(now, utcnow()) if now is not None else utcnow()


async def _deliver(
    engine: Engine,
    settings: Settings,
    now: dt.datetime | None,
    more_time: Callable[[], bool],
    claimed: list[Claimed],
) -> int:
    allow = AllowList.parse(settings.webhook_allow_targets)
    timeout = settings.webhook_timeout_seconds
    share = settings.webhook_concurrency_per_organization
    flying: dict[asyncio.Task[Outcome], Claimed] = {}
    # Nothing more to claim for now, unless an organisation at its share frees a
    # slot or new deliveries come in (looked at every POLL_SECONDS meanwhile).
    drained = len(claimed) < settings.webhook_concurrency
    attempts = 0
    async with http_client(settings) as client:
        while True:
            for one in claimed:
                flying[asyncio.create_task(attempt(client, one, allow, timeout))] = one
            if not flying:
                return attempts
            done, _ = await asyncio.wait(
                flying, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            if done:
                counts = Counter(one.organization_id for one in flying.values())
                outcomes = [task.result() for task in done]
                for task in done:
                    one = flying.pop(task)
                    drained = drained and counts[one.organization_id] < share
                await asyncio.to_thread(record_surely, engine, settings, outcomes)
                attempts += len(outcomes)
            claimed = []
            room = settings.webhook_concurrency - len(flying)
            if room <= 0 or not more_time():
                continue
            in_flight = Counter(one.organization_id for one in flying.values())
            if drained and not done:  # slow receivers hold slots: has new work come?
                full = [org for org, n in in_flight.items() if n >= share]
                drained = not await asyncio.to_thread(_waiting, engine, _now(now), full)
            if not drained:
                claimed = await asyncio.to_thread(
                    claim, engine, settings, _now(now), room, in_flight
                )
                drained = len(claimed) < room


def _waiting(engine: Engine, now: dt.datetime, full: list[int]) -> bool:
    """Whether a delivery is due that a claim would take now (one read, no lock)."""
    query = select(WebhookDelivery.id).where(*_claimable(now))
    if full:
        query = query.where(WebhookDelivery.organization_id.not_in(full))
    with engine.connect() as connection:
        found = connection.scalar(query.limit(1))
        connection.rollback()
    return found is not None


def next_attempt_at(engine: Engine, now: dt.datetime) -> dt.datetime | None:
    """When the earliest pending delivery not under a lease falls due (in the past:
    a backlog). Deliveries leased by another deliverer are its business; if it
    dies, they wait for the job's next regular turn."""
    with engine.connect() as connection:
        at = connection.scalar(
            select(WebhookDelivery.next_attempt_at)
            .where(
                WebhookDelivery.status == DeliveryStatus.pending,
                or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(1)
        )
        connection.rollback()
    return at


# New deliveries wake the runner when their event commits (service.main: the
# feed's wake-ups); retries are due when their backoff ends. The interval is
# only the safety net for a wake-up that never came.
@job("webhooks.deliver", every=dt.timedelta(minutes=1), on_wake=True)
def deliver(context: JobContext) -> int:
    attempts = deliver_due(
        context.engine, context.settings, context.now, more_time=context.more_time
    )
    following = next_attempt_at(context.engine, context.now)
    if following is not None:
        context.run_again_by(following)
    return attempts
