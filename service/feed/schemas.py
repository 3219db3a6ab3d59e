"""The feed's response bodies (documentation; the route serialises dicts directly)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from service.enums import Status
from service.tickets.schemas import EventActor, TicketRead


class FeedEvent(BaseModel):
    id: int  # the same id as in GET /v1/tickets/{ticket_id}/events
    type: str
    ticket_id: int
    created_at: dt.datetime
    actor_id: int | None
    # Who did it as the organisation may see it (added in issue 14; see EventActor).
    actor: EventActor
    from_status: Status | None
    to_status: Status | None
    organization_id: int | None
    internal: bool
    data: dict[str, Any]
    # The ticket as the organisation sees it now; null once it is no longer theirs
    # (after ticket.unassigned or ticket.returned).
    ticket: TicketRead | None


class FeedPage(BaseModel):
    events: list[FeedEvent]
    next_cursor: str
    has_more: bool
