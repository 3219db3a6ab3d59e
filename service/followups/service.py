"""Follow-up visits (回访) due and overdue.

A resolved (or closed) ticket is due a follow-up visit `LINLI_FOLLOW_UP_DAYS`
after it was resolved; a follow-up recorded since that resolution settles it.
The list is computed from the tickets and their follow-ups (no state to keep
in step); the job only leaves one reminder event per resolution.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import and_, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.auth import Principal
from service.enums import Role, Status
from service.errors import Forbidden
from service.followups.models import FollowUpReminder
from service.pagination import decode_cursor, encode_cursor
from service.scope import visible
from service.tickets.events import record_event
from service.tickets.models import FollowUp, Ticket

SETTLED = frozenset({Status.resolved, Status.closed})
# Reminders look back this far: older misses are history for the metrics, not a to-do.
LOOKBACK = dt.timedelta(days=90)


def _pending() -> Any:
    """No follow-up recorded since the ticket's latest resolution."""
    return ~exists().where(
        and_(FollowUp.ticket_id == Ticket.id, FollowUp.created_at >= Ticket.resolved_at)
    )


def list_due(
    session: Session,
    principal: Principal,
    *,
    state: Literal["overdue", "due"],
    now: dt.datetime,
    days: int,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Tickets whose follow-up is overdue (or due but not yet overdue), oldest first."""
    if principal.role not in (Role.admin, Role.provider_staff):
        raise Forbidden("follow_up.list_forbidden")
    cutoff = now - dt.timedelta(days=days)
    query = select(
        Ticket.id,
        Ticket.number,
        Ticket.organization_id,
        Ticket.community_id,
        Ticket.status,
        Ticket.resolved_at,
    ).where(visible(principal, Ticket), Ticket.status.in_(SETTLED), _pending())
    if principal.role == Role.provider_staff:
        query = query.where(Ticket.organization_id == principal.organization_id)
    if state == "overdue":
        query = query.where(Ticket.resolved_at <= cutoff, Ticket.resolved_at > cutoff - LOOKBACK)
    else:
        query = query.where(Ticket.resolved_at > cutoff)
    if cursor:
        query = query.where(Ticket.id > decode_cursor("f", cursor))
    rows: Sequence[Any] = session.execute(query.order_by(Ticket.id).limit(limit + 1)).all()
    page = rows[:limit]
    items = [
        {
            "ticket_id": row.id,
            "number": row.number or "",
            "organization_id": row.organization_id,
            "community_id": row.community_id,
            "status": row.status,
            "resolved_at": row.resolved_at,
            "due_at": row.resolved_at + dt.timedelta(days=days),
            "overdue": row.resolved_at <= cutoff,
        }
        for row in page
    ]
    return items, (encode_cursor("f", page[-1].id) if len(rows) > limit else None)


def remind_overdue(session: Session, *, now: dt.datetime, days: int, limit: int = 500) -> int:
    """Leave one internal `ticket.follow_up_overdue` event per resolution whose visit is
    overdue; the unique (ticket, cycle) key makes concurrent runs write it once."""
    cutoff = now - dt.timedelta(days=days)
    already = exists().where(
        FollowUpReminder.ticket_id == Ticket.id, FollowUpReminder.cycle == Ticket.reopen_count
    )
    tickets = session.scalars(
        select(Ticket)
        .where(
            Ticket.status.in_(SETTLED),
            Ticket.resolved_at <= cutoff,
            Ticket.resolved_at > cutoff - LOOKBACK,
            _pending(),
            ~already,
        )
        .order_by(Ticket.id)
        .limit(limit)
    ).all()
    if not tickets:
        return 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(FollowUpReminder)
        .values(
            [
                {
                    "ticket_id": t.id,
                    "cycle": t.reopen_count,
                    "organization_id": t.organization_id,
                    "region_path": t.region_path,
                    "due_at": t.resolved_at + dt.timedelta(days=days),  # type: ignore[operator]
                    "reminded_at": now,
                }
                for t in tickets
            ]
        )
        .on_conflict_do_nothing(index_elements=["ticket_id", "cycle"])
        .returning(FollowUpReminder.ticket_id)
    )
    claimed = set(session.scalars(statement))
    for ticket in tickets:
        if ticket.id in claimed:
            assert ticket.resolved_at is not None
            record_event(
                session,
                ticket,
                "ticket.follow_up_overdue",
                None,
                internal=True,
                data={"due_at": (ticket.resolved_at + dt.timedelta(days=days)).isoformat()},
                at=now,
            )
    session.flush()
    return len(claimed)
