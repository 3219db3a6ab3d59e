"""The feed's response bodies (documentation; the route serialises dicts directly)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from service.enums import Status
from service.tickets.schemas import EventActor, TicketRead


class FeedEvent(BaseModel):
    id: int = Field(description="The same id as in GET /v1/tickets/{ticket_id}/events.")
    type: str = Field(description="`ticket.created`, `ticket.assigned`, `ticket.accepted`, ...")
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
    ticket: TicketRead | None = Field(
        description="The ticket as the organisation sees it now; null once it is no longer "
        "theirs (after `ticket.unassigned` or `ticket.returned`)."
    )


class FeedPage(BaseModel):
    events: list[FeedEvent] = Field(description="Oldest first, each event exactly once.")
    next_cursor: str = Field(
        description="Send it back as `cursor` for the events after these, and keep it to "
        "resume from after a restart. Opaque: neither parse nor build one."
    )
    has_more: bool = Field(description="More events are waiting: ask again at once.")
