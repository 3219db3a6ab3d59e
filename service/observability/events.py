"""Counting what the ticket timeline records: resolutions, SLA breaches, and
tickets made through `record_event` (filing.py counts its own, written without it).
Imported by the composition root, like every listener of ticket events."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.enums import Status
from service.telemetry import instruments
from service.tickets.events import on_event
from service.tickets.models import Ticket, TicketEvent


@on_event
def count(session: Session, ticket: Ticket, event: TicketEvent) -> None:
    if event.to_status == Status.resolved:
        instruments.ticket_resolved(session, ticket.kind)
    elif event.type == "ticket.sla_breached":
        instruments.sla_breached(session, str(event.data.get("clock", "unknown")))
    elif event.type == "ticket.created":
        instruments.ticket_created(session, ticket.kind)
