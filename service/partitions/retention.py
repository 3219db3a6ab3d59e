"""Dropping whole months past their retention, never one a reader still needs.

What may go is decided by a cutoff, always the first instant of a month: on
PostgreSQL every partition wholly before it is detached and dropped (no row is
deleted, no vacuum follows); on SQLite the rows before it are deleted in
batches. The cutoff is the retention's month, moved back to the month of the
oldest row some reader has not finished with:

- an outbox (its deliveries and their attempt log, which go together): its
  oldest delivery still pending (a webhook or a message not yet delivered, or
  being retried), whose attempts are in the same month or later;
- the timeline, when LINLI_TIMELINE_RETENTION_MONTHS is set (by default it is
  kept for good: it is the ticket's history and the audit log): the feed's
  retention (a cursor inside it must still find its events), the oldest
  pending delivery of either outbox (a webhook's body is its event; a message
  points at it), and the metrics rollup's reading position (events it has not
  read yet; without a rollup, nothing goes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.engine import Connection

from service.config import Settings
from service.db import UTCDateTime
from service.metrics.models import MetricsRollupState
from service.notifications.models import NotificationDelivery
from service.outbox.models import DeliveryStatus
from service.partitions.months import LOCK_TIMEOUT, PARTITIONED, month_start, partitions
from service.tickets.models import TicketEvent
from service.webhooks.models import WebhookDelivery

# SQLite deletes this many rows per statement (each its own short write).
BATCH = 5000
# The rollup re-reads events written up to this long before its last turn (late
# commits, service/metrics/rollup.py): they must still be there.
ROLLUP_MARGIN = dt.timedelta(days=1)

OUTBOXES: tuple[tuple[type[WebhookDelivery] | type[NotificationDelivery], str], ...] = (
    (WebhookDelivery, "webhook_attempt"),
    (NotificationDelivery, "notification_attempt"),
)


@dataclass(frozen=True)
class Cutoff:
    """Rows of `tables` before `before` (the first instant of a month) may go."""

    tables: tuple[str, ...]
    before: dt.datetime


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _oldest_pending(
    connection: Connection, delivery: type[WebhookDelivery] | type[NotificationDelivery]
) -> dt.datetime | None:
    return connection.scalar(
        select(func.min(delivery.created_at)).where(delivery.status == DeliveryStatus.pending)
    )


def _unread_by_rollup(connection: Connection, now: dt.datetime) -> dt.datetime:
    state = connection.execute(
        select(MetricsRollupState.event_id, MetricsRollupState.refreshed_at)
    ).first()
    if state is None:
        return now - dt.timedelta(days=36600)  # no rollup yet: it will read them all
    first_unread = connection.scalar(
        select(func.min(TicketEvent.created_at)).where(TicketEvent.id > state.event_id)
    )
    at = state.refreshed_at - ROLLUP_MARGIN
    return min(at, first_unread) if first_unread is not None else at


def cutoffs(connection: Connection, settings: Settings, now: dt.datetime) -> list[Cutoff]:
    """What may go now, by group of tables."""
    found = []
    pending = []
    for delivery, attempts in OUTBOXES:
        oldest = _oldest_pending(connection, delivery)
        limit = _midnight(month_start(now, -settings.outbox_retention_months))
        if oldest is not None:
            pending.append(oldest)
            limit = min(limit, oldest)
        found.append(Cutoff((delivery.__tablename__, attempts), _midnight(month_start(limit))))
    if settings.timeline_retention_months:
        limits = [
            _midnight(month_start(now, -settings.timeline_retention_months)),
            now - dt.timedelta(days=settings.feed_retention_days),
            _unread_by_rollup(connection, now),
            *pending,
        ]
        found.append(Cutoff(("ticket_event",), _midnight(month_start(min(limits)))))
    return found


def drop_old(connection: Connection, settings: Settings, now: dt.datetime) -> int:
    """Drop (PostgreSQL: whole partitions) or delete (SQLite: rows in batches)
    what is past retention; returns partitions dropped or rows deleted. Commits
    as it goes."""
    found = cutoffs(connection, settings, now)
    connection.commit()
    postgres = connection.dialect.name == "postgresql"
    done = 0
    for cutoff in found:
        for table in cutoff.tables:
            if postgres:
                done += _drop_partitions(connection, table, cutoff.before.date())
            else:
                done += _delete_rows(connection, table, cutoff.before)
    return done


def _drop_partitions(connection: Connection, table: str, before: dt.date) -> int:
    old = [
        name
        for month, name in sorted(partitions(connection, table).items())
        if month_start(month, 1) <= before
    ]
    connection.commit()
    for name in old:
        with connection.begin():
            connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            connection.execute(text(f"ALTER TABLE {table} DETACH PARTITION {name}"))
            connection.execute(text(f"DROP TABLE {name}"))
    return len(old)


def _delete_rows(connection: Connection, table: str, before: dt.datetime) -> int:
    key = PARTITIONED[table]
    pending = " AND status <> 'pending'" if key == "created_at" and table != "ticket_event" else ""
    statement = text(
        f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table}"
        f" WHERE {key} < :before{pending} LIMIT {BATCH})"
    ).bindparams(bindparam("before", before, type_=UTCDateTime()))
    deleted = 0
    while True:
        with connection.begin():
            count = connection.execute(statement).rowcount
        deleted += count
        if count < BATCH:
            return deleted
