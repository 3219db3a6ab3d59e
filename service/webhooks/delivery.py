"""Delivering the outbox: claim due rows under a lease, POST outside any
transaction, record the outcome; back off exponentially with jitter; dead-letter
after LINLI_WEBHOOK_MAX_ATTEMPTS.

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

import datetime as dt
import logging
import math
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pydantic_core
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from service.categories.models import Category
from service.config import Settings
from service.db import begin_write, utcnow
from service.feed.service import _EVENT_COLUMNS, _TICKET_COLUMNS, event_dict
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
PARALLEL = 8
USER_AGENT = "Linli-Webhooks/1"


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    attempt: int  # the value of `attempts` this claim set: the fencing token
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
    """Long enough for a whole batch of attempts that all time out."""
    rounds = math.ceil(settings.webhook_batch_size / PARALLEL) + 1
    return dt.timedelta(seconds=rounds * (settings.webhook_timeout_seconds + 1) + 10)


def claim(engine: Engine, settings: Settings, now: dt.datetime) -> list[Claimed]:
    """Take up to a batch of due deliveries for one attempt each; commit the lease."""
    with _session(engine) as session:
        due = (
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == DeliveryStatus.pending,
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(settings.webhook_batch_size)
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
            .values(attempts=WebhookDelivery.attempts + 1, lease_until=now + lease_for(settings))
        )
        rows = session.execute(
            with_actor(
                select(
                    WebhookDelivery.id.label("delivery_id"),
                    WebhookDelivery.attempts.label("attempt"),
                    WebhookSubscription.url,
                    WebhookSubscription.secret,
                    WebhookSubscription.active,
                    *_EVENT_COLUMNS,
                    *_TICKET_COLUMNS,
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


def attempt(
    client: httpx.Client, claimed: Claimed, allow: AllowList, now: float | None = None
) -> Outcome:
    """One POST, outside any transaction."""
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
        # Connect to the address just checked, not to what a second lookup says.
        target = pin(claimed.url, check_delivery(claimed.url, allow))
        response = client.post(
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
    except httpx.TimeoutException:
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


def http_client(settings: Settings) -> httpx.Client:
    timeout = settings.webhook_timeout_seconds
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=PARALLEL, max_keepalive_connections=PARALLEL),
    )


def deliver_due(
    engine: Engine,
    settings: Settings,
    now: dt.datetime | None = None,
    *,
    max_batches: int = 5,
) -> int:
    """Attempt what is due, a batch at a time; how many attempts were made."""
    claimed = claim(engine, settings, now or utcnow())
    if not claimed:
        return 0  # no HTTP client, no threads: most turns end here
    allow = AllowList.parse(settings.webhook_allow_targets)
    attempts = 0
    with http_client(settings) as client, ThreadPoolExecutor(PARALLEL) as pool:
        for batch in range(max_batches):
            if batch:
                claimed = claim(engine, settings, now or utcnow())
                if not claimed:
                    break
            outcomes = list(pool.map(lambda c: attempt(client, c, allow), claimed))
            record_surely(engine, settings, outcomes)
            attempts += len(outcomes)
            if len(claimed) < settings.webhook_batch_size:
                break
    return attempts


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
    attempts = deliver_due(context.engine, context.settings, context.now)
    following = next_attempt_at(context.engine, context.now)
    if following is not None:
        context.run_again_by(following)
    return attempts
