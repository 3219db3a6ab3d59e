"""A ticket's timeline as it is written: one event at a time, noted for the feed.
The reads are in queries.py; filing writes a ticket's first event itself (filing.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from service.db import utcnow
from service.enums import Status
from service.tickets.models import Ticket, TicketEvent
from service.tickets.stream import FEED_ORGANIZATIONS

# (session, ticket, event) -> None: a feature that acts on events as they are
# written, in their transaction (notifications). Tickets know none of them.
EventListener = Callable[[Session, Ticket, TicketEvent], None]
_LISTENERS: list[EventListener] = []


def on_event(listener: EventListener) -> EventListener:
    """Call `listener(session, ticket, event)` for every event `record_event` writes."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)
    return listener


class _TicketOrganization:
    """Marker: the event belongs to the ticket's current organisation."""


TICKET_ORGANIZATION = _TicketOrganization()


def record_event(
    session: Session,
    ticket: Ticket,
    type_: str,
    actor_id: int | None,
    *,
    from_status: Status | None = None,
    to_status: Status | None = None,
    organization_id: int | None | _TicketOrganization = TICKET_ORGANIZATION,
    internal: bool = False,
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> TicketEvent:
    """Append to the timeline. `organization_id` defaults to the ticket's current
    organisation; pass None explicitly for an event no organisation may claim
    (an administrator's internal note)."""
    if isinstance(organization_id, _TicketOrganization):
        organization_id = ticket.organization_id
    event = TicketEvent(
        ticket_id=ticket.id,
        type=type_,
        actor_id=actor_id,
        from_status=from_status,
        to_status=to_status,
        organization_id=organization_id,
        internal=internal,
        data=data or {},
        created_at=at or utcnow(),
    )
    session.add(event)
    if organization_id is not None:
        # Wake this process's feed long-polls after commit (service/feed/notify.py);
        # other processes hear the trigger's NOTIFY. The webhook outbox row is
        # written by the same trigger, in this transaction, at no extra round trip.
        session.info.setdefault(FEED_ORGANIZATIONS, set()).add(organization_id)
    for listener in _LISTENERS:
        listener(session, ticket, event)
    return event
