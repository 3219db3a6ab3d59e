"""Delivering webhooks: the webhook queue of the outbox machinery
(service/outbox/delivery.py: leases, fair claims, backoff, the attempt log).

Fair between organisations: at most LINLI_WEBHOOK_CONCURRENCY attempts are in
flight at once, at most LINLI_WEBHOOK_CONCURRENCY_PER_ORGANIZATION of them one
organisation's; dead-lettered after LINLI_WEBHOOK_MAX_ATTEMPTS. Each attempt
has LINLI_WEBHOOK_TIMEOUT_SECONDS in all (lookup, connect, send, answer: a
receiver that answers a byte at a time is cut off too).

A deliverer that dies after the POST but before recording leaves the row to be
claimed again when the lease lapses, so a receiver may see an event twice:
deliveries are at least once, and receivers deduplicate on `Linli-Event-Id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pydantic_core
from sqlalchemy import and_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from service.categories.models import Category
from service.config import Settings
from service.db import utcnow
from service.feed.service import EVENT_COLUMNS, TICKET_COLUMNS, event_dict
from service.jobs import JobContext, job
from service.outbox import delivery as outbox
from service.outbox.delivery import Outcome, Policy
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

    @property
    def partition(self) -> int:
        return self.organization_id


def policy(settings: Settings) -> Policy:
    return Policy(
        concurrency=settings.webhook_concurrency,
        share=settings.webhook_concurrency_per_organization,
        max_attempts=settings.webhook_max_attempts,
        timeout=settings.webhook_timeout_seconds,
        backoff_base=settings.webhook_backoff_base_seconds,
        backoff_max=settings.webhook_backoff_max_seconds,
    )


def _load(session: Session, ids: list[int], settings: Settings) -> list[Claimed]:
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
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .join(
                TicketEvent,
                and_(
                    TicketEvent.id == WebhookDelivery.event_id,
                    # Written with its event's instant (the trigger): on PostgreSQL
                    # only that month's partition is looked in.
                    TicketEvent.created_at == WebhookDelivery.created_at,
                ),
            )
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
) -> Outcome[Claimed]:
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
    delivered = status_code is not None and 200 <= status_code < 300
    return Outcome(
        claimed, started_at, outbox.timed(started), status_code, error and error[:500], delivered
    )


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


@dataclass(frozen=True)
class _Sender:
    client: httpx.AsyncClient
    allow: AllowList
    settings: Settings


class WebhookQueue:
    name = "webhook"
    row = WebhookDelivery
    log = WebhookAttempt

    @property
    def partition(self) -> Any:  # a column (a descriptor: not a class attribute here)
        return WebhookDelivery.organization_id

    def policy(self, settings: Settings) -> Policy:
        return policy(settings)

    def load(self, session: Session, ids: list[int], settings: Settings) -> list[Claimed]:
        return _load(session, ids, settings)

    @contextlib.asynccontextmanager
    async def opened(self, engine: Engine, settings: Settings) -> AsyncIterator[_Sender]:
        async with http_client(settings) as client:
            yield _Sender(client, AllowList.parse(settings.webhook_allow_targets), settings)

    async def send(self, sender: _Sender, claimed: Claimed) -> Outcome[Claimed]:
        return await attempt(
            sender.client, claimed, sender.allow, sender.settings.webhook_timeout_seconds
        )

    def recorded(self, session: Session, outcomes: Sequence[Outcome[Claimed]]) -> None:
        return None


QUEUE = WebhookQueue()


def claim(
    engine: Engine,
    settings: Settings,
    now: dt.datetime,
    limit: int | None = None,
    in_flight: Mapping[int, int] | None = None,
) -> list[Claimed]:
    """Take up to `limit` due deliveries and commit their lease (outbox.claim)."""
    return outbox.claim(engine, QUEUE, settings, now, limit, in_flight)


def record_surely(engine: Engine, settings: Settings, outcomes: Sequence[Outcome[Any]]) -> None:
    outbox.record_surely(engine, QUEUE, settings, outcomes)


def deliver_due(
    engine: Engine,
    settings: Settings,
    now: dt.datetime | None = None,
    *,
    more_time: Callable[[], bool] = lambda: True,
) -> int:
    return outbox.deliver_due(engine, QUEUE, settings, now, more_time=more_time)


# New deliveries wake the runner when their event commits (service.main: the
# feed's wake-ups); retries are due when their backoff ends. The interval is
# only the safety net for a wake-up that never came.
@job("webhooks.deliver", every=dt.timedelta(minutes=1), on_wake=True)
def deliver(context: JobContext) -> int:
    return outbox.turn(context, QUEUE)
