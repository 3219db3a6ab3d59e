"""A generated ticket's timeline, drawn from the ticket itself: `ticket.created`
when it was filed, `ticket.accepted` when it was responded to, `ticket.resolved`
and `ticket.closed` when it was. One INSERT ... SELECT per kind of event, so the
rows never leave the database (faster than COPY from Python: 10 million events
is a matter of minutes). On PostgreSQL the months the events fall in get their
partitions first (service/partitions), so that nothing lands in the default one.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from service.partitions import months

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
    """Events for the tickets from `first_ticket_id` on; returns how many. The
    caller commits."""
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        span = connection.execute(
            text("SELECT min(created_at), max(created_at) FROM ticket WHERE id >= :first"),
            {"first": first_ticket_id},
        ).one()
        if span[0] is not None:
            connection.commit()
            # Closing and resolving come after filing: a month more at the end.
            months.make_months(connection, span[0].date(), months.month_start(span[1], 1))
    empty = "CAST('{}' AS json)" if postgres else "'{}'"
    made = 0
    for type_, from_status, to_status, instant in steps:
        made += connection.execute(
            text(
                "INSERT INTO ticket_event (ticket_id, type, actor_id, from_status, to_status,"
                " organization_id, internal, data, created_at)"
                f" SELECT id, :type, NULL, :from_status, :to_status, organization_id, false,"
                f" {empty}, {instant} FROM ticket WHERE id >= :first AND {instant} IS NOT NULL"
            ),
            {
                "type": type_,
                "from_status": from_status,
                "to_status": to_status,
                "first": first_ticket_id,
            },
        ).rowcount
    return made
