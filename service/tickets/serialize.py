"""Ticket rows to their API representation."""

from __future__ import annotations

from service.tickets.models import Ticket
from service.tickets.schemas import (
    LocationRead,
    OnBehalfOf,
    Person,
    RatingRead,
    SlaRead,
    TicketRead,
    TimeWindowRead,
)


def etag(ticket: Ticket) -> str:
    return f'"{ticket.id}.{ticket.version}"'


def ticket_read(ticket: Ticket, category_code: str) -> TicketRead:
    return TicketRead.model_construct(
        id=ticket.id,
        number=ticket.number or "",
        kind=ticket.kind,
        category=category_code,
        priority=ticket.priority,
        status=ticket.status,
        community_id=ticket.community_id,
        location=LocationRead.model_construct(
            building=ticket.building, unit=ticket.unit, room=ticket.room, area=ticket.area
        ),
        title=ticket.title,
        description=ticket.description,
        reporter=Person.model_construct(id=ticket.reporter_id, name=ticket.reporter_name),
        filed_by=Person.model_construct(id=ticket.filed_by_id, name=None),
        on_behalf_of=(
            OnBehalfOf.model_construct(
                name=ticket.on_behalf_of_name, phone=ticket.on_behalf_of_phone
            )
            if ticket.on_behalf_of_name
            else None
        ),
        contact_phone=ticket.contact_phone,
        preferred_time=(
            TimeWindowRead.model_construct(from_=ticket.preferred_from, to=ticket.preferred_to)
            if ticket.preferred_from and ticket.preferred_to
            else None
        ),
        attachment_ids=list(ticket.attachment_ids or []),
        channel=ticket.channel,
        organization_id=ticket.organization_id,
        assignee_id=ticket.assignee_id,
        hold_reason=ticket.hold_reason,
        sla=SlaRead.model_construct(
            respond_by=ticket.respond_by,
            resolve_by=ticket.resolve_by,
            responded_at=ticket.responded_at,
            resolved_at=ticket.resolved_at,
            paused_seconds=ticket.paused_seconds,
            response_breached=ticket.response_breached,
            resolution_breached=ticket.resolution_breached,
        ),
        rating=(
            RatingRead.model_construct(
                score=ticket.rating, comment=ticket.rating_comment, tags=ticket.rating_tags or []
            )
            if ticket.rating is not None
            else None
        ),
        reopen_count=ticket.reopen_count,
        closed_at=ticket.closed_at,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        version=ticket.version,
    )
