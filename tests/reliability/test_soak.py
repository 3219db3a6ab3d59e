"""A short soak (bench/soak.py) on the backend under test: a real server, companies
long-polling the feed, webhooks to a receiver that answers 500 to some deliveries,
and a fixed-rate mixed load of creations, pages and reads.

Asserted: no request timed out (10 s) and none was answered 5xx; every event
reached its company's long-poll exactly once and every event of a subscribed
company the webhook receiver at least once; after the load a plain request is
answered. No latency is asserted: timings belong to the benchmark, not to a test
that shares the machine with others.
"""

from __future__ import annotations

from bench.soak import run_soak
from tests.conftest import BACKEND, DATABASE_ENVIRONMENT, TEST_SECRET
from tests.reliability.servers import reference_database

# Modest for one worker on two shared cores: SQLite serialises its writes.
RATE = 40 if BACKEND == "postgres" else 20


def test_a_short_soak_degrades_nothing() -> None:
    with reference_database("linli_soak") as (db, _engine):
        report = run_soak(
            BACKEND,
            RATE,
            12,
            24,
            webhook_organizations=6,
            database_url=db.url,
            secret=TEST_SECRET,
            server_env=DATABASE_ENVIRONMENT,  # through PgBouncer (LINLI_TEST_PGBOUNCER)
            row_seconds=4,
            feed_wait=15,
            webhook_wait=20,
            recovery_window=10,
        )

    answers = report.total.answers
    assert answers["timeout"] == 0, answers
    assert answers["503"] == answers["other"] == 0, answers  # other: any non-2xx but 429
    assert report.total.latency["create"], "nothing was created"
    assert report.feed_events >= report.created > 0
    assert report.feed_missing == 0
    assert report.feed_duplicates == 0
    assert report.feed_foreign == 0
    assert report.created_not_fed_once == 0
    assert report.webhook_events > 0
    assert report.webhook_missing == 0
    assert report.recovery_seconds is not None, "no 200 within 10 s of the load's end"
