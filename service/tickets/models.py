"""Tickets, their append-only event timeline, comments and follow-up visits."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    event,
    inspect,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.schema import FetchedValue

from service.db import Base, BigId, UTCDateTime, utcnow
from service.enums import (
    Channel,
    FollowUpMethod,
    HoldReason,
    LocationArea,
    Priority,
    Status,
    TicketKind,
    VisitOutcome,
    str_enum,
)
from service.tickets.search import ticket_terms

# The partial index's predicate (the migration repeats it).
VISIT_PENDING = (
    "scheduled_for IS NOT NULL AND checked_in_at IS NULL AND visit_missed_at IS NULL"
    " AND status IN ('submitted', 'assigned', 'accepted')"
)


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        # Keyset pagination walks (id DESC) inside each scope.
        Index("ix_ticket_organization_id_id", "organization_id", "id"),
        Index("ix_ticket_community_id_id", "community_id", "id"),
        Index("ix_ticket_reporter_id_id", "reporter_id", "id"),
        Index("ix_ticket_filed_by_id_id", "filed_by_id", "id"),
        Index("ix_ticket_status_resolved_at", "status", "resolved_at"),
        # A care plan's occurrence is made a visit once (service/care/horizon.py:
        # INSERT ... ON CONFLICT DO NOTHING on it); NULLs never collide, so other
        # tickets, and visits whose plan change released the slot, are free.
        Index(
            "uq_ticket_care_plan_id_plan_occurrence", "care_plan_id", "plan_occurrence", unique=True
        ),
        # Visits not yet begun nor marked missed, by when they are due: what the
        # missed-visit sweep reads (service/care/visits.py); it shrinks as visits
        # are checked in, marked missed or cancelled.
        Index(
            "ix_ticket_visit_pending",
            "scheduled_for",
            postgresql_where=text(VISIT_PENDING),
            sqlite_where=text(VISIT_PENDING),
        ),
        # Filing looks for the same report filed moments ago (tickets/duplicates.py).
        Index("ix_ticket_duplicate_key", "duplicate_key"),
        # PostgreSQL uses a b-tree for `LIKE 'prefix%'` only with the pattern operators.
        Index(
            "ix_ticket_region_path",
            "region_path",
            postgresql_ops={"region_path": "text_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    kind: Mapped[TicketKind] = mapped_column(str_enum(TicketKind, 16))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, 16))
    status: Mapped[Status] = mapped_column(str_enum(Status, 16))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    # Copied from the community so that a region's admin scope is one indexed prefix.
    region_path: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    # The resident whose ticket it is (NULL when filed for someone without an account).
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reporter_name: Mapped[str | None] = mapped_column(String(100))
    # Who actually filed it: the resident, a grid worker, or staff taking a phone call.
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    on_behalf_of_name: Mapped[str | None] = mapped_column(String(100))
    on_behalf_of_phone: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 16))
    title: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    building: Mapped[str | None] = mapped_column(String(50))
    unit: Mapped[str | None] = mapped_column(String(50))
    room: Mapped[str | None] = mapped_column(String(50))
    area: Mapped[LocationArea | None] = mapped_column(str_enum(LocationArea, 16))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    preferred_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    preferred_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Its photos (service/attachments: AttachmentLink), filed with it and with
    # `resolve`; a copy of what never changes, so that reads need no join.
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=list)
    # The words it is found by (service/tickets/search.py), kept with the text
    # they come from: set on creation, recomputed on any change of it (below).
    # Written as text ("漏水 水 led"); PostgreSQL keeps it a tsvector, ready to
    # test (parsing text per row cost ~15 µs a ticket), with a GIN index; SQLite
    # indexes it in an FTS5 table kept by triggers. Both indexes are the
    # migrations' alone. Deferred: no read of a ticket needs it.
    search_terms: Mapped[str | None] = mapped_column(
        Text().with_variant(TSVECTOR(), "postgresql"), deferred=True
    )
    # The language it was filed in (Accept-Language): what the reporter is
    # written to in, unless their notification preferences say otherwise.
    language: Mapped[str | None] = mapped_column(String(8))

    respond_by: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolve_by: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    on_hold_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    hold_reason: Mapped[HoldReason | None] = mapped_column(str_enum(HoldReason, 32))
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    response_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    # The SLA clocks (service/sla): the policy that set the targets, where the
    # resolution clock started (creation, or the last reopen), the working time
    # paused since then, and when the clock was paused, if it is.
    sla_policy_id: Mapped[int | None] = mapped_column(ForeignKey("sla_policy.id"))
    sla_clock_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sla_paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    paused_business_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    response_escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    resolution_escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the breach sweep must look at this ticket next; NULL: nothing pending.
    sla_next_check_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)

    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(String(1000))
    rating_tags: Mapped[list[str] | None] = mapped_column(JSON)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # Urging (催单) by the reporter: how often, and when last (tickets/urge.py).
    urge_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_urged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The report's fingerprint (filer, person, community, category, location,
    # normalised description) when a resident or grid worker filed it; NULL
    # otherwise. A second filing with the same key soon after gets this ticket back.
    duplicate_key: Mapped[int | None] = mapped_column(BigInteger)
    # Elderly care (service/care): the elder served, by id only (their record
    # stays behind its consent, masks and access log); and for a visit its plan,
    # when it is due, the occurrence of the plan it holds (NULL once a plan
    # change cancelled it and released the occurrence) and the subsidy share.
    elder_id: Mapped[int | None] = mapped_column(ForeignKey("elder.id"), index=True)
    care_plan_id: Mapped[int | None] = mapped_column(ForeignKey("care_plan.id"))
    scheduled_for: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    plan_occurrence: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    government_share_percent: Mapped[int | None] = mapped_column(SmallInteger)
    # Visit proof (service/care/visits.py): the carer's arrival (with where they
    # were, when their phone said: whereabouts, shown to the visit's keepers only)
    # and departure; when the sweep found it not begun past its grace; and for a
    # 探访 (elderly.visit) how the elder was found.
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    check_in_latitude: Mapped[float | None] = mapped_column(Numeric(9, 6, asdecimal=False))
    check_in_longitude: Mapped[float | None] = mapped_column(Numeric(9, 6, asdecimal=False))
    checked_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    visit_missed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    visit_outcome: Mapped[VisitOutcome | None] = mapped_column(str_enum(VisitOutcome, 16))
    # The ticket this one was opened from (a 探访 that found the elder needing help).
    follows_ticket_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("ticket.id"))

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Every UPDATE checks and bumps it: a write based on a stale read fails.
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


# How much earlier than its ticket's creation, or than an event before it in
# the feed's order, an event's created_at can be: the clocks of two instances
# and the length of the transaction that wrote it (the metrics rollup already
# assumes none stays open for minutes: LATE_COMMIT in service/metrics/rollup.py;
# one open for a day would hold the feed's horizon still for that day). Reads
# that walk events by id bound created_at with it, so that PostgreSQL reads only
# the month partitions that can hold their rows (service/partitions).
EVENT_TIME_MARGIN = dt.timedelta(days=1)


class TicketEvent(Base):
    """The append-only timeline: audit log and source of the provider feed."""

    __tablename__ = "ticket_event"
    __table_args__ = (
        Index("ix_ticket_event_ticket_id_id", "ticket_id", "id"),
        # The provider feed walks one organisation's events in (xid, id) order.
        Index("ix_ticket_event_organization_id_xid_id", "organization_id", "xid", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    type: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    from_status: Mapped[Status | None] = mapped_column(str_enum(Status, 16))
    to_status: Mapped[Status | None] = mapped_column(str_enum(Status, 16))
    # The organisation the ticket was assigned to when this happened.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    # Internal events (staff notes) are never shown to residents or grid workers.
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The writing transaction's id on PostgreSQL (server default
    # pg_current_xact_id(), see the feed migration); 0 on SQLite, whose single
    # writer hands out ids in commit order. The feed orders by (xid, id) and
    # serves only xids below the oldest running transaction (service/feed).
    xid: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue())


class TicketComment(Base):
    __tablename__ = "ticket_comment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # Staff notes of one organisation: internal comments stay inside it.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FollowUp(Base):
    """A follow-up visit (回访) after resolution: did the resident find it fixed?"""

    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    method: Mapped[FollowUpMethod] = mapped_column(str_enum(FollowUpMethod, 16))
    satisfied: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(2000))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


# What a reader is told of an event (the timeline, the feed): its own columns.
EVENT_READ_COLUMNS = (
    TicketEvent.id,
    TicketEvent.ticket_id,
    TicketEvent.type,
    TicketEvent.actor_id,
    TicketEvent.from_status,
    TicketEvent.to_status,
    TicketEvent.organization_id,
    TicketEvent.internal,
    TicketEvent.data,
    TicketEvent.created_at,
)


# What `search_terms` is made of (search.ticket_terms' arguments, in order).
SEARCHED = ("title", "description", "building", "unit")


@event.listens_for(Ticket, "before_insert")
def _terms_of_new_ticket(_mapper: Any, _connection: Any, ticket: Ticket) -> None:
    # Filing and the care horizon write through the driver and set it themselves.
    if ticket.search_terms is None:
        ticket.search_terms = ticket_terms(*(getattr(ticket, name) for name in SEARCHED))


@event.listens_for(Ticket, "before_update")
def _terms_of_changed_ticket(_mapper: Any, _connection: Any, ticket: Ticket) -> None:
    # In the UPDATE that changes the text, so in its transaction: the index
    # (GIN, or FTS5 through its trigger) never disagrees with the text.
    attributes = inspect(ticket).attrs
    if any(attributes[name].history.has_changes() for name in SEARCHED):
        ticket.search_terms = ticket_terms(*(getattr(ticket, name) for name in SEARCHED))


# Column keys are the column names on `ticket` (NewTicket's attributes are both).
_NO_VALUES: dict[str, Any] = dict.fromkeys(c.name for c in Ticket.__table__.c)


class NewTicket(SimpleNamespace):
    """A new ticket's column values, as written: read like a `Ticket` (the SLA
    clock sets its deadlines on it, the answer is rendered from it) but no ORM
    object. Building a mapped `Ticket` of 67 columns, reading them back for the
    INSERT and rendering the answer from instrumented attributes was ~7% of a
    creation's CPU (py-spy --gil); columns not given are None, as the ORM's
    would read."""

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**_NO_VALUES, **values})
