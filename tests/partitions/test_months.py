"""The month partitions on PostgreSQL: there, made ahead, and rows in their month."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from service.db import utcnow
from service.jobs import JobContext
from service.partitions.jobs import monthly
from service.partitions.months import MONTHS_AHEAD, PARTITIONED, month_start, partitions
from tests.conftest import BACKEND
from tests.partitions.conftest import Own

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres", reason="SQLite keeps plain tables: nothing is partitioned"
)


def _where(own: Own, table: str, row_id: int) -> str:
    return own.scalar(f"SELECT tableoid::regclass::text FROM {table} WHERE id = :id", id=row_id)


def test_the_migrated_tables_have_this_month_and_the_next_three(engine: Engine) -> None:
    this_month = month_start(utcnow())
    with engine.connect() as connection:
        for table in PARTITIONED:
            kind = connection.execute(
                text("SELECT relkind FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": table}
            ).scalar()
            assert kind == "p", table
            months = partitions(connection, table)
            assert [month_start(this_month, n) in months for n in range(MONTHS_AHEAD + 1)] == [
                True
            ] * (MONTHS_AHEAD + 1), table
            default = connection.execute(
                text(
                    "SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c"
                    " ON c.oid = p.partdefid WHERE p.partrelid = CAST(:t AS regclass)"
                ),
                {"t": table},
            ).scalar()
            assert default == 1, table


def test_rows_land_in_their_month_across_the_boundary(own: Own) -> None:
    own.months(dt.date(2029, 1, 1), dt.date(2029, 2, 1))
    own.subscribe()
    last_of_january = dt.datetime(2029, 1, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)
    first_of_february = dt.datetime(2029, 2, 1, tzinfo=dt.UTC)
    january, february = own.events(last_of_january, first_of_february)
    assert _where(own, "ticket_event", january) == "ticket_event_p2029_01"
    assert _where(own, "ticket_event", february) == "ticket_event_p2029_02"
    delivery = own.scalar("SELECT id FROM webhook_delivery WHERE event_id = :id", id=february)
    assert _where(own, "webhook_delivery", delivery) == "webhook_delivery_p2029_02"


def test_the_job_makes_months_ahead_and_takes_strays_out_of_the_default(own: Own) -> None:
    later = utcnow() + dt.timedelta(days=300)
    (stray,) = own.events(later)  # its month has no partition yet
    assert _where(own, "ticket_event", stray) == "ticket_event_default"

    missing = len(PARTITIONED) * (MONTHS_AHEAD + 1) - _already(own, later)
    # (With the outboxes kept: the months the migration made would be past retention.)
    settings = own.settings.model_copy(update={"outbox_retention_months": 1200})
    context = JobContext(engine=own.engine, settings=settings, now=later)
    assert missing > 0
    assert monthly(context) == missing
    month = month_start(later)
    assert _where(own, "ticket_event", stray) == f"ticket_event_p{month:%Y_%m}"
    assert own.scalar("SELECT count(*) FROM ticket_event_default") == 0
    with own.engine.connect() as connection:
        for table in PARTITIONED:
            have = partitions(connection, table)
            assert all(month_start(later, n) in have for n in range(MONTHS_AHEAD + 1)), table
    # Another turn finds nothing to do.
    assert monthly(context) == 0


def _already(own: Own, later: dt.datetime) -> int:
    """Of the job's months, those the migration made already."""
    with own.engine.connect() as connection:
        return sum(
            month_start(later, n) in partitions(connection, table)
            for table in PARTITIONED
            for n in range(MONTHS_AHEAD + 1)
        )
