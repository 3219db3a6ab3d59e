"""The contract's vocabularies, shared by models, schemas and the state machine."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


def str_enum(enum_cls: type[StrEnum], length: int = 32) -> Enum:
    """A portable enum column: stored as its string value, never a native type."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )


class Role(StrEnum):
    resident = "resident"
    grid_worker = "grid_worker"
    provider_staff = "provider_staff"
    admin = "admin"


class OrgRole(StrEnum):
    dispatcher = "dispatcher"
    technician = "technician"


class RegionLevel(StrEnum):
    province = "province"
    prefecture = "prefecture"
    county = "county"


class OrganizationKind(StrEnum):
    property_company = "property_company"
    care_provider = "care_provider"


class ServiceKind(StrEnum):
    """What a provider is assigned to serve in a community."""

    property = "property"
    elderly_care = "elderly_care"


class TicketKind(StrEnum):
    property = "property"
    elderly_care = "elderly_care"
    complaint = "complaint"


class Priority(StrEnum):
    """How soon: it chooses the SLA policy, and so `sla.respond_by` and `sla.resolve_by`."""

    emergency = "emergency"
    urgent = "urgent"
    normal = "normal"
    low = "low"


class Status(StrEnum):
    """Where a ticket is in its lifecycle (POST /v1/tickets/{id}/ACTION moves it).

    - `submitted`: filed, waiting for an admin to assign it (no provider serves that
      community and kind, or the provider returned it).
    - `assigned`: with a provider organisation (maybe a technician), not accepted yet.
    - `accepted`: the provider accepted it; this is the first response (`sla.responded_at`).
    - `in_progress`: on site, or the service has begun.
    - `on_hold`: paused for `hold_reason`; the resolution clock may stand still.
    - `resolved`: done, says the provider; the reporter confirms and rates, or
      reopens; nobody confirming, it closes by itself after some days.
    - `closed`: confirmed or closed by itself; the reporter may still reopen it
      within the reopen window.
    - `cancelled`: withdrawn by the reporter or an admin (final).
    - `rejected`: refused by an admin, e.g. as a duplicate (final).
    """

    submitted = "submitted"
    assigned = "assigned"
    accepted = "accepted"
    in_progress = "in_progress"
    on_hold = "on_hold"
    resolved = "resolved"
    closed = "closed"
    cancelled = "cancelled"
    rejected = "rejected"


OPEN_STATUSES = frozenset(
    {Status.submitted, Status.assigned, Status.accepted, Status.in_progress, Status.on_hold}
)


class Channel(StrEnum):
    """How the ticket reached Linli."""

    app = "app"
    wechat = "wechat"
    phone = "phone"
    walk_in = "walk_in"
    open311 = "open311"
    # A visit the care plans' horizon job made (service/care/horizon.py); never filed.
    care_plan = "care_plan"


class HoldReason(StrEnum):
    awaiting_resident = "awaiting_resident"
    awaiting_parts = "awaiting_parts"
    other = "other"


class LocationArea(StrEnum):
    private = "private"
    public = "public"


class Gender(StrEnum):
    female = "female"
    male = "male"


class ConsentBy(StrEnum):
    """Who consented to an elder's sensitive personal information being kept (PIPL
    art. 29, 31): the elder, or a guardian for one who cannot."""

    self_ = "self"
    guardian = "guardian"


class VisitOutcome(StrEnum):
    """How a 探访 (a visit to an elder living alone) found them."""

    well = "well"
    needs_help = "needs_help"  # opens a linked follow-on ticket
    not_home = "not_home"  # twice in a row: the grid workers and emergency contacts are alerted
    hospitalised = "hospitalised"


class FollowUpMethod(StrEnum):
    phone = "phone"
    visit = "visit"
    app = "app"


class AnnouncementKind(StrEnum):
    """What an announcement (停水停电通知) to a community's residents is about."""

    planned_outage = "planned_outage"  # water, power, gas or heating cut for works
    emergency = "emergency"  # something happening now: a burst main, a gas leak
    notice = "notice"  # anything else residents should know


# Which kind of organisation does which kind of work.
ORGANIZATION_KIND_FOR: dict[ServiceKind, OrganizationKind] = {
    ServiceKind.property: OrganizationKind.property_company,
    ServiceKind.elderly_care: OrganizationKind.care_provider,
}


def service_kind_for(ticket_kind: TicketKind) -> ServiceKind:
    """Complaints about property service go to the property company serving."""
    return (
        ServiceKind.elderly_care if ticket_kind == TicketKind.elderly_care else ServiceKind.property
    )
