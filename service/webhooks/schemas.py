"""Bodies of /v1/webhooks."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.validation import StrictModel, text
from service.webhooks.models import DeliveryStatus

# Every type of event a ticket's timeline holds (tests/webhooks: the service's
# code writes no other; a visit's events are its ticket's). A subscription to a
# misspelt type would never fire.
EVENT_TYPES = (
    "ticket.created",
    "ticket.assigned",
    "ticket.dispatched",
    "ticket.unassigned",
    "ticket.accepted",
    "ticket.started",
    "ticket.held",
    "ticket.resumed",
    "ticket.resolved",
    "ticket.confirmed",
    "ticket.reopened",
    "ticket.cancelled",
    "ticket.returned",
    "ticket.rejected",
    "ticket.closed",
    "ticket.commented",
    "ticket.reclassified",
    "ticket.urged",
    "ticket.sla_breached",
    "ticket.escalated",
    "ticket.followed_up",
    "ticket.follow_up_overdue",
    "visit.checked_in",
    "visit.checked_out",
    "visit.missed",
    "visit.not_home_twice",
)
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


class WebhookCreate(StrictModel):
    url: Annotated[str, StringConstraints(min_length=8, max_length=2000)]
    # Empty: every event type.
    event_types: list[EventType] = Field(default_factory=list, max_length=30)
    # Optional: Linli generates one (shown once) when absent.
    # Printable ASCII: it is a header-safe HMAC key, and PostgreSQL holds no NUL.
    secret: (
        Annotated[str, StringConstraints(min_length=24, max_length=128, pattern=r"^[!-~]+$")] | None
    ) = None
    description: text(200) | None = None  # type: ignore[valid-type]


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    organization_id: int
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    created_at: dt.datetime


class WebhookCreated(WebhookRead):
    secret: str


class WebhookPage(BaseModel):
    items: list[WebhookRead]


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    attempt: int
    started_at: dt.datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    delivered: bool


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    subscription_id: int
    event_id: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime
    last_status_code: int | None
    last_error: str | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime


class DeliveryDetail(DeliveryRead):
    log: list[AttemptRead]


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None
