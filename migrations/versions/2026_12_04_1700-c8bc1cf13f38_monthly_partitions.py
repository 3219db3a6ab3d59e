"""monthly partitions

The timeline (`ticket_event`) and the two outboxes with their delivery logs
(`webhook_delivery`, `webhook_attempt`, `notification_delivery`,
`notification_attempt`) become, on PostgreSQL, tables partitioned by range of
their creation instant (`created_at`; an attempt's `started_at`), one partition
a month (`ticket_event_p2026_12`) from the oldest row's month to three months
ahead, and a DEFAULT partition (`ticket_event_default`) as a safety net that the
partition job (service/partitions) keeps empty. Each table is copied into its
partitioned twin, which takes its name, its sequence, its indexes, its foreign
keys and its trigger (`ticket_event_published`).

A partitioned table's primary key and unique constraints must hold the
partition key: the primary keys become (id, created_at) — ids still come from
the one sequence, so they stay unique and the feed's and the timeline's cursors
still name one event —, and the two outboxes' uniques gain `created_at`, which
changes nothing: a delivery is written with its event's (its notification's)
instant, so the extra column is a function of the others.

No foreign key can point at such a table (it would need the partition key in
the referencing row), so the four that did go, on both databases, so that the
models are one schema: webhook_delivery.event_id and notification.event_id
(-> ticket_event), and the attempts' delivery_id. Rows are only ever appended to
these tables and removed by whole months (service/partitions/retention.py).

SQLite keeps plain tables with the same columns.

Revision ID: c8bc1cf13f38
Revises: b6c2d9e4f1a8
Create Date: 2026-12-04 17:00:00
"""

import datetime as dt
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "c8bc1cf13f38"
down_revision: str | None = "b6c2d9e4f1a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> its partition key. The job's list (service/partitions/months.py) is
# the same; a migration keeps its own copy, as it keeps its own DDL.
PARTITIONED = {
    "ticket_event": "created_at",
    "webhook_delivery": "created_at",
    "webhook_attempt": "started_at",
    "notification_delivery": "created_at",
    "notification_attempt": "started_at",
}
# Unique constraints that gain the partition key: table -> (old name, columns, new name).
UNIQUES = {
    "webhook_delivery": (
        "uq_webhook_delivery_subscription_id_event_id",
        "subscription_id, event_id",
        "uq_webhook_delivery_subscription_id_event_id_created_at",
    ),
    "notification_delivery": (
        "uq_notification_delivery_notification_id_channel",
        "notification_id, channel",
        "uq_notification_delivery_notification_id_channel_created_at",
    ),
}
# Foreign keys into these tables: (table, column, referred table).
REFERENCES = (
    ("webhook_delivery", "event_id", "ticket_event"),
    ("notification", "event_id", "ticket_event"),
    ("webhook_attempt", "delivery_id", "webhook_delivery"),
    ("notification_attempt", "delivery_id", "notification_delivery"),
)
MONTHS_AHEAD = 3


def _fk(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def _month(day: dt.date, add: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 + add
    return dt.date(index // 12, index % 12 + 1, 1)


def _definitions(table: str) -> tuple[list[str], list[str], list[str]]:
    """The table's secondary indexes, foreign keys and triggers, as DDL to replay.
    The unique constraints of UNIQUES are left out (each direction makes its own)."""
    bind = op.get_bind()
    oid = f"'public.{table}'::regclass"
    indexes = bind.execute(
        text(
            f"SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = {oid}"
            " AND NOT i.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
            " WHERE c.conindid = i.indexrelid) ORDER BY 1"
        )
    ).scalars()
    keys = bind.execute(
        text(
            f"SELECT format('ALTER TABLE {table} ADD CONSTRAINT %I %s', conname,"
            f" pg_get_constraintdef(oid)) FROM pg_constraint WHERE conrelid = {oid}"
            " AND contype = 'f' ORDER BY conname"
        )
    ).scalars()
    triggers = bind.execute(
        text(
            f"SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = {oid}"
            " AND NOT tgisinternal ORDER BY tgname"
        )
    ).scalars()
    # A partitioned table's index reads "ON ONLY table": replayed, it must cascade.
    return [i.replace(" ON ONLY ", " ON ") for i in indexes], list(keys), list(triggers)


def _move(table: str, key: str, *, partitioned: bool) -> None:
    """Copy `table` into a twin (partitioned by month of `key`, or plain), which
    then takes its name, sequence, keys, indexes and triggers."""
    bind = op.get_bind()
    indexes, keys, triggers = _definitions(table)
    twin = f"{table}_twin"
    by = f" PARTITION BY RANGE ({key})" if partitioned else ""
    op.execute(f"CREATE TABLE {twin} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS){by}")
    if partitioned:
        oldest = bind.execute(text(f"SELECT min({key}) FROM {table}")).scalar()
        today = dt.datetime.now(dt.UTC).date()
        month = _month(min(oldest.date(), today) if oldest else today)
        last = _month(today, MONTHS_AHEAD)
        while month <= last:
            upper = _month(month, 1)
            op.execute(
                f"CREATE TABLE {table}_p{month:%Y_%m} PARTITION OF {twin} FOR VALUES"
                f" FROM ('{month.isoformat()} 00:00+00') TO ('{upper.isoformat()} 00:00+00')"
            )
            month = upper
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {twin} DEFAULT")
    op.execute(f"INSERT INTO {twin} SELECT * FROM {table}")
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {twin}.id")
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE {twin} RENAME TO {table}")
    primary = f"id, {key}" if partitioned else "id"
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({primary})")
    if table in UNIQUES:
        old_name, columns, new_name = UNIQUES[table]
        name, columns = (new_name, f"{columns}, {key}") if partitioned else (old_name, columns)
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ({columns})")
    for statement in [*indexes, *keys, *triggers]:
        op.execute(statement)
    op.execute(f"ANALYZE {table}")


def _sqlite_rebuilds(change) -> None:  # type: ignore[no-untyped-def]
    """SQLite: `change()` rebuilds tables (batch mode), which a trigger naming
    one of them (ticket_event_published) does not survive: set it aside."""
    bind = op.get_bind()
    trigger = bind.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"),
        {"name": "ticket_event_published"},
    ).scalar()
    op.execute("DROP TRIGGER IF EXISTS ticket_event_published")
    change()
    if trigger:
        op.execute(trigger)


def _sqlite_upgrade() -> None:
    for table, column, referred in REFERENCES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(_fk(table, column, referred), type_="foreignkey")
    for table, (old_name, columns, new_name) in UNIQUES.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(old_name, type_="unique")
            batch_op.create_unique_constraint(new_name, [*columns.split(", "), PARTITIONED[table]])


def _sqlite_downgrade() -> None:
    for table, (old_name, columns, new_name) in UNIQUES.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(new_name, type_="unique")
            batch_op.create_unique_constraint(old_name, columns.split(", "))
    for table, column, referred in REFERENCES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_foreign_key(_fk(table, column, referred), referred, [column], ["id"])


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for table, column, referred in REFERENCES:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_fk(table, column, referred)}")
        for table, key in PARTITIONED.items():
            _move(table, key, partitioned=True)
        return
    _sqlite_rebuilds(_sqlite_upgrade)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # Retention dropped whole months: what points into a dropped month goes too
    # (an attempt whose delivery is gone; a notification keeps its ticket).
    for table, column, referred in REFERENCES:
        gone = f"NOT EXISTS (SELECT 1 FROM {referred} r WHERE r.id = {table}.{column})"
        if table == "notification":
            op.execute(
                f"UPDATE notification SET event_id = NULL WHERE event_id IS NOT NULL AND {gone}"
            )
        else:
            op.execute(f"DELETE FROM {table} WHERE {gone}")
    if postgres:
        for table, key in PARTITIONED.items():
            _move(table, key, partitioned=False)
        for table, column, referred in REFERENCES:
            op.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {_fk(table, column, referred)}"
                f" FOREIGN KEY ({column}) REFERENCES {referred} (id)"
            )
        return
    _sqlite_rebuilds(_sqlite_downgrade)
