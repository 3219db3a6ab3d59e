"""A generated ticket's timeline, drawn from the ticket itself: `ticket.created`
when it was filed, `ticket.accepted` when it was responded to, `ticket.resolved`
and `ticket.closed` when it was. One INSERT ... SELECT per kind of event, so the
rows never leave the database (faster than COPY from Python). On PostgreSQL the
months the events fall in get their partitions first (service/partitions), so
that nothing lands in the default one.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from service.partitions import months

# Tickets whose events are written in one transaction.
BATCH = 2500

# (event type, from status, to status, the instant: a column of the ticket or,
# for a caller that has no such column filled, an expression of them)
Step = tuple[str, str | None, str, str]
STEPS: tuple[Step, ...] = (
    ("ticket.created", None, "assigned", "created_at"),
    ("ticket.accepted", "assigned", "accepted", "responded_at"),
    ("ticket.resolved", "in_progress", "resolved", "resolved_at"),
    ("ticket.closed", "resolved", "closed", "closed_at"),
)


def fill_timeline(
    connection: Connection, first_ticket_id: int, steps: tuple[Step, ...] = STEPS
) -> int:
    """Events for the tickets from `first_ticket_id` on, committed a batch of
    BATCH tickets at a time (each batch one transaction, so one feed `xid`, as
    if written over time); returns how many."""
    postgres = connection.dialect.name == "postgresql"
    span = connection.execute(
        text("SELECT min(created_at), max(created_at), max(id) FROM ticket WHERE id >= :first"),
        {"first": first_ticket_id},
    ).one()
    connection.commit()
    if span[2] is None:
        return 0
    if postgres:
        first, last = (v if not isinstance(v, str) else None for v in span[:2])
        assert first is not None and last is not None
        # Closing and resolving come after filing: a month more at the end.
        months.make_months(connection, first.date(), months.month_start(last, 1))
    empty = "CAST('{}' AS json)" if postgres else "'{}'"
    made = 0
    for low in range(first_ticket_id, span[2] + 1, BATCH):
        with connection.begin():
            for type_, from_status, to_status, instant in steps:
                made += connection.execute(
                    text(
                        "INSERT INTO ticket_event (ticket_id, type, actor_id, from_status,"
                        " to_status, organization_id, internal, data, created_at)"
                        " SELECT id, :type, NULL, :from_status, :to_status, organization_id,"
                        f" false, {empty}, {instant} FROM ticket"
                        f" WHERE id >= :low AND id < :high AND {instant} IS NOT NULL"
                    ),
                    {
                        "type": type_,
                        "from_status": from_status,
                        "to_status": to_status,
                        "low": low,
                        "high": low + BATCH,
                    },
                ).rowcount
    return made
