"""The counters and histograms, counted where things happen and read at scrape
time (router.py). Counting is a few dictionary look-ups and an addition under a
lock: no query, no I/O.

Under `serve --workers N` prometheus_client keeps each process's values in files
under PROMETHEUS_MULTIPROC_DIR (the CLI sets it before anything imports this), and
a scrape of any worker adds them up. Hence counters and histograms only: a
process-local gauge would need a merge rule, and the gauges of scrape.py are read
from the database by whichever process is scraped.

Ticket counts are noted in the session and counted when it commits: a creation
rolled back (a failed idempotent retry, a 409) is not counted.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram, disable_created_metrics
from sqlalchemy import event
from sqlalchemy.orm import Session

from service.enums import TicketKind

# No `_created` sample beside each series: a fifteenth of a scrape's lines (and of
# its time, bench/metrics_scrape.py) for a timestamp Prometheus does not use.
disable_created_metrics()

# Seconds. Requests: from 5 ms (a cached read) to 10 s (a long report, a request
# that waited for the pool); eleven buckets keep a scrape of every route small.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0)
FEED_LAG_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0, 3600.0, 86400.0)

REQUEST_DURATION = Histogram(
    "linli_http_request_duration_seconds",
    "Requests by method, route template and status, from the first byte of the "
    "request to the last of the answer",
    ["method", "route", "status"],
    buckets=REQUEST_BUCKETS,
)
TICKETS_CREATED = Counter("linli_tickets_created", "Tickets filed (committed), by kind", ["kind"])
TICKETS_RESOLVED = Counter(
    "linli_tickets_resolved", "Tickets resolved by their provider (committed), by kind", ["kind"]
)
SLA_BREACHES = Counter(
    "linli_sla_breaches",
    "SLA clocks found breached by the sweep (committed), by clock",
    ["clock"],
)
JOB_RUNS = Counter(
    "linli_job_runs", "Turns of periodic jobs run here, by outcome", ["job", "outcome"]
)
JOB_DURATION = Histogram(
    "linli_job_duration_seconds", "How long a job's turn ran", ["job"], buckets=JOB_BUCKETS
)
OUTBOX_ATTEMPTS = Counter(
    "linli_outbox_attempts",
    "Delivery attempts recorded, by queue (webhook, notification) and outcome",
    ["queue", "outcome"],
)
FEED_LAG = Histogram(
    "linli_feed_page_lag_seconds",
    "For each feed page with events: how long ago its newest event happened",
    buckets=FEED_LAG_BUCKETS,
)

# Children made once: .labels() per increment is a lock and a tuple hash more.
_CREATED = {kind: TICKETS_CREATED.labels(kind=kind.value) for kind in TicketKind}
_RESOLVED = {kind: TICKETS_RESOLVED.labels(kind=kind.value) for kind in TicketKind}

_PENDING = "linli_observed"


def _note(session: Session, child: Any) -> None:
    session.info.setdefault(_PENDING, []).append(child)


def ticket_created(session: Session, kind: TicketKind) -> None:
    _note(session, _CREATED[kind])


def ticket_resolved(session: Session, kind: TicketKind) -> None:
    _note(session, _RESOLVED[kind])


def sla_breached(session: Session, clock: str) -> None:
    _note(session, SLA_BREACHES.labels(clock=clock))


def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        for child in pending:
            child.inc()


def _after_rollback(session: Session, previous: Any) -> None:
    # A savepoint's rollback leaves the rest of the transaction's work standing.
    if not previous.nested:
        session.info.pop(_PENDING, None)


_installed = False


def install() -> None:
    """Count noted events when their session commits (idempotent)."""
    global _installed
    if not _installed:
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)
        _installed = True
