"""What a scrape reads from the database: open tickets by status and kind, how many
of them have a breached clock, and the outboxes' backlog and its age. Three
aggregate queries (the tickets' one GROUP BY, one per outbox), answered from a
copy at most CACHE_SECONDS old however often and by however many Prometheus
servers the instance is scraped. A database that does not answer leaves the last
values standing and says so in `linli_scrape_database_up`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from service.db import utcnow
from service.enums import Status, TicketKind
from service.notifications.models import NotificationDelivery
from service.outbox.models import DeliveryStatus
from service.tickets.models import Ticket
from service.webhooks.models import WebhookDelivery

CACHE_SECONDS = 5.0
# Not open: nothing more will happen to these without someone reopening them.
_FINAL = (Status.closed, Status.cancelled, Status.rejected)
_OPEN = [status for status in Status if status not in _FINAL]
_QUEUES: dict[str, Any] = {"webhook": WebhookDelivery, "notification": NotificationDelivery}

log = logging.getLogger("linli.observability")


@dataclass
class _Reading:
    # (status, kind) -> (open, response breached, resolution breached)
    tickets: dict[tuple[str, str], tuple[int, int, int]] = field(default_factory=dict)
    # queue -> (pending, age of the oldest pending in seconds)
    outboxes: dict[str, tuple[int, float]] = field(default_factory=dict)


def _flag(column: Any) -> Any:
    return func.coalesce(func.sum(case((column.is_(True), 1), else_=0)), 0)


def read(sessions: Callable[[], Session]) -> _Reading:
    # Every open status and kind, zero when none: a series that vanished would
    # read as "no data" rather than "none".
    reading = _Reading({(s.value, k.value): (0, 0, 0) for s in _OPEN for k in TicketKind})
    now = utcnow()
    with sessions() as session:
        rows = session.execute(
            select(
                Ticket.status,
                Ticket.kind,
                func.count(),
                _flag(Ticket.response_breached),
                _flag(Ticket.resolution_breached),
            )
            .where(Ticket.status.in_(_OPEN))  # an index range: not_in scanned every ticket
            .group_by(Ticket.status, Ticket.kind)
        )
        for status, kind, count, response, resolution in rows:
            reading.tickets[(str(status), str(kind))] = (count, int(response), int(resolution))
        for queue, table in _QUEUES.items():
            pending, oldest = session.execute(
                select(func.count(), func.min(table.created_at)).where(
                    table.status == DeliveryStatus.pending
                )
            ).one()
            age = (now - oldest).total_seconds() if oldest is not None else 0.0
            reading.outboxes[queue] = (pending, max(age, 0.0))
        session.rollback()
    return reading


class DatabaseGauges(Collector):
    """A collector for one app's database (a session factory: the app's, which
    tests bind to their transaction), read at scrape time through a short cache."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self.sessions = sessions
        self._lock = threading.Lock()
        self._reading: _Reading | None = None
        self._expires = 0.0
        self._up = 0

    def expire(self) -> None:
        """Read afresh at the next scrape."""
        self._expires = 0.0

    def _current(self) -> _Reading | None:
        with self._lock:  # one scrape reads; the others wait for its answer
            if time.monotonic() >= self._expires:
                try:
                    self._reading = read(self.sessions)
                    self._up = 1
                except Exception:  # noqa: BLE001 - a scrape must answer what it can
                    log.warning("metrics: the database did not answer", exc_info=True)
                    self._up = 0
                self._expires = time.monotonic() + CACHE_SECONDS
            return self._reading

    def collect(self) -> Iterator[Metric]:
        reading = self._current()
        up = GaugeMetricFamily(
            "linli_scrape_database_up",
            "1 if the database answered the last read of the gauges below, else 0 "
            "(they then keep their last values)",
        )
        up.add_metric([], self._up)
        yield up
        if reading is None:
            return
        open_ = GaugeMetricFamily(
            "linli_tickets_open",
            "Tickets not closed, cancelled or rejected",
            labels=["status", "kind"],
        )
        breached = GaugeMetricFamily(
            "linli_tickets_open_breached",
            "Open tickets whose SLA clock has breached, by clock",
            labels=["kind", "clock"],
        )
        by_kind: dict[str, list[int]] = {}
        for (status, kind), (count, response, resolution) in sorted(reading.tickets.items()):
            open_.add_metric([status, kind], count)
            totals = by_kind.setdefault(kind, [0, 0])
            totals[0] += response
            totals[1] += resolution
        for kind, (response, resolution) in sorted(by_kind.items()):
            breached.add_metric([kind, "response"], response)
            breached.add_metric([kind, "resolution"], resolution)
        pending = GaugeMetricFamily(
            "linli_outbox_pending", "Deliveries waiting to be made, by queue", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "linli_outbox_oldest_pending_seconds",
            "Age of the oldest delivery still waiting, by queue (0: none waits)",
            labels=["queue"],
        )
        for queue, (count, age) in sorted(reading.outboxes.items()):
            pending.add_metric([queue], count)
            oldest.add_metric([queue], age)
        yield from (open_, breached, pending, oldest)
