"""The partitioning migration, down and up again, with rows in the tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, inspect, text

from service.migrate import downgrade, upgrade
from service.partitions.months import PARTITIONED
from tests.conftest import BACKEND
from tests.partitions.conftest import Own

BEFORE = "b6c2d9e4f1a8"
NOVEMBER_2025 = dt.datetime(2025, 11, 3, 8, 0, tzinfo=dt.UTC)
JANUARY = dt.datetime(2026, 1, 15, 8, 0, tzinfo=dt.UTC)


def _contents(own: Own) -> dict[str, tuple[int, int]]:
    with own.engine.connect() as connection:
        return {
            table: tuple(
                connection.execute(
                    text(f"SELECT count(*), coalesce(sum(id), 0) FROM {table}")
                ).one()
            )
            for table in PARTITIONED
        }


def _kinds(own: Own) -> set[str]:
    with own.engine.connect() as connection:
        return set(
            connection.execute(
                text("SELECT relkind FROM pg_class WHERE relname = ANY(:names)"),
                {"names": list(PARTITIONED)},
            ).scalars()
        )


def _references(url: str) -> set[tuple[str, str]]:
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        return {
            (table, key["referred_table"])
            for table in ("webhook_delivery", "webhook_attempt", "notification")
            for key in inspector.get_foreign_keys(table)
            if key["referred_table"] in PARTITIONED
        }
    finally:
        engine.dispose()


def test_down_and_up_again_keeps_every_row_and_id(own: Own) -> None:
    url = own.settings.database_url
    own.subscribe()
    own.events(NOVEMBER_2025, JANUARY)
    with own.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO webhook_attempt (delivery_id, attempt, started_at, duration_ms,"
                " delivered) SELECT id, 1, created_at, 20, false FROM webhook_delivery"
            )
        )
    contents = _contents(own)
    top = own.scalar("SELECT max(id) FROM ticket_event")
    assert contents["webhook_delivery"][0] == 2 and contents["webhook_attempt"][0] == 2
    assert _references(url) == set()
    own.engine.dispose()

    downgrade(url, BEFORE)
    assert _contents(own) == contents
    assert _references(url) == {
        ("webhook_delivery", "ticket_event"),
        ("webhook_attempt", "webhook_delivery"),
        ("notification", "ticket_event"),
    }
    if BACKEND == "postgres":
        assert _kinds(own) == {"r"}
    (between,) = own.events(JANUARY)  # the sequence goes on
    own.engine.dispose()

    upgrade(url)
    after = _contents(own)
    assert after["ticket_event"][0] == contents["ticket_event"][0] + 1
    assert after["webhook_delivery"][0] == contents["webhook_delivery"][0] + 1
    assert _references(url) == set()
    (last,) = own.events(JANUARY)
    assert top < between < last  # ids stay unique: one sequence throughout
    if BACKEND == "postgres":
        assert _kinds(own) == {"p"}
        month = own.scalar(
            "SELECT tableoid::regclass::text FROM ticket_event WHERE created_at = :at",
            at=NOVEMBER_2025,
        )
        # The migration made months from the oldest row's on.
        assert month == "ticket_event_p2025_11"
        assert own.scalar("SELECT count(*) FROM ticket_event_default") == 0
