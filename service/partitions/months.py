"""The month partitions on PostgreSQL: their names, and making them ahead.

A partition holds [first of the month, first of the next) in UTC, and is named
after its month: `ticket_event_p2026_12`. Rows whose month has no partition go
to `<table>_default`; a month made later takes them out of it first (PostgreSQL
refuses a partition whose rows sit in the default).
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import text
from sqlalchemy.engine import Connection

# Table -> its partition key (the migration keeps its own copy).
PARTITIONED = {
    "ticket_event": "created_at",
    "webhook_delivery": "created_at",
    "webhook_attempt": "started_at",
    "notification_delivery": "created_at",
    "notification_attempt": "started_at",
}
# Partitions are made this many months before their month begins.
MONTHS_AHEAD = 3
# DDL on a partitioned table locks it: give up rather than queue the writers
# behind us for long; the next turn tries again.
LOCK_TIMEOUT = "5s"

_NAME = re.compile(r"_p(\d{4})_(\d{2})$")


def month_start(instant: dt.datetime | dt.date, add: int = 0) -> dt.date:
    """The first day of the month of `instant`, `add` months on (or back)."""
    index = instant.year * 12 + instant.month - 1 + add
    return dt.date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: dt.date) -> str:
    return f"{table}_p{month:%Y_%m}"


def bound(month: dt.date) -> str:
    return f"'{month.isoformat()} 00:00+00'"


def partitions(connection: Connection, table: str) -> dict[dt.date, str]:
    """The table's month partitions, by month (the default one is not listed)."""
    names = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = CAST(:table AS regclass)"
        ),
        {"table": table},
    ).scalars()
    found = {}
    for name in names:
        match = _NAME.search(name)
        if match:
            found[dt.date(int(match[1]), int(match[2]), 1)] = name
    return found


def make_ahead(connection: Connection, now: dt.datetime) -> list[str]:
    """Make the partitions of this month and the next MONTHS_AHEAD that are
    missing; returns the names made."""
    return make_months(connection, month_start(now), month_start(now, MONTHS_AHEAD))


def make_months(connection: Connection, first: dt.date, last: dt.date) -> list[str]:
    """Make every table's missing partitions from the month of `first` to that
    of `last`, each in its own short transaction (a bulk load of history makes
    its months first: rows without a month wait in the default partition);
    returns the names made."""
    made = []
    for table, key in PARTITIONED.items():
        have = partitions(connection, table)
        connection.commit()
        month = month_start(first)
        while month <= last:
            if month not in have:
                with connection.begin():
                    connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                    _make(connection, table, key, month)
                made.append(partition_name(table, month))
            month = month_start(month, 1)
    return made


def _make(connection: Connection, table: str, key: str, month: dt.date) -> None:
    """One month's partition; rows of that month already in the default
    partition (the job did not run in time) move into it."""
    name = partition_name(table, month)
    lower, upper = bound(month), bound(month_start(month, 1))
    in_range = f"{key} >= {lower} AND {key} < {upper}"
    stray = connection.execute(
        text(f"SELECT EXISTS (SELECT 1 FROM {table}_default WHERE {in_range})")
    ).scalar()
    if not stray:
        connection.execute(
            text(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ({lower}) TO ({upper})")
        )
        return
    connection.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"))
    connection.execute(
        text(
            f"WITH moved AS (DELETE FROM {table}_default WHERE {in_range} RETURNING *)"
            f" INSERT INTO {name} SELECT * FROM moved"
        )
    )
    connection.execute(
        text(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({lower}) TO ({upper})")
    )
