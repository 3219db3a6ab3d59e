"""Request and response bodies of the ticket API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from service.announcements.schemas import AnnouncementBrief
from service.attachments.schemas import AttachmentLink
from service.enums import (
    Channel,
    FollowUpMethod,
    HoldReason,
    LocationArea,
    Priority,
    Status,
    TicketKind,
    VisitOutcome,
)
from service.i18n import Rejected
from service.validation import (
    Name,
    Note,
    Phone,
    ReadModel,
    ShortText,
    StrictModel,
    omittable,
    text,
)

CategoryCode = Annotated[str, StringConstraints(pattern=r"^[a-z_]+(\.[a-z_]+)*$", max_length=64)]
# An upload's id (POST /v1/attachments): the caller's own, not yet linked.
AttachmentId = Annotated[int, Field(gt=0, lt=2**63)]
AttachmentIds = Annotated[
    list[AttachmentId],
    Field(
        max_length=10,
        description="Ids of your own uploads (POST /v1/attachments) not yet linked.",
    ),
]
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
                raise Rejected("validation.time_range")
        if self.to <= self.from_:
            raise Rejected("validation.to_before_from")
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
    attachment_ids: AttachmentIds = Field(default_factory=list)
    channel: Channel = Channel.app
    elder_id: int | None = Field(
        default=None,
        gt=0,
        lt=2**31,
        description="The elder (GET /v1/elders) an `elderly.*` ticket serves, in its "
        "community: for grid workers and admins in scope, the care provider's "
        "dispatchers and the elder's family proxies (then `on_behalf_of` may be left "
        "out); any other elder answers 422.",
    )

    @field_validator("channel")
    @classmethod
    def _filed_channel(cls, value: Channel) -> Channel:
        if value == Channel.care_plan:
            raise Rejected("ticket.channel_not_filed")
        return value


class AssignBody(StrictModel):
    organization_id: int | None = Field(default=None, gt=0, lt=2**31)
    assignee_id: int | None = Field(default=None, gt=0, lt=2**31)

    @model_validator(mode="after")
    def _something(self) -> AssignBody:
        if self.organization_id is None and self.assignee_id is None:
            raise Rejected("ticket.assign_whom")
        return self


class HoldBody(StrictModel):
    reason: HoldReason
    note: Note | None = None  # type: ignore[valid-type]


class ResolveBody(StrictModel):
    note: Note | None = None  # type: ignore[valid-type]
    attachment_ids: AttachmentIds = Field(default_factory=list)
    outcome: VisitOutcome | None = Field(
        default=None,
        description="How a visit to an elder living alone (探访, `elderly.visit`) found "
        "them: required there, refused elsewhere. `needs_help` opens a linked follow-on "
        "ticket (`follow_on_category`); `not_home` twice in a row alerts the community's "
        "grid workers and the elder's emergency contacts.",
    )
    follow_on_category: CategoryCode | None = Field(
        default=None,
        description="With `needs_help`: the `elderly.*` category of the follow-on ticket "
        "(default `elderly.medical`).",
    )


class CheckInBody(StrictModel):
    """Where the carer is on arrival, if their phone can tell: the visit's
    keepers see it; it is never in the timeline, the feed or webhooks."""

    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_or_neither(self) -> CheckInBody:
        if (self.latitude is None) != (self.longitude is None):
            raise Rejected("visit.position_pair")
        return self


class CheckOutBody(ResolveBody):
    """Departure: what was done, photos as proof, and for a 探访 the outcome."""


class ConfirmBody(StrictModel):
    rating: int = Field(ge=1, le=5)
    comment: text(1000) | None = None  # type: ignore[valid-type]
    tags: list[text(32, 1)] = Field(  # type: ignore[valid-type]
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

    priority: Priority = omittable()
    category: text(64, 1) = omittable()  # type: ignore[valid-type]
    reason: Note | None = None  # type: ignore[valid-type]


class EmptyBody(StrictModel):
    pass


class CommentCreate(StrictModel):
    body: text(4000, 1)  # type: ignore[valid-type]
    internal: bool = False
    attachment_ids: AttachmentIds = Field(default_factory=list)


class FollowUpCreate(StrictModel):
    method: FollowUpMethod
    satisfied: bool
    note: Note | None = None  # type: ignore[valid-type]


class Person(ReadModel):
    id: int | None
    name: str | None = Field(
        default=None, description="As the reader may see it; null where it is not shown."
    )


class SlaRead(ReadModel):
    """The service-level clocks of the ticket: when it must be answered and done by,
    and whether it was. Deadlines count working time of the policy's calendar
    (holidays and make-up working days included), so they may fall days later."""

    respond_by: dt.datetime | None = Field(
        description="Accept by this instant (UTC); null when no policy sets a response time."
    )
    resolve_by: dt.datetime | None = Field(
        description="Resolve by this instant (UTC), moved later by paused time; null when "
        "no policy sets a resolution time."
    )
    responded_at: dt.datetime | None = Field(
        description="When its organisation accepted it; null until then, and again when "
        "it goes to another organisation."
    )
    resolved_at: dt.datetime | None = Field(
        description="When it was resolved; null until then, and again once reopened."
    )
    paused_seconds: int = Field(
        description="Seconds the resolution clock stood still (on hold for a reason the "
        "policy pauses on), not counted against `resolve_by`."
    )
    response_breached: bool = Field(
        description="Not accepted by `respond_by` (true from the moment it was late)."
    )
    resolution_breached: bool = Field(description="Not resolved by `resolve_by`.")
    policy_id: int | None = Field(
        default=None,
        description="The SLA policy that set the deadlines (GET /v1/sla-policies/{id}).",
    )
    paused_since: dt.datetime | None = Field(
        default=None, description="Since when the resolution clock stands still; null if it runs."
    )
    response_escalation_level: int = Field(
        default=0, description="How many times the late response was escalated (0: never)."
    )
    resolution_escalation_level: int = Field(
        default=0, description="How many times the late resolution was escalated (0: never)."
    )


class RatingRead(BaseModel):
    score: int = Field(description="1-5; 4 and 5 count as satisfied.")
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


class Position(BaseModel):
    latitude: float
    longitude: float


class VisitRead(BaseModel):
    checked_in_at: dt.datetime | None = Field(description="When the carer checked in.")
    check_in_position: Position | None = Field(
        description="Where the carer's phone was at check-in, if it could tell: the "
        "elder's whereabouts, seen only by those who may see the visit (its provider, "
        "the community's grid workers, admins in scope)."
    )
    checked_out_at: dt.datetime | None = Field(description="When the carer checked out.")
    missed_at: dt.datetime | None = Field(
        description="When it was found not checked in by `scheduled_for` + "
        "LINLI_VISIT_GRACE_MINUTES (`visit.missed`); null if it began in time."
    )
    outcome: VisitOutcome | None = Field(
        description="A 探访 (`elderly.visit`): how the elder was found."
    )


class TicketRead(BaseModel):
    """A ticket as the caller may see it. Its `ETag` header is `version`'s tag: send
    it back in `If-Match` on a write."""

    id: int
    number: str = Field(description="Human-readable and unique, for phone calls and receipts.")
    kind: TicketKind = Field(description="Taken from the category.")
    category: str = Field(description="The category's code (GET /v1/categories).")
    priority: Priority
    status: Status
    community_id: int
    location: LocationRead
    title: str | None
    description: str
    reporter: Person = Field(description="Whom the ticket is for.")
    filed_by: Person = Field(description="Who filed it (a grid worker or staff for someone).")
    on_behalf_of: OnBehalfOf | None = Field(
        description="The resident a grid worker or staff filed for, if not a user."
    )
    contact_phone: str | None
    preferred_time: TimeWindowRead | None = Field(
        description="When the resident would like the visit."
    )
    attachments: list[AttachmentLink] = Field(
        description="Its photos: filed with it, and the work done (`resolve`)."
    )
    channel: Channel
    organization_id: int | None = Field(description="The provider it is assigned to.")
    assignee_id: int | None = Field(description="The provider's technician, once dispatched.")
    hold_reason: HoldReason | None = Field(description="Why it is `on_hold`; null otherwise.")
    sla: SlaRead
    rating: RatingRead | None = Field(description="The reporter's, given on `confirm`.")
    reopen_count: int
    urge_count: int = Field(description="How often the reporter urged it (催单, `POST .../urge`).")
    last_urged_at: dt.datetime | None
    elder_id: int | None = Field(
        description="The elder it serves (elderly care), by id only: their record is "
        "`GET /v1/elders/{id}`, as the caller may see it."
    )
    care_plan_id: int | None = Field(description="A visit: the care plan that made it.")
    scheduled_for: dt.datetime | None = Field(description="A visit: when it is due (UTC).")
    government_share_percent: int | None = Field(
        description="A visit: the government's share of its cost (%), as its plan said then."
    )
    visit: VisitRead | None = Field(
        description="A visit's proof (null for other tickets): arrival, departure, missed."
    )
    follows_ticket_id: int | None = Field(
        description="The ticket this one was opened from (a 探访 that found the elder "
        "needing help)."
    )
    closed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = Field(description="Grows with every change; the ETag is made from it.")


class TicketCreated(TicketRead):
    """The answer (201) to `POST /v1/tickets`: the new ticket, and what its
    community is being told right now."""

    announcements: list[AnnouncementBrief] = Field(
        description="The announcements shown in the ticket's community now (停水停电通知: "
        "a planned outage, an emergency, a notice), soonest to end first; usually none. "
        "Show them to the resident first: they may explain the problem."
    )


class TicketDuplicate(TicketCreated):
    """The answer (200) to `POST /v1/tickets` when the caller filed the same report
    minutes ago: that ticket, nothing new."""

    duplicate_of: int = Field(
        description="The ticket this filing duplicates (its `id`): no ticket was created."
    )


class TicketPage(BaseModel):
    # Not a ReadModel: feed_cursor is left out for everyone but provider staff.
    items: list[TicketRead]
    next_cursor: str | None = Field(
        description="Send it back as `cursor` for the next page; null on the last page. "
        "Opaque: neither parse nor build one."
    )
    feed_cursor: str | None = Field(
        default=None,
        description="Provider staff only: the feed's cursor as of just before this list. "
        "Follow GET /v1/feed from it after processing the list and no change is missed.",
    )


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


class EventPage(ReadModel):
    items: list[EventRead]
    next_cursor: str | None = None


class CommentRead(BaseModel):
    id: int
    ticket_id: int
    author_id: int
    body: str
    internal: bool
    attachments: list[AttachmentLink]
    created_at: dt.datetime

    @field_validator("attachments", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return value or []


class CommentPage(ReadModel):
    items: list[CommentRead]
    next_cursor: str | None = None


class FollowUpRead(BaseModel):
    id: int
    ticket_id: int
    method: FollowUpMethod
    satisfied: bool
    note: str | None
    created_by_id: int
    created_at: dt.datetime
