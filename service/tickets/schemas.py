"""Request and response bodies of the ticket API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, model_validator

from service.enums import (
    Channel,
    FollowUpMethod,
    HoldReason,
    LocationArea,
    Priority,
    Status,
    TicketKind,
)
from service.validation import Name, Note, Phone, ShortText, StrictModel, text

CategoryCode = Annotated[str, StringConstraints(pattern=r"^[a-z_]+(\.[a-z_]+)*$", max_length=64)]
AttachmentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# Real requests are about now; anything outside these years is a client bug.
_EARLIEST = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


class Location(StrictModel):
    building: text(50) | None = None  # type: ignore[valid-type]
    unit: text(50) | None = None  # type: ignore[valid-type]
    room: text(50) | None = None  # type: ignore[valid-type]
    area: LocationArea | None = None


class OnBehalfOf(StrictModel):
    name: Name  # type: ignore[valid-type]
    phone: Phone


class TimeWindow(StrictModel):
    from_: AwareDatetime = Field(alias="from")
    to: AwareDatetime

    model_config = {"extra": "forbid", "populate_by_name": True}

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        for value in (self.from_, self.to):
            if not _EARLIEST <= value < _LATEST:
                raise ValueError("time outside 2020-2099")
        if self.to <= self.from_:
            raise ValueError("`to` must be after `from`")
        return self


class TicketCreate(StrictModel):
    category: CategoryCode
    community_id: int = Field(gt=0, lt=2**31)
    description: text(2000, 1)  # type: ignore[valid-type]
    title: ShortText | None = None  # type: ignore[valid-type]
    priority: Priority | None = None
    location: Location | None = None
    contact_phone: Phone | None = None
    on_behalf_of: OnBehalfOf | None = None
    preferred_time: TimeWindow | None = None
    attachment_ids: list[AttachmentId] = Field(default_factory=list, max_length=10)
    channel: Channel = Channel.app


class AssignBody(StrictModel):
    organization_id: int | None = Field(default=None, gt=0, lt=2**31)
    assignee_id: int | None = Field(default=None, gt=0, lt=2**31)

    @model_validator(mode="after")
    def _something(self) -> AssignBody:
        if self.organization_id is None and self.assignee_id is None:
            raise ValueError("give organization_id, assignee_id or both")
        return self


class HoldBody(StrictModel):
    reason: HoldReason
    note: Note | None = None  # type: ignore[valid-type]


class ResolveBody(StrictModel):
    note: Note | None = None  # type: ignore[valid-type]
    attachment_ids: list[AttachmentId] = Field(default_factory=list, max_length=10)


class ConfirmBody(StrictModel):
    rating: int = Field(ge=1, le=5)
    comment: text(1000) | None = None  # type: ignore[valid-type]
    tags: list[Annotated[str, StringConstraints(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=10
    )


class ReasonBody(StrictModel):
    reason: text(500, 1)  # type: ignore[valid-type]


class OptionalReasonBody(StrictModel):
    reason: text(500) | None = None  # type: ignore[valid-type]


class RejectBody(StrictModel):
    reason: text(500, 1)  # type: ignore[valid-type]
    duplicate_of: int | None = Field(default=None, gt=0, lt=2**63)


class ReclassifyBody(StrictModel):
    """A dispatcher or admin corrects the priority or category; the SLA clocks follow."""

    priority: Priority | None = None
    category: text(64, 1) | None = None  # type: ignore[valid-type]
    reason: Note | None = None  # type: ignore[valid-type]


class EmptyBody(StrictModel):
    pass


class CommentCreate(StrictModel):
    body: text(4000, 1)  # type: ignore[valid-type]
    internal: bool = False


class FollowUpCreate(StrictModel):
    method: FollowUpMethod
    satisfied: bool
    note: Note | None = None  # type: ignore[valid-type]


class Person(BaseModel):
    id: int | None
    name: str | None = None


class SlaRead(BaseModel):
    respond_by: dt.datetime | None
    resolve_by: dt.datetime | None
    responded_at: dt.datetime | None
    resolved_at: dt.datetime | None
    paused_seconds: int
    response_breached: bool
    resolution_breached: bool
    # The SLA policy that set the targets (GET /v1/sla-policies/{id}); since when the
    # resolution clock stands still, if it does; how far each clock was escalated.
    policy_id: int | None = None
    paused_since: dt.datetime | None = None
    response_escalation_level: int = 0
    resolution_escalation_level: int = 0


class RatingRead(BaseModel):
    score: int
    comment: str | None
    tags: list[str]


class LocationRead(BaseModel):
    building: str | None
    unit: str | None
    room: str | None
    area: LocationArea | None


class TimeWindowRead(BaseModel):
    model_config = {"populate_by_name": True}
    from_: dt.datetime = Field(alias="from")
    to: dt.datetime


class TicketRead(BaseModel):
    id: int
    number: str
    kind: TicketKind
    category: str
    priority: Priority
    status: Status
    community_id: int
    location: LocationRead
    title: str | None
    description: str
    reporter: Person
    filed_by: Person
    on_behalf_of: OnBehalfOf | None
    contact_phone: str | None
    preferred_time: TimeWindowRead | None
    attachment_ids: list[str]
    channel: Channel
    organization_id: int | None
    assignee_id: int | None
    hold_reason: HoldReason | None
    sla: SlaRead
    rating: RatingRead | None
    reopen_count: int
    closed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class TicketPage(BaseModel):
    items: list[TicketRead]
    next_cursor: str | None
    # Provider staff: the feed's cursor as of just before this list (GET /v1/feed).
    feed_cursor: str | None = None


class EventActor(BaseModel):
    """Who did it, as the reader may see it (service/tickets/actors.py): residents
    see a provider's staff as the organisation (`id` null, `name` the
    organisation's) and other people by role only (`id` and `name` null); staff
    and admins see names; a job's action has `role` "system" and no name."""

    id: int | None = Field(description="the acting user's id; null when not shown")
    name: str | None = Field(description="the person's name, or the organisation's")
    role: Literal["resident", "grid_worker", "provider_staff", "admin", "system"]
    organization_id: int | None = Field(description="the acting staff member's organisation")


class EventRead(BaseModel):
    id: int
    ticket_id: int
    type: str
    # As recorded; `actor` is what a front end shows.
    actor_id: int | None
    actor: EventActor
    from_status: Status | None
    to_status: Status | None
    organization_id: int | None
    internal: bool
    data: dict[str, Any]
    created_at: dt.datetime


class EventPage(BaseModel):
    items: list[EventRead]


class CommentRead(BaseModel):
    id: int
    ticket_id: int
    author_id: int
    body: str
    internal: bool
    created_at: dt.datetime


class CommentPage(BaseModel):
    items: list[CommentRead]


class FollowUpRead(BaseModel):
    id: int
    ticket_id: int
    method: FollowUpMethod
    satisfied: bool
    note: str | None
    created_by_id: int
    created_at: dt.datetime
