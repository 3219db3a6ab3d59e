"""Retention: whole months past it go, never one a reader has not finished with."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, text

from service.metrics.models import MetricsRollupState
from service.partitions import retention
from service.partitions.months import partitions
from service.tables import metadata
from tests.conftest import BACKEND
from tests.partitions.conftest import Own

NOW = dt.datetime(2030, 6, 15, 12, 0, tzinfo=dt.UTC)
JULY, NOVEMBER, MAY = (
    dt.datetime(2029, 7, 10, tzinfo=dt.UTC),
    dt.datetime(2029, 11, 10, tzinfo=dt.UTC),
    dt.datetime(2030, 5, 10, tzinfo=dt.UTC),
)


def _run(own: Own, **settings: int) -> int:
    with own.engine.connect() as connection:
        return retention.drop_old(connection, own.settings.model_copy(update=settings), NOW)


def _months_left(own: Own, table: str, key: str, since: dt.datetime) -> list[int]:
    """The months of the table's rows from `since` on, in order."""
    column = metadata.tables[table].c[key]
    with own.engine.connect() as connection:
        found = connection.execute(select(column).where(column >= since).order_by(column))
        return [at.month for at in found.scalars()]


def test_outbox_months_past_retention_go_but_not_one_still_pending(own: Own) -> None:
    own.months(dt.date(2029, 6, 1), dt.date(2030, 9, 1))
    own.subscribe()
    _, pending, _ = own.events(JULY, NOVEMBER, MAY)  # a webhook delivery each, in its month
    with own.engine.begin() as connection:
        connection.execute(
            text("UPDATE webhook_delivery SET status = 'delivered' WHERE event_id <> :pending"),
            {"pending": pending},
        )
        connection.execute(
            text(
                "INSERT INTO webhook_attempt (delivery_id, attempt, started_at, duration_ms,"
                " delivered) SELECT id, 1, created_at, 20, status = 'delivered'"
                " FROM webhook_delivery"
            )
        )

    # Six months back from June 2030 is December 2029; November still waits.
    _run(own, outbox_retention_months=6)
    assert _months_left(own, "webhook_delivery", "created_at", JULY) == [11, 5]
    assert _months_left(own, "webhook_attempt", "started_at", JULY) == [11, 5]
    # The timeline is kept for good by default.
    assert _months_left(own, "ticket_event", "created_at", JULY) == [7, 11, 5]
    if BACKEND == "postgres":
        with own.engine.connect() as connection:
            kept = partitions(connection, "webhook_delivery")
            assert dt.date(2029, 7, 1) not in kept and dt.date(2029, 10, 1) not in kept
            assert dt.date(2029, 11, 1) in kept
            assert dt.date(2029, 7, 1) in partitions(connection, "ticket_event")

    with own.engine.begin() as connection:
        connection.execute(text("UPDATE webhook_delivery SET status = 'delivered'"))
    _run(own, outbox_retention_months=6)
    assert _months_left(own, "webhook_delivery", "created_at", JULY) == [5]
    assert _months_left(own, "webhook_attempt", "started_at", JULY) == [5]


def test_the_timeline_goes_only_when_set_and_read_by_the_feed_and_the_rollup(own: Own) -> None:
    own.months(dt.date(2029, 6, 1), dt.date(2030, 9, 1))
    july, november, may = own.events(JULY, NOVEMBER, MAY)

    _run(own, timeline_retention_months=0)
    assert _months_left(own, "ticket_event", "created_at", JULY) == [7, 11, 5]
    # Set, but the rollup has not read them yet (it has never run).
    _run(own, timeline_retention_months=6)
    assert _months_left(own, "ticket_event", "created_at", JULY) == [7, 11, 5]

    with own.engine.begin() as connection:
        connection.execute(
            insert(MetricsRollupState).values(
                id=1, timezone="Asia/Shanghai", refreshed_at=NOW, event_id=may, ticket_id=0
            )
        )
    # A feed cursor of 400 days ago must still find its events.
    _run(own, timeline_retention_months=6, feed_retention_days=400)
    assert _months_left(own, "ticket_event", "created_at", JULY) == [7, 11, 5]

    with own.engine.begin() as connection:
        connection.execute(text("UPDATE metrics_rollup_state SET event_id = :id"), {"id": july})
    # The rollup has read July but not November.
    _run(own, timeline_retention_months=6)
    assert _months_left(own, "ticket_event", "created_at", JULY) == [11, 5]

    with own.engine.begin() as connection:
        connection.execute(text("UPDATE metrics_rollup_state SET event_id = :id"), {"id": may})
    _run(own, timeline_retention_months=6)
    assert _months_left(own, "ticket_event", "created_at", JULY) == [5]
    assert november < may


def test_an_undelivered_webhook_keeps_its_event(own: Own) -> None:
    own.months(dt.date(2029, 6, 1), dt.date(2030, 9, 1))
    own.subscribe()
    _, pending, may = own.events(JULY, NOVEMBER, MAY)
    with own.engine.begin() as connection:
        connection.execute(
            text("UPDATE webhook_delivery SET status = 'delivered' WHERE event_id <> :pending"),
            {"pending": pending},
        )
        connection.execute(
            insert(MetricsRollupState).values(
                id=1, timezone="Asia/Shanghai", refreshed_at=NOW, event_id=may, ticket_id=0
            )
        )
    _run(own, timeline_retention_months=6)
    assert _months_left(own, "ticket_event", "created_at", JULY) == [11, 5]
