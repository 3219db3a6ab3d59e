"""Tickets to their API representation (TicketRead), straight to JSON.

Reads are the hot path: a provider's page is 50 tickets. Building pydantic
models and letting FastAPI validate them again cost more than the query, so the
representation is built as plain dicts from a Core row or an ORM object (both
answer attribute access by column name) and serialised once by pydantic-core.
tests/tickets/test_serialize.py checks that it stays exactly TicketRead.
"""

from __future__ import annotations

from typing import Any

import pydantic_core
from fastapi import Response


def etag(ticket: Any) -> str:
    return f'"{ticket.id}.{ticket.version}"'


def ticket_dict(t: Any, category_code: str) -> dict[str, Any]:
    return {
        "id": t.id,
        "number": t.number or "",
        "kind": t.kind,
        "category": category_code,
        "priority": t.priority,
        "status": t.status,
        "community_id": t.community_id,
        "location": {"building": t.building, "unit": t.unit, "room": t.room, "area": t.area},
        "title": t.title,
        "description": t.description,
        "reporter": {"id": t.reporter_id, "name": t.reporter_name},
        "filed_by": {"id": t.filed_by_id, "name": None},
        "on_behalf_of": (
            {"name": t.on_behalf_of_name, "phone": t.on_behalf_of_phone}
            if t.on_behalf_of_name
            else None
        ),
        "contact_phone": t.contact_phone,
        "preferred_time": (
            {"from": t.preferred_from, "to": t.preferred_to}
            if t.preferred_from and t.preferred_to
            else None
        ),
        "attachment_ids": list(t.attachment_ids or []),
        "channel": t.channel,
        "organization_id": t.organization_id,
        "assignee_id": t.assignee_id,
        "hold_reason": t.hold_reason,
        "sla": {
            "respond_by": t.respond_by,
            "resolve_by": t.resolve_by,
            "responded_at": t.responded_at,
            "resolved_at": t.resolved_at,
            "paused_seconds": t.paused_seconds,
            "response_breached": t.response_breached,
            "resolution_breached": t.resolution_breached,
            "policy_id": t.sla_policy_id,
            "paused_since": t.sla_paused_at,
            "response_escalation_level": t.response_escalation_level,
            "resolution_escalation_level": t.resolution_escalation_level,
        },
        "rating": (
            {"score": t.rating, "comment": t.rating_comment, "tags": list(t.rating_tags or [])}
            if t.rating is not None
            else None
        ),
        "reopen_count": t.reopen_count,
        "closed_at": t.closed_at,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "version": t.version,
    }


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        pydantic_core.to_json(content),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )
